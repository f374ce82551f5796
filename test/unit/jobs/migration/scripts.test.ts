// The Lua scripts of jobs/migration/scripts.ts on the real Redis: the outcomes store.test.ts does not
// reach through jobs/migration/store.ts (there: created / exists / open, counted / approved / already /
// own / not-approver / plan / expired at the window's live end / window-cancelled, the first claim,
// resume, skip and busy, the guard's lock, fence, stop, plan, quorum and window checks, progress,
// the runner's and the watchdog's end, retry and rollback, take-instance ok / request / busy, a
// window's cancel and stop, re-drive, cutovers and their watches). Here: every other outcome, most
// of them races a caller only meets when another process moved first.
import { describe, expect, it } from 'vitest';
import { cancelWindow } from '../../../../jobs/maintenance/store.js';
import { runScript } from '../../../../jobs/migration/scripts.js';
import {
  approve,
  cardShown,
  claim,
  claimInstance,
  currentRequest,
  endOperation,
  expireIfDue,
  failurePosted,
  freeInstance,
  getRequest,
  guard,
  readRequest,
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
import {
  approveAll,
  cleanupRequest,
  MIN,
  phase3Request,
  runningRequest,
  useParts,
  type World,
} from './parts.js';

const { world } = useParts();
const rule = (hash: string) => ({ hash, approvers: ['U0DAVE', 'U0ERIN'], quorum: 2, budgetMs: 10 * MIN });

describe('migCurrent: the open-request pointer', () => {
  it('is not trusted once it changed since it was read, and is cleared when its record is final', async () => {
    const w = await world();
    const r = await phase3Request(w);
    const pointer = `${w.store.prefix}:mig:current`;
    expect(
      await runScript(w.store.redis, 'migCurrent', [pointer, reqKey(w.store, r.id)], ['p3-other000']),
    ).toBe(null);
    expect(await w.store.redis.get(pointer)).toBe(r.id);
    await w.store.redis.hset(reqKey(w.store, r.id), 'state', 'done');
    expect(await currentRequest(w.store)).toBeUndefined();
    expect(await w.store.redis.exists(pointer)).toBe(0);
  });
});

describe('migCreate', () => {
  it("answers 'moved' when the pointer changed since it was read", async () => {
    const w = await world();
    const r = await phase3Request(w);
    const keys = [
      reqKey(w.store, 'p3-new00000'),
      `${w.store.prefix}:mig:current`,
      `${w.store.prefix}:mig:latest:phase3`,
      reqKey(w.store, 'p3-new00000'),
    ];
    expect(
      await runScript(w.store.redis, 'migCreate', keys, ['p3-new00000', '', Date.now() + MIN, 'id', 'x']),
    ).toBe('moved');
    expect(await readRequest(w.store, 'p3-new00000')).toBeUndefined();
    expect(await currentRequest(w.store)).toBe(r.id);
  });
});

describe('migApprove', () => {
  it('refuses a request that is gone or no longer pending, saying its state', async () => {
    const w = await world();
    const r = await phase3Request(w);
    expect(
      await approve(w.store, { ...r, id: 'p3-gone0000' }, 'U0DAVE', w.clock.now(), rule(r.planHash)),
    ).toEqual({
      result: 'state',
      state: 'gone',
    });
    await approveAll(w, r);
    expect(await approve(w.store, r, 'U0DAVE', w.clock.now(), rule(r.planHash))).toEqual({
      result: 'state',
      state: 'approved',
    });
  });

  it('calls a phase-3 request expired when its window is gone or completed', async () => {
    const w = await world();
    const r = await phase3Request(w);
    await w.store.redis.hset(windowRecordKey(w.store, r.windowId), 'state', 'completed');
    expect(await approve(w.store, r, 'U0DAVE', w.clock.now(), rule(r.planHash))).toEqual({
      result: 'expired',
    });
    await w.store.redis.del(windowRecordKey(w.store, r.windowId));
    expect(await approve(w.store, r, 'U0DAVE', w.clock.now(), rule(r.planHash))).toEqual({
      result: 'expired',
    });
  });

  it('expires a cleanup request at its own expiresAt', async () => {
    const w = await world();
    const r = await cleanupRequest(w, ['dumps-test/a']);
    expect(await approve(w.store, r, 'U0DAVE', r.expiresAt, rule(r.planHash))).toEqual({ result: 'expired' });
    expect(await approve(w.store, r, 'U0DAVE', r.expiresAt - 1, rule(r.planHash))).toEqual({
      result: 'counted',
      count: 1,
    });
  });
});

describe('migTransition', () => {
  it('moves nothing that is gone or in a state not allowed; a move to a state that is not final keeps the pointer', async () => {
    const w = await world();
    expect(await transition(w.store, 'p3-gone0000', ['pending'], 'rejected')).toEqual({
      ok: false,
      state: 'gone',
    });
    const r = await phase3Request(w);
    expect(await transition(w.store, r.id, ['approved'], 'rejected')).toEqual({
      ok: false,
      state: 'pending',
    });
    expect((await readRequest(w.store, r.id))?.state).toBe('pending');
    expect(await transition(w.store, r.id, ['pending'], 'approved')).toEqual({ ok: true, state: 'pending' });
    expect(await currentRequest(w.store)).toBe(r.id);
  });
});

describe('migExpire', () => {
  it('leaves a request that is gone or already past approval', async () => {
    const w = await world();
    expect(
      await expireIfDue(w.store, { id: 'p3-gone0000', kind: 'phase3' }, w.clock.now(), 0, 'late'),
    ).toEqual({
      result: 'state',
      state: 'gone',
    });
    const { r } = await runningRequest(w);
    expect(await expireIfDue(w.store, r, r.plan.windowEnd, 10 * MIN, 'late')).toEqual({
      result: 'state',
      state: 'running',
    });
  });

  it('expires a phase-3 request at once when its window is cancelled', async () => {
    const w = await world();
    const r = await phase3Request(w);
    await cancelWindow(w.store, r.windowId);
    expect(await expireIfDue(w.store, r, w.clock.now(), 10 * MIN, 'the window is gone')).toEqual({
      result: 'expired',
      state: 'pending',
    });
    expect(await readRequest(w.store, r.id)).toMatchObject({
      state: 'expired',
      reason: 'the window is gone',
    });
    expect(await currentRequest(w.store)).toBeUndefined();
  });

  it('expires a cleanup request at its expiresAt, not before', async () => {
    const w = await world();
    const r = await cleanupRequest(w, ['dumps-test/a']);
    expect(await expireIfDue(w.store, r, r.expiresAt - 1, 0, 'late')).toEqual({
      result: 'later',
      at: r.expiresAt,
    });
    expect(await expireIfDue(w.store, r, r.expiresAt, 0, 'late')).toEqual({
      result: 'expired',
      state: 'pending',
    });
  });
});

describe('migRetry', () => {
  async function failed(w: World) {
    const x = await runningRequest(w);
    await endOperation(w.store, x.r, x.owner.job, x.owner.fence, 'failed', { error: 'e', failedStep: 2 });
    return getRequest(w.store, x.r.id, 'phase3');
  }

  it('refuses while the window is cancelled, over or gone', async () => {
    const w = await world();
    const r = await failed(w);
    expect(await retry(w.store, r, r.plan.windowEnd)).toEqual({ result: 'window', detail: 'over' });
    await cancelWindow(w.store, r.windowId);
    expect(await retry(w.store, r, w.clock.now())).toEqual({ result: 'window', detail: 'cancelled' });
    await w.store.redis.del(windowRecordKey(w.store, r.windowId));
    expect(await retry(w.store, r, w.clock.now())).toEqual({ result: 'window', detail: 'gone' });
    expect((await readRequest(w.store, r.id))?.state).toBe('failed');
  });

  it('refuses a request that is gone', async () => {
    const w = await world();
    const r = await failed(w);
    expect(await retry(w.store, { ...r, id: 'p3-gone0000' }, w.clock.now())).toEqual({
      result: 'state',
      detail: 'gone',
    });
  });
});

describe('migRollback and migTakeInstance', () => {
  it('a failed request is not rolled back while another operation holds its instance', async () => {
    const w = await world();
    const x = await runningRequest(w);
    await endOperation(w.store, x.r, x.owner.job, x.owner.fence, 'failed', { error: 'e' });
    await w.store.redis.hset(slotKey(w.store, x.r.plan.instanceId), 'job', 'mig-rb3-cmd', 'fence', '0');
    expect(await startRollback(w.store, x.r, w.clock.now())).toEqual({
      result: 'busy',
      detail: 'mig-rb3-cmd',
    });
    expect((await readRequest(w.store, x.r.id))?.state).toBe('failed');
  });

  it("the command's take answers 'moved' when the pointer changed since it was read", async () => {
    const w = await world();
    const r = await phase3Request(w);
    const slot = slotKey(w.store, r.plan.instanceId);
    const keys = [slot, `${w.store.prefix}:mig:current`, slot];
    expect(await runScript(w.store.redis, 'migTakeInstance', keys, ['mig-rb3-a', '', w.clock.now()])).toEqual(
      ['moved', ''],
    );
    expect(await w.store.redis.exists(slot)).toBe(0);
    // Through the store, the pointer is read again: the pending request does not block the command.
    expect(await takeInstance(w.store, r.plan.instanceId, 'mig-rb3-a', w.clock.now())).toEqual({
      result: 'ok',
    });
  });
});

describe('migClaim for a rollback', () => {
  it('takes a rolling-back request fresh, then resumes it; another job or a gone request is skipped', async () => {
    const w = await world();
    const x = await runningRequest(w);
    await endOperation(w.store, x.r, x.owner.job, x.owner.fence, 'failed', { error: 'e' });
    const rb = await startRollback(w.store, x.r, w.clock.now());
    if (rb.result !== 'ok') throw new Error(rb.result);
    expect(await claim(w.store, x.r, 'mig-rb-other', 'rollback', w.clock.now())).toEqual({
      result: 'skip',
      state: 'rolling-back',
    });
    expect(await claim(w.store, x.r, rb.job, 'rollback', w.clock.now())).toMatchObject({
      result: 'fresh',
      fence: 2,
    });
    expect(await claim(w.store, x.r, rb.job, 'rollback', w.clock.now())).toMatchObject({
      result: 'resume',
      fence: 3,
    });
    expect(await claim(w.store, { ...x.r, id: 'p3-gone0000' }, rb.job, 'run', w.clock.now())).toEqual({
      result: 'skip',
      state: 'gone',
    });
  });
});

describe('migClaimInstance and migFreeInstance: a rollback no request owns', () => {
  it('advances the slot fence for its own job only; frees the slot for its job and fence, or for the watchdog', async () => {
    const w = await world();
    const r = await phase3Request(w);
    await transition(w.store, r.id, ['pending'], 'rejected');
    const id = r.plan.instanceId;
    expect(await takeInstance(w.store, id, 'mig-rb3-a', w.clock.now())).toEqual({ result: 'ok' });
    expect(await claimInstance(w.store, id, 'mig-rb3-b')).toBeUndefined();
    expect(await claimInstance(w.store, id, 'mig-rb3-a')).toBe(1);
    expect(await claimInstance(w.store, id, 'mig-rb3-a')).toBe(2);
    expect(await freeInstance(w.store, id, 'mig-rb3-b', 2)).toBe(false);
    expect(await freeInstance(w.store, id, 'mig-rb3-a', 1)).toBe(false);
    expect(await freeInstance(w.store, id, 'mig-rb3-a', 2)).toBe(true);
    expect(await w.store.redis.exists(slotKey(w.store, id))).toBe(0);
    await takeInstance(w.store, id, 'mig-rb3-c', w.clock.now());
    expect(await freeInstance(w.store, id, 'mig-rb3-c')).toBe(true);
  });
});

describe('migGuard', () => {
  it('on an instance slot: ok for its job and fence, fenced for any other', async () => {
    const w = await world();
    const id = 'i-0123456789abcdef0';
    await takeInstance(w.store, id, 'mig-rb3-a', w.clock.now());
    const fence = (await claimInstance(w.store, id, 'mig-rb3-a')) ?? 0;
    expect(await guard(w.store, { instanceId: id }, { job: 'mig-rb3-a', fence }, { mode: 'own' })).toEqual({
      result: 'ok',
    });
    expect(
      await guard(w.store, { instanceId: id }, { job: 'mig-rb3-a', fence: fence - 1 }, { mode: 'own' }),
    ).toEqual({ result: 'fenced', detail: 'another operation holds the instance' });
  });

  it("on a request: fenced when it is gone or in another state; 'own' checks ownership only; a gone window stops a change", async () => {
    const w = await world();
    const x = await runningRequest(w);
    const full = { mode: 'full' as const, now: w.clock.now() + 6 * MIN, change: true, ...rule(x.r.planHash) };
    expect(await guard(w.store, { request: x.r, state: 'rolling-back' }, x.owner, { mode: 'own' })).toEqual({
      result: 'fenced',
      detail: 'the request is running',
    });
    expect(await guard(w.store, { request: x.r, state: 'running' }, x.owner, { mode: 'own' })).toEqual({
      result: 'ok',
    });
    await w.store.redis.del(windowRecordKey(w.store, x.r.windowId));
    expect(await guard(w.store, { request: x.r, state: 'running' }, x.owner, full)).toEqual({
      result: 'window',
      detail: 'gone',
    });
    await w.store.redis.del(reqKey(w.store, x.r.id));
    expect(await guard(w.store, { request: x.r, state: 'running' }, x.owner, full)).toEqual({
      result: 'fenced',
      detail: 'the request is gone',
    });
  });
});

describe('migProgress and migEnd', () => {
  it('write nothing for a request that is not running, or for another job', async () => {
    const w = await world();
    const x = await runningRequest(w);
    expect(await endOperation(w.store, x.r, 'mig-run-other', undefined, 'failed')).toBe(false);
    expect((await readRequest(w.store, x.r.id))?.state).toBe('running');
    expect(await endOperation(w.store, x.r, x.owner.job, x.owner.fence, 'done')).toBe(true);
    expect(await saveProgress(w.store, x.r.id, x.owner, { step: 3 })).toBe(false);
    expect((await getRequest(w.store, x.r.id, 'phase3')).step).toBe(0);
  });
});

describe('migWindowCancelled', () => {
  it('leaves a request of another window, or one that is not pending, approved or running', async () => {
    const w = await world();
    const r = await phase3Request(w);
    expect(
      await windowCancelled(w.store, { ...r, windowId: 'mw-other' }, 'window cancelled', 'U0OPS'),
    ).toEqual({
      result: 'none',
      state: 'pending',
    });
    await transition(w.store, r.id, ['pending'], 'rejected');
    expect(await windowCancelled(w.store, r, 'window cancelled', 'U0OPS')).toEqual({
      result: 'none',
      state: 'rejected',
    });
    expect((await readRequest(w.store, r.id))?.state).toBe('rejected');
  });
});

describe('migRaise: what the card shows, which failure was posted', () => {
  it('raises a counter, never lowers it, and creates no record', async () => {
    const w = await world();
    const r = await phase3Request(w);
    await cardShown(w.store, r.id, 3);
    await cardShown(w.store, r.id, 2);
    await failurePosted(w.store, r.id, 1);
    expect(await readRequest(w.store, r.id)).toMatchObject({ cardVersion: 3, failPosted: 1 });
    await cardShown(w.store, 'p3-gone0000', 5);
    expect(await w.store.redis.exists(reqKey(w.store, 'p3-gone0000'))).toBe(0);
  });
});
