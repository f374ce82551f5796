// Block Kit for /migration (pure): the approval cards of phase 3 and the cleanup, and the status card,
// each as Slack would take it (the fake Slack's Block Kit check).
import { describe, expect, it } from 'vitest';
import { blockErrors } from '../../../../devkit/fake-slack.js';
import {
  approvalCard,
  approvalCardOf,
  cleanupCard,
  decisionElements,
  statusCard,
} from '../../../../jobs/migration/cards.js';
import { cleanupGate } from '../../../../jobs/migration/gate.js';
import { planHash, planOf } from '../../../../jobs/migration/plan.js';
import type { CleanupRequest, Phase3Request } from '../../../../jobs/migration/store.js';
import { cutoverAgo, DAY, migConfig, NOON } from './parts.js';

const zone = 'Asia/Tokyo';
const now = NOON;
const cut = cutoverAgo;

/** What every request record has, as stored when it was just made. */
const fresh = {
  requester: 'U0OPS',
  requestId: 'r1',
  state: 'pending' as const,
  approvals: [],
  needed: 2,
  createdAt: now,
  keepUntil: now + 90 * DAY,
  fence: 0,
  touched: false,
  failures: 0,
  failPosted: 0,
  cardVersion: 0,
  retries: 0,
  version: 1,
};
const config = migConfig();
const plan = planOf(config, { id: 'mw-7f3a', start: now + 3_600_000, end: now + 5_400_000 });
const p3: Phase3Request = {
  ...fresh,
  kind: 'phase3',
  id: 'p3-0a1b2c3d',
  plan,
  planHash: planHash(plan),
  expiresAt: plan.windowEnd - 10 * 60_000,
  windowId: 'mw-7f3a',
  windowCreated: true,
  instanceName: 'JRAM-GGH-EC2',
  step: 0,
  streak: 8,
};
const context = { zone, now, streakNeeded: 7, current: [] as string[] };
const shown = (card: { blocks: unknown }) => JSON.stringify(card.blocks);

describe('the phase-3 approval card', () => {
  it('pending: the exact plan, the steps, the window, the prerequisites, Approve and Reject behind confirms', () => {
    const card = approvalCard(p3, { ...context, streak: 8, current: ['U0DAVE'] });
    expect(blockErrors(card.blocks, 'message')).toBeUndefined();
    const text = shown(card);
    expect(text).toContain(
      `*Plan:* account osio (386414299200, us-east-1); instance \`${plan.instanceId}\` (JRAM-GGH-EC2); instance profile \`${plan.instanceProfile}\` with role \`${plan.role}\``,
    );
    expect(text).toContain('• 2. stop the instance and wait until it is stopped');
    expect(text).toContain('*Window:* `mw-7f3a` <!date^');
    expect(text).toContain('parallel-testing streak 8 of 7 days');
    expect(text).toContain('Approvals:* 1 of 2: <@U0DAVE>');
    expect(text).toContain('*Expires:* <!date^');
    expect(text).toContain('"action_id":"mig_approve","value":"p3-0a1b2c3d"');
    expect(text).toContain('"action_id":"mig_reject","value":"p3-0a1b2c3d"');
    expect(card.text).toBe('Phase 3 request p3-0a1b2c3d: pending');
  });

  it('running marks the steps done and the one in progress, with no buttons', () => {
    const text = shown(approvalCard({ ...p3, state: 'running', step: 2 }, context));
    expect(text).toContain(':white_check_mark: 2. stop the instance');
    expect(text).toContain(':arrows_counterclockwise: 3. associate the instance profile');
    expect(text).not.toContain('"type":"button"');
  });

  it('failed: the step and the error (escaped), Retry and Roll back', () => {
    const card = approvalCard(
      { ...p3, state: 'failed', step: 2, failedStep: 2, error: 'AWS refused <!channel>' },
      context,
    );
    expect(blockErrors(card.blocks, 'message')).toBeUndefined();
    const text = shown(card);
    expect(text).toContain(':x: 3. associate the instance profile');
    expect(text).toContain('*Failed at step 3:* AWS refused &lt;!channel&gt;');
    expect(text).toContain('"action_id":"mig_retry"');
    expect(text).toContain('"action_id":"mig_rollback"');
  });

  it('says a running request is stopping, and who cancelled a cancelled one', () => {
    expect(
      shown(approvalCard({ ...p3, state: 'running', stop: 'window `mw-7f3a` cancelled' }, context)),
    ).toContain('stopping before its next change');
    expect(
      shown(
        approvalCard(
          { ...p3, state: 'cancelled', reason: 'window cancelled', cancelledBy: 'U0OPS' },
          context,
        ),
      ),
    ).toContain('Cancelled (window cancelled by <@U0OPS>)');
  });
});

describe('the approval card as the config judges it now', () => {
  it('counts only approvals bound to the live plan, by approvers, and uses the window as it is now', () => {
    const r = {
      ...p3,
      approvals: [
        { user: 'U0DAVE', at: now, hash: p3.planHash },
        { user: 'U0FRED', at: now, hash: p3.planHash },
      ],
    };
    const text = shown(approvalCardOf(config, now, r, { end: plan.windowEnd + 3_600_000 }));
    expect(text).toContain('Approvals:* 1 of 2: <@U0DAVE>');
    expect(text).not.toContain('U0FRED');
    expect(text).not.toContain('The plan changed');
  });

  it('says what changed in the plan, or that the migration is no longer configured', () => {
    const changed = shown(approvalCardOf(migConfig({ instanceProfile: 'other-profile' }), now, p3));
    expect(changed).toContain('The plan changed since it was approved:* instance profile');
    expect(changed).toContain('Approvals:* 0 of 2');
    const gone = shown(approvalCardOf(migConfig({}, { migration: undefined }), now, p3));
    expect(gone).toContain('the migration is no longer configured');
  });
});

describe('the decision buttons', () => {
  it('carry the request id and a confirm dialog each, as the card and the Home tab show them', () => {
    const [approve, reject] = decisionElements(
      'p3-0a1b2c3d',
      { title: 'Approve?', text: 'Do it.' },
      { title: 'Reject?', text: 'Drop it.' },
    );
    expect(approve).toMatchObject({ action_id: 'mig_approve', value: 'p3-0a1b2c3d', style: 'primary' });
    expect(approve?.confirm?.title?.text).toBe('Approve?');
    expect(reject).toMatchObject({ action_id: 'mig_reject', value: 'p3-0a1b2c3d', style: 'danger' });
    expect(reject?.confirm?.deny?.text).toBe('Keep it');
  });
});

describe('the cleanup approval card', () => {
  const base: CleanupRequest = {
    ...fresh,
    kind: 'cleanup',
    id: 'p5-0a1b2c3d',
    plan: {
      account: 'osio',
      accountId: '386414299200',
      region: 'us-east-1',
      bucket: 'jram-gghouse',
      prefix: 'dumps-test/',
      objects: 70,
      bytes: 3 * 1024 * 1024,
      keysHash: 'h',
    },
    planHash: 'ph',
    expiresAt: now + DAY,
    deleted: 0,
  };
  const render = (r: CleanupRequest, current: string[] = []) =>
    JSON.stringify(cleanupCard(r, { zone, now, current }).blocks);

  it('pending: the exact plan, approvals so far, expiry, Approve and Reject behind confirm dialogs', () => {
    const text = render(base, ['U0DAVE']);
    expect(text).toContain(
      'in account osio (386414299200, us-east-1), delete every object under `s3://jram-gghouse/dumps-test/`',
    );
    expect(text).toContain('70 objects, 3.0 MiB (3,145,728 bytes)');
    expect(text).toContain('Approvals:* 1 of 2: <@U0DAVE>');
    expect(text).toContain('Expires:* <!date^');
    expect(text).toContain('"action_id":"mig_approve","value":"p5-0a1b2c3d"');
    expect(text).toContain('"action_id":"mig_reject","value":"p5-0a1b2c3d"');
    expect(text).toContain(
      'Delete 70 objects (3.0 MiB (3,145,728 bytes)) under s3://jram-gghouse/dumps-test/ in osio. This cannot be undone.',
    );
  });

  it('running, done and failed show the progress and no buttons', () => {
    expect(render({ ...base, state: 'running', deleted: 40 })).toContain('Deleting');
    expect(render({ ...base, state: 'running', deleted: 40 })).toContain('40 of 70 objects deleted');
    const done = render({ ...base, state: 'done', deleted: 70 });
    expect(done).toContain('Done');
    expect(done).not.toContain('mig_approve');
    expect(render({ ...base, state: 'failed', deleted: 5, error: 'AWS refused' })).toContain(
      '*Failed:* AWS refused',
    );
  });

  it('rejected and expired say by whom and why', () => {
    expect(render({ ...base, state: 'rejected', rejectedBy: 'U0ERIN', reason: 'not yet' })).toContain(
      'Rejected by <@U0ERIN>: not yet',
    );
    expect(render({ ...base, state: 'expired', reason: 'not approved in time' })).toContain(
      'Expired (not approved in time)',
    );
  });
});

describe('the status card phase 5 line', () => {
  const input = {
    phase1: [{ name: 'IAM role r', ok: true, detail: 'exists' }],
    phase2: { days: [], streak: 8 },
    streakNeeded: 7,
    associated: true,
    cutovers: [cut('ggh_datatransit', 3)],
    cronOrder: ['ggh_datatransit'],
    zone,
    now,
  };

  it('shows the gate closed with its reasons, or open', () => {
    const closed = cleanupGate({ jobs: ['ggh_datatransit'], cutovers: input.cutovers, now, zone });
    expect(JSON.stringify(statusCard({ ...input, gate: closed }).blocks)).toMatch(
      /Phase 5, cleanup:\* gate closed: 3 of 14 days since the last cutover/,
    );
    const open = cleanupGate({
      jobs: ['ggh_datatransit'],
      cutovers: [cut('ggh_datatransit', 15)],
      now,
      zone,
    });
    expect(JSON.stringify(statusCard({ ...input, gate: open }).blocks)).toMatch(
      /Phase 5, cleanup:\* gate open/,
    );
  });
});

describe('the status card', () => {
  const input = {
    phase1: [{ name: 'IAM role r', ok: true, detail: 'exists' }],
    phase2: { days: [], streak: 8 },
    streakNeeded: 7,
    associated: false,
    cutovers: [],
    cronOrder: ['ggh_contractstatus', 'ggh_datatransit'],
    gate: cleanupGate({ jobs: ['ggh_datatransit'], cutovers: [], now, zone }),
    zone,
    now,
  };

  it('names the next step of the runbook, phase by phase', () => {
    const next = (over: object) => shown(statusCard({ ...input, ...over }));
    expect(next({ phase1: [{ name: 'IAM role r', ok: false, detail: 'does not exist' }] })).toContain(
      'Next: deploy the phase 1 infrastructure',
    );
    expect(next({ phase2: { error: 'no dumps' } })).toContain('Phase 2, parallel testing:* no dumps');
    expect(next({ phase2: { days: [], streak: 3 } })).toContain('Next: keep the parallel test crons running');
    expect(next({})).toContain('Next: `/migration phase3 request');
    expect(next({ associated: true })).toContain('Next: `/migration cutover ggh_contractstatus` (one a day)');
    const cuts = [cut('ggh_contractstatus', 20), cut('ggh_datatransit', 15)];
    expect(next({ associated: true, cutovers: cuts })).toContain('Next: `/migration check 5`.');
    const card = statusCard({ ...input, associated: true, cutovers: cuts });
    expect(blockErrors(card.blocks, 'message')).toBeUndefined();
    expect(shown(card)).toContain('"action_id":"mig_refresh"');
  });

  it("shows each cutover's watched uploads", () => {
    const c = {
      ...cut('ggh_contractstatus', 1),
      watch: [{ n: 1, day: '2026-06-20', ok: false, detail: 'no upload' }],
    };
    expect(shown(statusCard({ ...input, cutovers: [c] }))).toContain(
      'ggh_contractstatus since 2026-06-19: uploads 2026-06-20 :x: (1 to come)',
    );
  });
});
