// The watchdog (jobs/migration/watchdog.ts) on the real Redis and BullMQ, with the cards on the fake
// Slack: each pass makes sure nothing is stuck, and the scheduler's pace follows what is still open.
// A state and its follow-up are written together (issue 20, item 4): a cutover or its rollback is
// recorded in one step with what must follow it (its watches, the status card); if the process dies
// right after the write, the watchdog queues them.
import { describe, expect, it } from 'vitest';
import { cancelWindow } from '../../../../jobs/maintenance/store.js';
import { expireJobId, MIGRATION_QUEUE } from '../../../../jobs/migration/data.js';
import {
  approve,
  getRequest,
  instanceHolder,
  outbox,
  readRequest,
  recordCutover,
  removeCutover,
  takeInstance,
} from '../../../../jobs/migration/store.js';
import { runWatchdog, watchdogPass } from '../../../../jobs/migration/watchdog.js';
import {
  APPROVALS,
  approveAll,
  DUMP_JOB,
  finishJobs,
  MIN,
  phase3Request,
  runningRequest,
  showCard,
  useParts,
  type World,
} from './parts.js';

const { get, world } = useParts();
/** Past the watchdog's grace (the job lock time, 5 s here). */
const GRACE = 6_000;

/** The ids of the world's migration jobs that will still run, besides the watchdog's. */
async function queued(w: World): Promise<string[]> {
  const jobs = await w.md.queues.queue(MIGRATION_QUEUE).getJobs(['waiting', 'delayed']);
  return jobs
    .filter((j) => j.name !== 'watchdog')
    .map((j) => String(j.id))
    .sort();
}

/** A request running under its run job (its window open, its card shown); the job is not in the queue. */
async function running(w: World) {
  const x = await runningRequest(w, { startIn: 0, endIn: 30 });
  await showCard(get(), w, x.r.id);
  return x;
}

describe('a cutover and its follow-ups', () => {
  it('are written in one step: a process that dies right after the write leaves them to the watchdog', async () => {
    const w = await world();
    const at = w.clock.now();
    const entry = {
      id: 'e1',
      at,
      kind: 'cutover' as const,
      cron: DUMP_JOB,
      cutoverAt: at,
      requestId: 'r1',
      requester: 'U0OPS',
    };
    expect(await recordCutover(w.md.store, { cron: DUMP_JOB, at, by: 'U0OPS', forced: false }, entry)).toBe(
      true,
    );
    // The process dies here: nothing is queued yet, the follow-up waits in the outbox.
    expect(await watchdogPass(w.md)).toEqual({ inFlight: true, waiting: false, did: [] });
    expect(await queued(w)).toEqual([]);
    w.clock.advance(GRACE);
    await watchdogPass(w.md);
    expect(await queued(w)).toEqual([
      `mig-status-e1`,
      `mig-watch-${DUMP_JOB}-${at}-1`,
      `mig-watch-${DUMP_JOB}-${at}-2`,
    ]);
    expect(await outbox(w.md.store)).toEqual([]);
  });

  it('rollback 4 likewise: the removal and its status card', async () => {
    const w = await world();
    const at = w.clock.now();
    await recordCutover(
      w.md.store,
      { cron: DUMP_JOB, at, by: 'U0OPS', forced: false },
      { id: 'e1', at, kind: 'status', requestId: 'r1', requester: 'U0OPS' },
    );
    expect(
      await removeCutover(w.md.store, DUMP_JOB, {
        id: 'e2',
        at,
        kind: 'status',
        requestId: 'r2',
        requester: 'U0DAVE',
      }),
    ).toBe(true);
    w.clock.advance(GRACE);
    await watchdogPass(w.md);
    expect(await queued(w)).toEqual(['mig-status-e1', 'mig-status-e2']);
    const job = await w.md.queues.queue(MIGRATION_QUEUE).getJob('mig-status-e2');
    expect(job?.data).toMatchObject({ op: 'status', requester: 'U0DAVE' });
  });
});

describe('a request whose operation has no job any more', () => {
  it('is failed once its job is gone past the grace: the step and the error on the card, audited and posted', async () => {
    const w = await world();
    const { r } = await running(w);
    expect(await watchdogPass(w.md)).toEqual({ inFlight: true, waiting: false, did: [] });
    expect((await readRequest(w.store, r.id))?.state).toBe('running');
    w.clock.advance(GRACE);
    await watchdogPass(w.md);
    const failed = await getRequest(w.store, r.id, 'phase3');
    expect(failed).toMatchObject({ state: 'failed', failedStep: 0, failPosted: 1 });
    expect(failed.error).toBe(
      'the run stopped without finishing at this step (its job is gone); check the instance, then Retry or Roll back',
    );
    expect((await w.audits()).find((a) => a.action === 'migration.watchdog')).toMatchObject({
      target: r.id,
      outcome: 'failed',
    });
    const slack = get().slack.messages(APPROVALS);
    expect(JSON.stringify(slack[0]?.blocks)).toContain('mig_retry');
    expect(slack.filter((m) => m.thread_ts === slack[0]?.ts).map((m) => m.text)).toEqual([
      expect.stringContaining('failed at step 1'),
    ]);
  });

  it('is failed at once when its job ended without ending it', async () => {
    const w = await world();
    const { r, runJob } = await running(w);
    await w.md.jobs.add(runJob, { requestId: 'r', requester: 'U0OPS', op: 'run', id: r.id }, { attempts: 1 });
    await finishJobs(w, [runJob]);
    await watchdogPass(w.md);
    expect((await getRequest(w.store, r.id, 'phase3')).error).toMatch(
      /^the run stopped without finishing at this step \(its job ended/,
    );
  });
});

describe('an approved request', () => {
  it('whose run job is gone gets a new one, at its window start', async () => {
    const w = await world();
    const r = await phase3Request(w, { startIn: 60, endIn: 90 });
    const first = await approveAll(w, r);
    const again = `mig-run-${r.id}-2`;
    expect(await watchdogPass(w.md)).toMatchObject({
      inFlight: false,
      waiting: true,
      did: expect.arrayContaining([`${r.id}: run job ${again} queued again`]),
    });
    expect((await readRequest(w.store, r.id))?.runJob).toBe(again);
    expect(await queued(w)).toContain(again);
    expect(await queued(w)).not.toContain(first);
    const job = await w.md.queues.queue(MIGRATION_QUEUE).getJob(again);
    expect(job?.delay).toBe(60 * MIN);
  });

  it('linked to a window that was cancelled is cancelled (a cancel path died before it got there)', async () => {
    const w = await world();
    const r = await phase3Request(w);
    await cancelWindow(w.store, r.windowId);
    await watchdogPass(w.md);
    expect(await readRequest(w.store, r.id)).toMatchObject({ state: 'cancelled', cancelledBy: 'chatops' });
  });
});

describe('what Slack and the queue missed', () => {
  it("a pending request's expiry job is queued again, and a card Slack missed is edited", async () => {
    const w = await world();
    const r = await phase3Request(w);
    const card = await showCard(get(), w, r.id);
    // An approval was counted and its card edit never reached Slack.
    const rule = { hash: r.planHash, approvers: ['U0DAVE'], quorum: 2, budgetMs: 10 * MIN };
    expect((await approve(w.store, r, 'U0DAVE', w.clock.now(), rule)).result).toBe('counted');
    await watchdogPass(w.md);
    expect(await w.md.jobs.state(expireJobId(r.id))).toBe('delayed');
    expect(
      get()
        .slack.messages(APPROVALS)
        .find((m) => m.ts === card.ts)?.edits,
    ).toBe(1);
    const after = await getRequest(w.store, r.id, 'phase3');
    expect(after.cardVersion).toBe(after.version);
  });

  it('an instance held by a rollback whose job is gone is freed after the grace', async () => {
    const w = await world();
    await takeInstance(w.store, w.instanceId, 'mig-rb3-gone', w.clock.now());
    expect(await watchdogPass(w.md)).toEqual({ inFlight: true, waiting: false, did: [] });
    expect(await instanceHolder(w.store, w.instanceId)).toBeDefined();
    w.clock.advance(GRACE);
    await watchdogPass(w.md);
    expect(await instanceHolder(w.store, w.instanceId)).toBeUndefined();
  });
});

describe("the watchdog's pace", () => {
  it('is removed when nothing is open', async () => {
    const w = await world();
    await w.md.jobs.arm(5_000);
    expect(await runWatchdog(w.md)).toEqual({ op: 'watchdog', outcome: 'idle', quiet: true });
    expect(await w.md.jobs.armedEvery()).toBeUndefined();
  });

  it('is slow while an approved run waits for its window', async () => {
    const w = await world();
    await approveAll(w, await phase3Request(w, { startIn: 60, endIn: 90 }));
    // Its run job is not in the queue (approveAll only stores it): the pass queues it, and says so.
    expect(await runWatchdog(w.md)).toMatchObject({
      op: 'watchdog',
      outcome: expect.stringMatching(
        /^waiting; p3-\w+: run job mig-run-p3-\w+-2 queued again; p3-\w+: expiry job queued again$/,
      ),
      quiet: false,
    });
    expect(await w.md.jobs.armedEvery()).toBe(600_000);
  });

  it('is the job lock time while an operation is in flight', async () => {
    const w = await world();
    await running(w);
    await w.md.jobs.arm(600_000);
    expect(await runWatchdog(w.md)).toEqual({ op: 'watchdog', outcome: 'watching', quiet: true });
    expect(await w.md.jobs.armedEvery()).toBe(5_000);
  });
});
