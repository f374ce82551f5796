// Every transition of a /migration request (jobs/migration/store.ts and its Lua) on the real Redis.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../infra/config.js';
import { cancelWindow, createWindow, extendWindow, getWindow } from '../../../../jobs/maintenance/store.js';
import { type Plan, planHash, planOf, STEP } from '../../../../jobs/migration/plan.js';
import {
  approve,
  claim,
  createRequest,
  currentRequest,
  cutovers,
  endOperation,
  expireIfDue,
  getRequest,
  guard,
  jobLockKey,
  latestRequest,
  type MigrationStore,
  outbox,
  readRequest,
  recordCutover,
  recordWatch,
  redriveRun,
  removeCutover,
  reqKey,
  retry,
  saveProgress,
  slotKey,
  startRollback,
  takeInstance,
  transition,
  windowCancelled,
  windowRecordKey,
} from '../../../../jobs/migration/store.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(async () => {
  const keys = await redis.keys('test-migstore-*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const T0 = 1_800_000_000_000;
const MIN = 60_000;
const config = parseConfig(
  {
    accounts: { osio: { id: '386414299200', region: 'us-east-1' } },
    roles: { admin: ['U0OPS'], approver: ['U0DAVE', 'U0ERIN', 'U0OPS'] },
    migration: {
      account: 'osio',
      instanceId: 'i-0123456789abcdef0',
      role: 'r',
      instanceProfile: 'p',
      secretId: 's',
      bucket: 'jram-gghouse',
    },
  },
  '/tmp',
);
const APPROVERS = ['U0DAVE', 'U0ERIN', 'U0OPS'];
const rule = (
  hash: string,
  over: Partial<{ approvers: string[]; quorum: number; budgetMs: number }> = {},
) => ({
  hash,
  approvers: over.approvers ?? APPROVERS,
  quorum: over.quorum ?? 2,
  budgetMs: over.budgetMs ?? 10 * MIN,
});

/** A fresh store with a window and a pending phase-3 request in it. */
async function world(window = { start: T0 + 5 * MIN, end: T0 + 35 * MIN }) {
  const s: MigrationStore = { redis, prefix: `test-migstore-${randomUUID()}` };
  const w = await createWindow(s, {
    title: 'w',
    start: window.start,
    end: window.end,
    createdBy: 'U0OPS',
    createdAt: T0,
    impact: 'i',
    purpose: 'p',
    rollback: 'r',
    contact: 'c',
  });
  const plan: Plan = planOf(config, w);
  const id = `p3-${randomUUID().slice(0, 8)}`;
  expect(
    await createRequest(s, {
      kind: 'phase3',
      id,
      requester: 'U0OPS',
      requestId: 'slack-1',
      plan,
      planHash: planHash(plan),
      needed: 2,
      expiresAt: w.end - 10 * MIN,
      createdAt: T0,
      windowId: w.id,
      windowCreated: true,
    }),
  ).toBe('created');
  return { s, w, plan, id, hash: planHash(plan), r: await getRequest(s, id, 'phase3') };
}

async function approved() {
  const x = await world();
  await approve(x.s, x.r, 'U0DAVE', T0, rule(x.hash));
  const res = await approve(x.s, x.r, 'U0ERIN', T0, rule(x.hash));
  if (res.result !== 'approved') throw new Error(`not approved: ${res.result}`);
  return { ...x, runJob: res.runJob };
}

async function running() {
  const x = await approved();
  const c = await claim(x.s, x.r, x.runJob, 'run', T0 + 6 * MIN);
  if (c.result !== 'fresh') throw new Error(`not claimed: ${c.result}`);
  return { ...x, owner: { job: x.runJob, fence: c.fence }, r: await getRequest(x.s, x.id, 'phase3') };
}

const full = (hash: string, now: number, over = {}) => ({
  mode: 'full' as const,
  now,
  change: true,
  ...rule(hash, over),
});

describe('creating a request, and its pointers', () => {
  it('stores one open request per kind; a second is refused, the same id again is "exists"', async () => {
    const { s, r, plan, id } = await world();
    expect(await currentRequest(s)).toBe(id);
    const other = { ...r, kind: 'phase3' as const, id: 'p3-other000', requestId: 'slack-2', plan };
    expect(await createRequest(s, other)).toBe('open');
    expect(await createRequest(s, { ...r, kind: 'phase3' })).toBe('exists');
  });

  it('gives the record and both pointers one lifetime, and clears a pointer whose record is gone or over', async () => {
    const { s, id, w } = await world();
    const at = await redis.pexpiretime(reqKey(s, id));
    expect(at).toBe(w.end + 90 * 86_400_000);
    expect(await redis.pexpiretime(`${s.prefix}:mig:current`)).toBe(at);
    expect(await redis.pexpiretime(`${s.prefix}:mig:latest:phase3`)).toBe(at);
    await redis.del(reqKey(s, id));
    expect(await currentRequest(s)).toBeUndefined();
    expect(await redis.exists(`${s.prefix}:mig:current`)).toBe(0);
    expect(await latestRequest(s, 'phase3')).toBeUndefined();
    // A far-future request cannot block the feature: once its record is gone, a new one is made.
    const again = await world();
    expect((await transition(again.s, again.id, ['pending'], 'rejected')).ok).toBe(true);
    expect(await redis.exists(`${again.s.prefix}:mig:current`)).toBe(0);
  });

  it('reads a request typed, and says clearly when there is none or it is of the other kind', async () => {
    const { s, id } = await world();
    expect((await getRequest(s, id, 'phase3')).plan.instanceId).toBe('i-0123456789abcdef0');
    await expect(getRequest(s, id, 'cleanup')).rejects.toThrow(`${id} is not a cleanup request`);
    await expect(getRequest(s, 'p3-missing0', 'phase3')).rejects.toThrow(/does not exist/);
    await expect(getRequest(s, 'nonsense', 'phase3')).rejects.toThrow(/does not name a migration request/);
  });
});

describe('approvals', () => {
  it('counts distinct approvers bound to the plan hash; the quorum approves and names a fresh run job', async () => {
    const { s, r, hash } = await world();
    expect(await approve(s, r, 'U0OPS', T0, rule(hash))).toEqual({ result: 'own' });
    expect(await approve(s, r, 'U0ALICE', T0, rule(hash))).toEqual({ result: 'not-approver' });
    expect(await approve(s, r, 'U0DAVE', T0, rule('other-hash'))).toEqual({ result: 'plan' });
    expect(await approve(s, r, 'U0DAVE', T0, rule(hash))).toEqual({ result: 'counted', count: 1 });
    expect(await approve(s, r, 'U0DAVE', T0, rule(hash))).toEqual({ result: 'already', count: 1 });
    // An approver removed from the role no longer counts: ERIN alone is still 1 of 2.
    expect(await approve(s, r, 'U0ERIN', T0, rule(hash, { approvers: ['U0ERIN'] }))).toEqual({
      result: 'counted',
      count: 1,
    });
    // DAVE's approval counts again once he holds approver again: the quorum is reached.
    const res = await approve(s, r, 'U0DAVE', T0, rule(hash));
    expect(res).toEqual({ result: 'approved', count: 2, runJob: `${r.id.replace(/^/, 'mig-run-')}-1` });
    expect((await getRequest(s, r.id, 'phase3')).state).toBe('approved');
  });

  it('refuses once the window can no longer hold the run, reading its live end (extended: allowed again)', async () => {
    const { s, r, hash, w } = await world();
    const late = w.end - 9 * MIN;
    expect(await approve(s, r, 'U0DAVE', late, rule(hash))).toEqual({ result: 'expired' });
    expect(await extendWindow(s, w.id, { from: w.end, to: w.end + 30 * MIN, at: late })).toBe('applied');
    expect(await approve(s, r, 'U0DAVE', late, rule(hash))).toEqual({ result: 'counted', count: 1 });
    expect((await cancelWindow(s, w.id)).cancelled).toBe(true);
    expect(await approve(s, r, 'U0ERIN', late, rule(hash))).toEqual({ result: 'window-cancelled' });
  });
});

describe('the run: claim, fence, guard, progress, end', () => {
  it('claims approved -> running with fence 1; a resume of the same job takes fence 2 and fences the first out', async () => {
    const x = await running();
    expect(x.owner.fence).toBe(1);
    expect((await claim(x.s, x.r, 'mig-run-other', 'run', T0)).result).toBe('skip');
    const again = await claim(x.s, x.r, x.runJob, 'run', T0);
    expect(again).toMatchObject({ result: 'resume', fence: 2 });
    expect(await saveProgress(x.s, x.id, x.owner, { step: STEP.associate })).toBe(false);
    expect(
      await guard(x.s, { request: x.r, state: 'running' }, x.owner, full(x.hash, T0 + 6 * MIN)),
    ).toMatchObject({
      result: 'fenced',
    });
    const owner2 = { job: x.runJob, fence: 2 };
    expect(await saveProgress(x.s, x.id, owner2, { step: STEP.associate })).toBe(true);
    expect((await getRequest(x.s, x.id, 'phase3')).step).toBe(STEP.associate);
  });

  it('checks the lock token: a runner whose BullMQ lock is gone may not act', async () => {
    const x = await running();
    const owner = { ...x.owner, token: 'tok-1' };
    expect(await guard(x.s, { request: x.r, state: 'running' }, owner, full(x.hash, T0 + 6 * MIN))).toEqual({
      result: 'fenced',
      detail: 'this run lost its lock',
    });
    await redis.set(jobLockKey(x.s, x.runJob), 'tok-1');
    expect(await guard(x.s, { request: x.r, state: 'running' }, owner, full(x.hash, T0 + 6 * MIN))).toEqual({
      result: 'ok',
    });
  });

  it('refuses a change when the plan, the quorum or the window no longer allow it; marks touched only before a change', async () => {
    const x = await running();
    const g = (over: object, now = T0 + 6 * MIN, hash = x.hash) =>
      guard(x.s, { request: x.r, state: 'running' }, x.owner, { ...full(hash, now, over) });
    expect(await g({}, T0 + 6 * MIN, 'changed')).toEqual({ result: 'plan' });
    expect(await g({ approvers: ['U0DAVE'] })).toEqual({ result: 'quorum', count: 1 });
    expect(await g({ quorum: 3 })).toEqual({ result: 'quorum', count: 2 });
    expect(await g({}, x.w.end - 5 * MIN)).toEqual({ result: 'window', detail: 'short' });
    expect(await g({}, x.w.end)).toEqual({ result: 'window', detail: 'over' });
    expect((await getRequest(x.s, x.id, 'phase3')).touched).toBe(false);
    expect(
      await guard(x.s, { request: x.r, state: 'running' }, x.owner, {
        ...full(x.hash, T0 + 6 * MIN),
        change: false,
      }),
    ).toEqual({ result: 'ok' });
    expect((await getRequest(x.s, x.id, 'phase3')).touched).toBe(false);
    expect(await g({})).toEqual({ result: 'ok' });
    expect((await getRequest(x.s, x.id, 'phase3')).touched).toBe(true);
    await cancelWindow(x.s, x.w.id);
    expect(await g({})).toEqual({ result: 'window', detail: 'cancelled' });
  });

  it('ends by its runner (fenced) or by the watchdog (fence advanced); frees the instance and, when final, the pointer', async () => {
    const x = await running();
    expect(await redis.hget(slotKey(x.s, x.plan.instanceId), 'job')).toBe(x.runJob);
    expect(await endOperation(x.s, x.r, x.runJob, 99, 'failed', { error: 'e' })).toBe(false);
    expect(
      await endOperation(x.s, x.r, x.runJob, undefined, 'failed', { error: 'lost', failedStep: 2 }),
    ).toBe(true);
    const r = await getRequest(x.s, x.id, 'phase3');
    expect(r).toMatchObject({ state: 'failed', error: 'lost', failedStep: 2, failures: 1, fence: 2 });
    expect(r.opJob).toBeUndefined();
    expect(await redis.exists(slotKey(x.s, x.plan.instanceId))).toBe(0);
    expect(await currentRequest(x.s)).toBe(x.id); // failed phase 3 stays open: Retry or Roll back
    // The old runner is fenced out of everything.
    expect(await saveProgress(x.s, x.id, x.owner, { step: 5 })).toBe(false);
    expect(await endOperation(x.s, r, x.runJob, x.owner.fence, 'done')).toBe(false);
  });
});

describe('one operation at a time', () => {
  it('Retry and Roll back exclude each other; each hands out a new job id, never a finished one', async () => {
    const x = await running();
    await endOperation(x.s, x.r, x.runJob, x.owner.fence, 'failed', { error: 'e', failedStep: 2 });
    const failed = await getRequest(x.s, x.id, 'phase3');
    const rb = await startRollback(x.s, failed, T0 + 7 * MIN);
    expect(rb).toEqual({ result: 'ok', job: `mig-rb-${x.id}-2` });
    expect(await retry(x.s, failed, T0 + 7 * MIN)).toEqual({ result: 'state', detail: 'rolling-back' });
    expect(await startRollback(x.s, failed, T0 + 7 * MIN)).toEqual({
      result: 'state',
      detail: 'rolling-back',
    });
    // The rollback holds the instance: the command's rollback is refused too.
    expect(await takeInstance(x.s, x.plan.instanceId, 'mig-rb3-cmd', T0)).toMatchObject({
      result: 'request',
      state: 'rolling-back',
    });
    const c = await claim(x.s, failed, `mig-rb-${x.id}-2`, 'rollback', T0 + 7 * MIN);
    expect(c).toMatchObject({ result: 'fresh' });
    await endOperation(x.s, failed, `mig-rb-${x.id}-2`, c.result === 'fresh' ? c.fence : 0, 'failed', {
      error: 'rb',
    });
    const again = await retry(x.s, await getRequest(x.s, x.id, 'phase3'), T0 + 8 * MIN);
    expect(again).toEqual({ result: 'ok', runJob: `mig-run-${x.id}-3` });
  });

  it('the command rollback holds the instance: a run waits (busy), a second rollback is refused', async () => {
    const x = await approved();
    expect(await takeInstance(x.s, x.plan.instanceId, 'mig-rb3-a', T0)).toEqual({
      result: 'request',
      id: x.id,
      state: 'approved',
    });
    const y = await world();
    expect(await takeInstance(y.s, y.plan.instanceId, 'mig-rb3-a', T0)).toEqual({ result: 'ok' });
    expect(await takeInstance(y.s, y.plan.instanceId, 'mig-rb3-b', T0)).toEqual({
      result: 'busy',
      holder: 'mig-rb3-a',
    });
    await approve(y.s, y.r, 'U0DAVE', T0, rule(y.hash));
    const res = await approve(y.s, y.r, 'U0ERIN', T0, rule(y.hash));
    if (res.result !== 'approved') throw new Error(res.result);
    expect(await claim(y.s, y.r, res.runJob, 'run', T0 + 6 * MIN)).toEqual({
      result: 'busy',
      holder: 'mig-rb3-a',
      state: 'approved',
    });
  });
});

describe("a window's fate is its request's", () => {
  it('cancels a pending or approved request; asks a running one to stop, which its next guard sees', async () => {
    const p = await world();
    expect(await windowCancelled(p.s, p.r, 'window cancelled', 'U0OPS')).toMatchObject({
      result: 'cancelled',
      state: 'pending',
    });
    expect(await readRequest(p.s, p.id)).toMatchObject({ state: 'cancelled', reason: 'window cancelled' });
    expect(await currentRequest(p.s)).toBeUndefined();
    const x = await running();
    expect(await windowCancelled(x.s, x.r, 'window cancelled', 'U0OPS')).toEqual({
      result: 'stopping',
      state: 'running',
    });
    expect(await guard(x.s, { request: x.r, state: 'running' }, x.owner, full(x.hash, T0 + 6 * MIN))).toEqual(
      {
        result: 'stop',
        detail: 'window cancelled',
      },
    );
  });

  it('expires at the live end of the window: extended, the expiry moves', async () => {
    const { s, r, w } = await world();
    const due = w.end - 10 * MIN;
    expect(await expireIfDue(s, r, due - 1, 10 * MIN, 'late')).toEqual({ result: 'later', at: due });
    await extendWindow(s, w.id, { from: w.end, to: w.end + 60 * MIN, at: due - 1 });
    expect(await expireIfDue(s, r, due, 10 * MIN, 'late')).toEqual({ result: 'later', at: due + 60 * MIN });
    expect(await expireIfDue(s, r, due + 60 * MIN, 10 * MIN, 'late')).toEqual({
      result: 'expired',
      state: 'pending',
    });
  });

  it("reads the maintenance window's own record (the key stays in step with jobs/maintenance/store.ts)", async () => {
    const { s, w } = await world();
    expect(await redis.hget(windowRecordKey(s, w.id), 'state')).toBe((await getWindow(s, w.id))?.state);
    expect(Number(await redis.hget(windowRecordKey(s, w.id), 'end'))).toBe(w.end);
  });
});

describe('re-driving an approved run', () => {
  it('names a new run job only while the request is approved with the old one', async () => {
    const x = await approved();
    expect(await redriveRun(x.s, x.id, 'mig-run-other', T0)).toBeUndefined();
    expect(await redriveRun(x.s, x.id, x.runJob, T0)).toBe(`mig-run-${x.id}-2`);
  });
});

describe('phase 4: cutovers and their outbox', () => {
  it('records a cutover and its follow-up in one step, keeps watches only while it stands, and removes it with its own', async () => {
    const s: MigrationStore = { redis, prefix: `test-migstore-${randomUUID()}` };
    const c = { cron: 'ggh_contractstatus', at: T0, by: 'U0OPS', forced: false };
    const e = {
      id: 'e1',
      at: T0,
      kind: 'cutover' as const,
      cron: c.cron,
      cutoverAt: T0,
      requestId: 'r',
      requester: 'U0OPS',
    };
    expect(await recordCutover(s, c, e)).toBe(true);
    expect(await recordCutover(s, c, { ...e, id: 'e2' })).toBe(false);
    expect((await outbox(s)).map((x) => x.id)).toEqual(['e1']);
    const seen = { n: 1, day: '2027-01-15', ok: true, detail: 'k (1 bytes)' };
    expect(await recordWatch(s, c.cron, T0 + 1, seen)).toBe(false); // another cutover's watch
    expect(await recordWatch(s, c.cron, T0, seen)).toBe(true);
    expect((await cutovers(s))[0]?.watch).toEqual([seen]);
    const back = { id: 'e3', at: T0, kind: 'status' as const, requestId: 'r', requester: 'U0OPS' };
    expect(await removeCutover(s, c.cron, back)).toBe(true);
    expect(await removeCutover(s, c.cron, back)).toBe(false);
    expect(await recordWatch(s, c.cron, T0, { ...seen, n: 2 })).toBe(false);
    expect(await cutovers(s)).toEqual([]);
  });
});
