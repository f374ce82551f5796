// What a click or a command may do to a request (jobs/migration/requests.ts): each a store transition,
// then its follow-up on the real BullMQ queue, the card on the fake Slack and the audit trail.
import { describe, expect, it } from 'vitest';
import { getWindow } from '../../../../jobs/maintenance/store.js';
import { MIGRATION_QUEUE } from '../../../../jobs/migration/data.js';
import {
  approveRequest,
  cancelRequestsOfWindow,
  coreOf,
  cutoverWithFollowUps,
  rejectRequest,
  retryRequest,
  rollbackCommand,
  rollbackRequest,
  runJobOptions,
  uncutWithFollowUps,
  windowEndChangeRefusal,
} from '../../../../jobs/migration/requests.js';
import {
  claim,
  cutovers,
  endOperation,
  getRequest,
  outbox,
  readRequest,
} from '../../../../jobs/migration/store.js';
import {
  approveAll,
  cleanupRequest,
  DUMP_JOB,
  MIN,
  migConfig,
  phase3Request,
  queueExpiry,
  runningRequest,
  unreachableJobs,
  useParts,
  type World,
} from './parts.js';

const { get, world } = useParts();
const dave = { requestId: 'slack-dave', user: 'U0DAVE' };
const ops = { requestId: 'slack-ops', user: 'U0OPS' };

/** What the world's migration queue holds besides the watchdog: job id -> its name, data and delay. */
async function queued(w: World) {
  const jobs = await w.md.queues.queue(MIGRATION_QUEUE).getJobs(['waiting', 'delayed', 'prioritized']);
  return new Map(
    jobs
      .filter((j) => j.name !== 'watchdog')
      .map((j) => [j.id, { name: j.name, data: j.data, delay: j.delay, attempts: j.opts.attempts }]),
  );
}

/** A phase-3 request that ran and failed at step 3. */
async function failed(w: World) {
  const { r, owner } = await runningRequest(w);
  await endOperation(w.store, r, owner.job, owner.fence, 'failed', { error: 'e', failedStep: 2 });
  return getRequest(w.store, r.id, 'phase3');
}

describe('Approve', () => {
  it('counts, then at the quorum queues the run at the window start (one attempt) and arms the watchdog slowly', async () => {
    const w = await world();
    const r = await phase3Request(w, { startIn: 30, endIn: 60 });
    expect(await approveRequest(w.md, r.id, dave)).toMatchObject({ result: 'counted', count: 1 });
    expect(await queued(w)).toEqual(new Map());
    const res = await approveRequest(w.md, r.id, { requestId: 'slack-erin', user: 'U0ERIN' });
    expect(res).toMatchObject({ result: 'approved', count: 2, runJob: `mig-run-${r.id}-1` });
    expect((await queued(w)).get(`mig-run-${r.id}-1`)).toEqual({
      name: 'run',
      data: { requestId: r.requestId, requester: 'U0OPS', op: 'run', id: r.id },
      delay: 30 * MIN,
      attempts: 1,
    });
    expect(await w.md.jobs.armedEvery()).toBe(600_000);
  });

  it('answers gone for no request, and plan when the migration is no longer configured', async () => {
    const w = await world();
    expect(await approveRequest(w.md, 'p3-gone0000', dave)).toEqual({ result: 'gone' });
    const r = await phase3Request(w);
    const res = await approveRequest(w.withConfig(migConfig({}, { migration: undefined })), r.id, dave);
    expect(res.result).toBe('plan');
    expect((await getRequest(w.store, r.id, 'phase3')).approvals).toEqual([]);
  });

  it('queues the cleanup at once, with the default attempts', async () => {
    const w = await world();
    expect(runJobOptions(await cleanupRequest(w, ['dumps-test/a']))).toEqual({});
    const r = await phase3Request(w);
    expect(runJobOptions(r)).toEqual({ runAt: r.plan.windowStart, attempts: 1 });
  });
});

describe('Reject', () => {
  it('drops the run and the expiry, cancels the window the request made, and edits the card', async () => {
    const w = await world();
    const r = await phase3Request(w);
    const runJob = await approveAll(w, r);
    await w.md.jobs.add(
      runJob,
      { requestId: 'r', requester: 'U0OPS', op: 'run', id: r.id },
      { runAt: w.clock.now() + MIN },
    );
    await queueExpiry(w, r);
    const res = await rejectRequest(w.md, r.id, dave, 'not today');
    expect(res).toMatchObject({
      ok: true,
      request: { state: 'rejected', rejectedBy: 'U0DAVE', reason: 'not today' },
    });
    expect(await queued(w)).toEqual(new Map());
    expect((await getWindow(w.store, r.windowId))?.state).toBe('cancelled');
    expect(await rejectRequest(w.md, r.id, dave, 'again')).toEqual({ ok: false, state: 'rejected' });
  });
});

describe('Retry', () => {
  it('queues a new run job (one attempt) for a failed request, and arms the watchdog', async () => {
    const w = await world();
    const r = await failed(w);
    expect(await retryRequest(w.md, r)).toMatchObject({ result: 'queued' });
    expect((await readRequest(w.store, r.id))?.state).toBe('approved');
    expect((await queued(w)).get(`mig-run-${r.id}-2`)).toMatchObject({ name: 'run', attempts: 1 });
    expect(await w.md.jobs.armedEvery()).toBe(5_000);
  });

  it('runs nothing when the plan changed since the approvals, saying what changed', async () => {
    const w = await world();
    const r = await failed(w);
    const res = await retryRequest(w.withConfig(migConfig({ instanceProfile: 'other-profile' })), r);
    expect(res).toEqual({
      result: 'plan',
      changes: [`instance profile \`${r.plan.instanceProfile}\` → \`other-profile\``],
    });
    expect((await readRequest(w.store, r.id))?.state).toBe('failed');
    expect(await queued(w)).toEqual(new Map());
  });
});

describe('Roll back', () => {
  it("the button queues the failed request's rollback, which holds the instance; a second is refused", async () => {
    const w = await world();
    const r = await failed(w);
    expect(await rollbackRequest(w.md, r, dave)).toEqual({
      result: 'queued',
      id: r.id,
      instanceId: r.plan.instanceId,
    });
    expect((await queued(w)).get(`mig-rb-${r.id}-2`)?.data).toEqual({
      requestId: 'slack-dave',
      requester: 'U0DAVE',
      op: 'rollback3',
      id: r.id,
    });
    expect(await rollbackRequest(w.md, r, dave)).toEqual({
      result: 'state',
      id: r.id,
      state: 'rolling-back',
    });
  });

  it('the command rolls back the configured instance when no request is open, once at a time', async () => {
    const w = await world();
    expect(await rollbackCommand(w.md, ops)).toEqual({ result: 'queued', instanceId: w.instanceId });
    expect((await queued(w)).get('mig-rb3-slack-ops')?.data).toEqual({
      requestId: 'slack-ops',
      requester: 'U0OPS',
      op: 'rollback3',
      account: 'osio',
      instanceId: w.instanceId,
    });
    expect(await rollbackCommand(w.md, dave)).toEqual({ result: 'busy', holder: 'mig-rb3-slack-ops' });
  });

  it('the command rolls back the open failed request as its own operation, and refuses while one is approved', async () => {
    const w = await world();
    const r = await failed(w);
    expect(await rollbackCommand(w.md, ops)).toEqual({
      result: 'queued',
      id: r.id,
      instanceId: r.plan.instanceId,
    });
    const v = await world();
    const a = await phase3Request(v);
    await approveAll(v, a);
    expect(await rollbackCommand(v.md, ops)).toEqual({ result: 'state', id: a.id, state: 'approved' });
  });
});

describe("a window's cancellation", () => {
  it('cancels its pending request (run and expiry dropped, audited), asks a running one to stop, and leaves others', async () => {
    const w = await world();
    const deps = { ...w.md, redis: w.store.redis, prefix: w.store.prefix, logger: w.md.log };
    const r = await phase3Request(w);
    await queueExpiry(w, r);
    expect(await cancelRequestsOfWindow(deps, 'mw-other', 'U0OPS')).toBeUndefined();
    expect(await cancelRequestsOfWindow(deps, r.windowId, 'U0OPS')).toEqual({
      id: r.id,
      result: 'cancelled',
    });
    expect(await readRequest(w.store, r.id)).toMatchObject({ state: 'cancelled', cancelledBy: 'U0OPS' });
    expect(await queued(w)).toEqual(new Map());
    expect((await w.audits()).find((a) => a.action === 'migration.window-cancelled')).toMatchObject({
      target: r.id,
      detail: 'pending -> cancelled',
    });
    const v = await world();
    const x = await phase3Request(v);
    const job = await approveAll(v, x);
    await claim(v.store, x, job, 'run', v.clock.now());
    const vdeps = { ...v.md, redis: v.store.redis, prefix: v.store.prefix, logger: v.md.log };
    expect(await cancelRequestsOfWindow(vdeps, x.windowId, 'U0OPS')).toEqual({
      id: x.id,
      result: 'stopping',
    });
    expect((await readRequest(v.store, x.id))?.stop).toBe(`window \`${x.windowId}\` cancelled`);
  });

  it("may not bring a window's end forward while its request is approved; an extension is always fine", async () => {
    const w = await world();
    const deps = { ...w.md, redis: w.store.redis, prefix: w.store.prefix, logger: w.md.log };
    const r = await phase3Request(w);
    const end = r.plan.windowEnd;
    expect(await windowEndChangeRefusal(deps, r.windowId, end, end - MIN)).toBeUndefined();
    await approveAll(w, r);
    expect(await windowEndChangeRefusal(deps, r.windowId, end, end + MIN)).toBeUndefined();
    expect(await windowEndChangeRefusal(deps, r.windowId, end, end - MIN)).toBe(
      `phase-3 request \`${r.id}\` is approved in this window: its end cannot move earlier`,
    );
    expect(await windowEndChangeRefusal(deps, 'mw-other', end, end - MIN)).toBeUndefined();
  });

  it('builds its core from a bot or a worker: the prefix from env, the cards through the Web API or the Notifier', async () => {
    const w = await world();
    const base = {
      ...w.md,
      redis: w.store.redis,
      logger: w.md.log,
      jobs: undefined,
      cards: undefined,
      notifier: undefined,
    };
    expect(coreOf({ ...base, env: { CHATOPS_REDIS_PREFIX: 'bot-prefix' } }).store.prefix).toBe('bot-prefix');
    expect(coreOf({ ...base, prefix: 'worker-prefix' }).store.prefix).toBe('worker-prefix');
    expect(coreOf(base).cards.postOnce).toBeUndefined();
    expect(coreOf({ ...base, notifier: get().notifier }).cards.postOnce).toBeTypeOf('function');
  });
});

describe('phase 4: a cutover and its follow-ups', () => {
  it('records the cutover with its two watches and the status card, queued at once; once only', async () => {
    const w = await world();
    const c = { cron: DUMP_JOB, at: w.clock.now(), by: 'U0OPS', forced: false };
    expect(await cutoverWithFollowUps(w.md, c, ops)).toBe(true);
    expect(await cutoverWithFollowUps(w.md, c, ops)).toBe(false);
    expect((await cutovers(w.store)).map((x) => x.cron)).toEqual([DUMP_JOB]);
    const jobs = await queued(w);
    const names = [...jobs.values()].map((j) => j.name).sort();
    expect(names).toEqual(['status', 'watch', 'watch']);
    expect(jobs.get(`mig-watch-${DUMP_JOB}-${c.at}-1`)?.data).toMatchObject({
      op: 'watch',
      n: 1,
      cron: DUMP_JOB,
    });
    expect(await outbox(w.store)).toEqual([]);
    expect(await w.md.jobs.armedEvery()).toBe(5_000);
  });

  it('rollback 4 removes it with its status card; nothing when it was not cut over', async () => {
    const w = await world();
    expect(await uncutWithFollowUps(w.md, DUMP_JOB, ops)).toBe(false);
    await cutoverWithFollowUps(w.md, { cron: DUMP_JOB, at: w.clock.now(), by: 'U0OPS', forced: false }, ops);
    expect(await uncutWithFollowUps(w.md, DUMP_JOB, dave)).toBe(true);
    expect(await cutovers(w.store)).toEqual([]);
    const statuses = [...(await queued(w)).values()].filter((j) => j.name === 'status');
    expect(statuses.map((j) => j.data.requester).sort()).toEqual(['U0DAVE', 'U0OPS']);
  });

  it('when the follow-ups cannot be queued, they wait in the outbox for the watchdog', async () => {
    const w = await world();
    const broken = { ...w.md, jobs: unreachableJobs(w) };
    expect(
      await cutoverWithFollowUps(
        broken,
        { cron: DUMP_JOB, at: w.clock.now(), by: 'U0OPS', forced: false },
        ops,
      ),
    ).toBe(true);
    expect((await outbox(w.store)).map((e) => e.kind)).toEqual(['cutover']);
    expect(w.logs.some((l) => l.includes('cutover follow-ups not queued yet'))).toBe(true);
  });
});
