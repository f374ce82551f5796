// The status card and the checks of phases 1 and 2 (jobs/migration/status.ts) against moto, with the
// card on the fake Slack.
import { describe, expect, it } from 'vitest';
import { createAwsClients } from '../../../../infra/aws.js';
import { createMigrationAws } from '../../../../jobs/migration/aws.js';
import { checkPhase, refreshStatus, updateStatus } from '../../../../jobs/migration/status.js';
import { statusCardRef } from '../../../../jobs/migration/store.js';
import { APPROVALS, runCtx, useParts } from './parts.js';

const { get, world } = useParts({ moto: true, dumpDays: 8 });

describe('the status card', () => {
  it('is posted once in the approvals channel with phases 1 to 5, then edited in place', async () => {
    const w = await world();
    expect(await updateStatus(w.md, 'U0OPS')).toEqual({ op: 'status', outcome: 'updated' });
    const ref = await statusCardRef(w.store);
    const [card, ...more] = get().slack.messages(APPROVALS);
    expect(more).toEqual([]);
    expect(card?.ts).toBe(ref?.ts);
    const text = JSON.stringify(card?.blocks);
    expect(text).toContain(':white_check_mark: *Phase 1, infrastructure:* IAM role');
    expect(text).toContain('*Phase 2, parallel testing:* streak 8 of 7 good days');
    expect(text).toContain('*Phase 3, instance profile:* not associated');
    expect(text).toContain('*Phase 4, cutover:* 0 of 1 cron jobs');
    expect(text).toContain('Next: `/migration phase3 request <start> [<duration>]`.');
    const profile = w.config.migration?.instanceProfile ?? '';
    await w.md.aws.associateProfile('U0OPS', {
      account: 'osio',
      instanceId: w.instanceId,
      instanceProfile: profile,
    });
    await updateStatus(w.md, 'U0OPS');
    const [edited, ...none] = get().slack.messages(APPROVALS);
    expect(none).toEqual([]);
    expect(edited?.edits).toBe(1);
    expect(JSON.stringify(edited?.blocks)).toContain('*Phase 3, instance profile:* associated');
  });

  it('shows a phase-2 check that failed instead of failing, and needs the approvals channel', async () => {
    const w = await world({ extra: { dumps: undefined } });
    await updateStatus(w.md, 'U0OPS');
    expect(JSON.stringify(get().slack.messages(APPROVALS)[0]?.blocks)).toContain(
      'Phase 2, parallel testing:* phase 2 compares the dumps of dumps.jobs, and none are configured',
    );
    const v = await world({ extra: { channels: {} } });
    await expect(updateStatus(v.md, 'U0OPS')).rejects.toThrow(
      'add channels.approvals: the status card lives there',
    );
  });

  it('is refreshed after a change only when there is one; a refresh that fails is logged', async () => {
    const w = await world();
    await refreshStatus(w.md, 'U0OPS', { log: w.md.log });
    expect(get().slack.messages(APPROVALS)).toEqual([]);
    await updateStatus(w.md, 'U0OPS');
    await refreshStatus(w.md, 'U0OPS', { log: w.md.log });
    expect(get().slack.messages(APPROVALS)[0]?.edits).toBe(1);
    get().slack.failNext('chat.update', 'internal_error', 5);
    await expect(refreshStatus(w.md, 'U0OPS', { log: w.md.log })).resolves.toBeUndefined();
    expect(w.logs.some((l) => l.includes('could not refresh the status card'))).toBe(true);
  });
});

describe('check 1 and check 2', () => {
  it('report each item of phase 1 and each day of phase 2 to the requester', async () => {
    const w = await world();
    const ctx = runCtx(w, 'mig-check');
    expect(await checkPhase(w.md, 1, 'U0OPS', ctx)).toEqual({ op: 'check 1', outcome: 'passed' });
    expect(await checkPhase(w.md, 2, 'U0OPS', ctx)).toEqual({ op: 'check 2', outcome: 'streak 8' });
    const [one, two] = ctx.reports;
    expect(one?.split('\n')).toEqual([
      ':white_check_mark: Phase 1 check passed',
      `• IAM role ${w.config.migration?.role}: exists`,
      `• instance profile ${w.config.migration?.instanceProfile}: exists, with ${w.config.migration?.role}`,
      `• secret ${w.config.migration?.secretId}: exists (its value is never read)`,
    ]);
    expect(two?.split('\n')[0]).toBe(':white_check_mark: Phase 2: streak 8 of 7 good days');
    expect(two?.split('\n')).toHaveLength(15);
  });

  it('say what fails', async () => {
    const w = await world({ migration: { role: 'no-such-role', streakDays: 9 } });
    const ctx = runCtx(w, 'mig-check');
    expect(await checkPhase(w.md, 1, 'U0OPS', ctx)).toEqual({ op: 'check 1', outcome: 'failed' });
    expect(await checkPhase(w.md, 2, 'U0OPS', ctx)).toEqual({ op: 'check 2', outcome: 'streak 8' });
    expect(ctx.reports[0]).toContain(':x: IAM role no-such-role: does not exist');
    expect(ctx.reports[1]).toMatch(/^:hourglass: Phase 2: streak 8 of 9 good days/);
  });
});

// Moved from follow-ups.test.ts (issue 20, item 9), now on moto: the real clients, each asked for as
// the user the call is made for.
describe('/migration status', () => {
  it('asks AWS as the person who asked, not the first admin', async () => {
    const w = await world();
    const real = createAwsClients(w.config);
    const askedAs: string[] = [];
    const aws = createMigrationAws({
      config: w.config,
      aws: {
        account: (alias) => real.account(alias),
        client: (ctor, alias, requester) => {
          askedAs.push(requester);
          return real.client(ctor, alias, requester);
        },
      },
    });
    await updateStatus({ ...w.md, aws }, 'U0DAVE');
    expect(askedAs.length).toBeGreaterThan(0);
    expect(new Set(askedAs)).toEqual(new Set(['U0DAVE']));
    expect(get().slack.messages(APPROVALS)).toHaveLength(1);
  });
});
