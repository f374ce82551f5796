// Phase 3's run (jobs/migration/run.ts) against moto: the stored plan's steps, each checking the real
// state first and saving its progress, on the real Redis with the card and notices on the fake Slack.
import { DelayedError, UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { seedMigrationWorld } from '../../../../devkit/worlds/index.js';
import { STEP } from '../../../../jobs/migration/plan.js';
import { runPhase3 } from '../../../../jobs/migration/run.js';
import {
  claim,
  getRequest,
  saveProgress,
  takeInstance,
  windowCancelled,
} from '../../../../jobs/migration/store.js';
import {
  APPROVALS,
  approveAll,
  MIN,
  phase3Request,
  runCtx,
  showCard,
  useParts,
  type World,
} from './parts.js';

const { get, target, world } = useParts({ moto: true, dumpDays: 8 });

/** An approved request with its card, the clock at its window's start; returns it and its run job. */
async function approved(w: World) {
  const r = await phase3Request(w);
  const card = await showCard(get(), w, r.id);
  const runJob = await approveAll(w, r);
  w.clock.advance(5 * MIN);
  return { r, runJob, card };
}

const mutations = (w: World) =>
  w.actions.filter((a) =>
    ['ec2:StopInstances', 'ec2:AssociateIamInstanceProfile', 'ec2:StartInstances'].includes(a),
  );

describe('the phase-3 run', () => {
  it('stops the instance, attaches the profile, starts it, verifies, and ends done with notices and audit', async () => {
    const w = await world();
    const { r, runJob, card } = await approved(w);
    expect(await runPhase3(w.md, r.id, runCtx(w, runJob))).toEqual({ op: 'run', outcome: 'done' });
    expect(mutations(w)).toEqual([
      'ec2:StopInstances',
      'ec2:AssociateIamInstanceProfile',
      'ec2:StartInstances',
    ]);
    const t = { account: 'osio', instanceId: w.instanceId };
    expect((await w.md.aws.describeInstance('U0OPS', t)).state).toBe('running');
    expect((await w.md.aws.associations('U0OPS', t)).map((a) => a.state)).toEqual(['associated']);
    expect(await getRequest(w.store, r.id, 'phase3')).toMatchObject({ state: 'done', step: STEP.done + 1 });
    const thread = get()
      .slack.messages(APPROVALS)
      .filter((m) => m.thread_ts === card.ts)
      .map((m) => m.text);
    expect(thread).toEqual([
      expect.stringContaining('starts: stopping'),
      expect.stringContaining(`is done: \`${w.instanceId}\` runs with`),
    ]);
    const steps = (await w.audits()).filter((a) => a.action === 'migration.phase3.step');
    expect(steps).toHaveLength(6);
    expect(JSON.stringify(get().slack.messages(APPROVALS)[0]?.blocks)).toContain('Done');
  });

  it('does not start for a job it was not approved for', async () => {
    const w = await world();
    const { r } = await approved(w);
    expect(await runPhase3(w.md, r.id, runCtx(w, 'mig-run-other'))).toEqual({
      op: 'run',
      outcome: 'skipped (approved)',
    });
    expect(mutations(w)).toEqual([]);
  });

  it('waits, parked, while a rollback holds the instance', async () => {
    const w = await world();
    const r = await phase3Request(w);
    // `/migration rollback 3` took the instance while the request was still pending.
    expect(await takeInstance(w.store, w.instanceId, 'mig-rb3-other', w.clock.now())).toEqual({
      result: 'ok',
    });
    const runJob = await approveAll(w, r);
    w.clock.advance(5 * MIN);
    const ctx = runCtx(w, runJob);
    await expect(runPhase3(w.md, r.id, ctx)).rejects.toThrow(DelayedError);
    expect(ctx.delayedUntil).toBe(w.clock.now() + 1_000);
    expect((await getRequest(w.store, r.id, 'phase3')).state).toBe('approved');
    expect(mutations(w)).toEqual([]);
  });

  it('resumes from the saved step after a crash: an instance already stopped is not stopped again', async () => {
    const w = await world();
    const { r, runJob } = await approved(w);
    const c = await claim(w.store, r, runJob, 'run', w.clock.now());
    if (c.result !== 'fresh') throw new Error(c.result);
    await w.md.aws.stopInstance('U0OPS', { account: 'osio', instanceId: w.instanceId });
    await saveProgress(w.store, r.id, { job: runJob, fence: c.fence }, { step: STEP.stop });
    w.actions.length = 0;
    expect(await runPhase3(w.md, r.id, runCtx(w, runJob))).toEqual({ op: 'run', outcome: 'done' });
    expect(mutations(w)).toEqual(['ec2:AssociateIamInstanceProfile', 'ec2:StartInstances']);
  });

  it('fails at the association when the instance has another profile: Retry and Roll back on the card, posted', async () => {
    const w = await world();
    const other = await seedMigrationWorld({
      ...target(),
      account: 'osio',
      instanceName: w.store.prefix,
      instanceProfile: 'other-profile',
    });
    await w.md.aws.associateProfile('U0OPS', {
      account: 'osio',
      instanceId: other.instanceId,
      instanceProfile: 'other-profile',
    });
    const { r, runJob, card } = await approved(w);
    w.actions.length = 0;
    await expect(runPhase3(w.md, r.id, runCtx(w, runJob))).rejects.toThrow(UnrecoverableError);
    const failed = await getRequest(w.store, r.id, 'phase3');
    expect(failed).toMatchObject({ state: 'failed', failedStep: STEP.associate, failures: 1, failPosted: 1 });
    expect(failed.error).toMatch(
      /already has another instance profile \(arn:aws:iam::\d+:instance-profile\/other-profile\)/,
    );
    const blocks = JSON.stringify(get().slack.messages(APPROVALS)[0]?.blocks);
    expect(blocks).toContain('Failed at step 3');
    expect(blocks).toContain('mig_retry');
    expect(
      get()
        .slack.messages(APPROVALS)
        .some((m) => m.thread_ts === card.ts && m.text.includes('failed at step 3')),
    ).toBe(true);
    expect(mutations(w)).toEqual(['ec2:StopInstances']);
  });

  it('ends cancelled, changing nothing, when its window was cancelled before the first change', async () => {
    const w = await world();
    const { r, runJob } = await approved(w);
    await claim(w.store, r, runJob, 'run', w.clock.now());
    await windowCancelled(w.store, r, `window \`${r.windowId}\` cancelled`, 'U0OPS');
    await expect(runPhase3(w.md, r.id, runCtx(w, runJob))).rejects.toThrow(/stopped \(cancelled\) at step 1/);
    expect(await getRequest(w.store, r.id, 'phase3')).toMatchObject({ state: 'cancelled' });
    expect(mutations(w)).toEqual([]);
  });

  it('fails at step 1, changing nothing, when the parallel-testing streak fell below the target', async () => {
    const w = await world({ migration: { streakDays: 9 } });
    const { r, runJob } = await approved(w);
    await expect(runPhase3(w.md, r.id, runCtx(w, runJob))).rejects.toThrow(
      'phase 3 failed at step 1: the parallel-testing streak fell to 8 days',
    );
    expect(await getRequest(w.store, r.id, 'phase3')).toMatchObject({
      state: 'failed',
      failedStep: STEP.notice,
    });
    expect(mutations(w)).toEqual([]);
  });
});
