// The read-only views of the migration for the metrics scrape and the Home tab, on the real Redis.
// (test/unit/bot/metrics-sources.test.ts reads one pending request through the whole scrape; here:
// the open and the latest of each kind, the cleanup, the phases, and a config without the migration.)
import { describe, expect, it } from 'vitest';
import { migrationOverview, migrationSnapshot } from '../../../../jobs/migration/metrics.js';
import { CRON_ORDER } from '../../../../jobs/migration/phase4.js';
import { approve, endOperation, recordCutover, transition } from '../../../../jobs/migration/store.js';
import { cleanupRequest, MIN, migConfig, phase3Request, runningRequest, useParts } from './parts.js';

const { world } = useParts();

describe('the snapshot for the metrics scrape', () => {
  it('counts the open and the latest request of each kind once, by state, and the approvals still missing', async () => {
    const w = await world();
    const x = await runningRequest(w);
    await endOperation(w.store, x.r, x.owner.job, x.owner.fence, 'done');
    const cleanup = await cleanupRequest(w, ['dumps-test/a', 'dumps-test/b']);
    const rule = { hash: cleanup.planHash, approvers: ['U0DAVE', 'U0ERIN'], quorum: 2, budgetMs: 0 };
    await approve(w.store, cleanup, 'U0DAVE', w.clock.now(), rule);
    const snap = await migrationSnapshot(w.store, w.config);
    expect(snap.requests.sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
      { kind: 'cleanup', state: 'pending', count: 1 },
      { kind: 'phase3', state: 'done', count: 1 },
    ]);
    expect(snap.pendingApprovals).toBe(1);
  });

  it('counts no approval once the migration is no longer configured', async () => {
    const w = await world();
    const r = await phase3Request(w);
    const rule = { hash: r.planHash, approvers: ['U0DAVE', 'U0ERIN'], quorum: 2, budgetMs: 10 * MIN };
    await approve(w.store, r, 'U0DAVE', w.clock.now(), rule);
    expect((await migrationSnapshot(w.store, w.config)).pendingApprovals).toBe(1);
    expect((await migrationSnapshot(w.store, migConfig({}, { migration: undefined }))).pendingApprovals).toBe(
      2,
    );
  });
});

describe('the overview for the Home tab', () => {
  it('shows phases 3 to 5 from Redis alone and the requests waiting for approvals, each in a sentence', async () => {
    const w = await world();
    const none = await migrationOverview(w.store, w.config);
    expect(none.phases).toEqual([
      { name: 'Phase 3, instance profile', done: false, detail: 'not requested yet' },
      { name: 'Phase 4, cutover', done: false, detail: '0 of 1 cron jobs' },
      { name: 'Phase 5, cleanup', done: false, detail: 'not requested yet' },
    ]);
    const p3 = await phase3Request(w);
    const p5 = await cleanupRequest(w, ['dumps-test/a']);
    const { pending } = await migrationOverview(w.store, w.config);
    expect(pending.map((p) => [p.id, p.kind, p.summary, p.needed])).toEqual([
      [
        p3.id,
        'phase3',
        `Stop ${p3.plan.instanceId} in osio (386414299200), associate ${p3.plan.instanceProfile}, start it again, in window ${p3.windowId}.`,
        2,
      ],
      [p5.id, 'cleanup', 'Delete 1 objects under s3://jram-gghouse/dumps-test/ in osio.', 2],
    ]);
    await transition(w.store, p5.id, ['pending'], 'rejected');
    expect((await migrationOverview(w.store, w.config)).pending.map((p) => p.id)).toEqual([p3.id]);
  });

  it('marks phase 4 done once every configured cron is cut over, in the runbook order', async () => {
    const w = await world();
    const cron = CRON_ORDER[0] ?? '';
    const entry = { id: 'e1', at: 0, kind: 'status' as const, requestId: 'r', requester: 'U0OPS' };
    await recordCutover(w.store, { cron, at: w.clock.now(), by: 'U0OPS', forced: false }, entry);
    const [, phase4] = (await migrationOverview(w.store, w.config)).phases;
    expect(phase4).toEqual({ name: 'Phase 4, cutover', done: true, detail: '1 of 1 cron jobs' });
  });
});
