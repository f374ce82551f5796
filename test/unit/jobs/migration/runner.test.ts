// What every operation on a request shares (jobs/migration/runner.ts), on the real Redis and BullMQ:
// the watchdog's arming, the budgets, the check before a change and what each refusal says, waits, and
// the end of an operation.
import { describe, expect, it } from 'vitest';
import { TransientError } from '../../../../infra/errors.js';
import { cancelWindow } from '../../../../jobs/maintenance/store.js';
import { expireJobId } from '../../../../jobs/migration/data.js';
import { planHash, planOf } from '../../../../jobs/migration/plan.js';
import {
  approvalRule,
  armWatchdog,
  checkBeforeChange,
  checkOwnership,
  endOp,
  Fenced,
  runAlive,
  runBudgetMs,
  StopRun,
  stepBudgetMs,
  waitFor,
  watchdogEveryMs,
} from '../../../../jobs/migration/runner.js';
import { claim, getRequest, windowCancelled } from '../../../../jobs/migration/store.js';
import {
  MIN,
  migConfig,
  phase3Request,
  queueExpiry,
  runningRequest,
  unreachableJobs,
  useParts,
  type World,
} from './parts.js';

const { world } = useParts();

/** A run that began with its window 6 minutes ago (29 minutes of it left). */
async function running(w: World) {
  const x = await runningRequest(w);
  w.clock.advance(6 * MIN);
  return x;
}

describe('the watchdog', () => {
  it('looks as often as the job lock time, at least every second', async () => {
    const w = await world();
    expect(watchdogEveryMs(w.md)).toBe(5_000);
    expect(watchdogEveryMs(w.withConfig(migConfig({}, { jobs: { lockMs: 600 } })))).toBe(1_000);
  });

  it('is armed unless it already runs at least as often; a slower pace never replaces a faster one', async () => {
    const w = await world();
    expect(await w.md.jobs.armedEvery()).toBeUndefined();
    await armWatchdog(w.md, 600_000);
    expect(await w.md.jobs.armedEvery()).toBe(600_000);
    await armWatchdog(w.md);
    expect(await w.md.jobs.armedEvery()).toBe(5_000);
    await armWatchdog(w.md, 600_000);
    expect(await w.md.jobs.armedEvery()).toBe(5_000);
  });

  it('a failure to arm is logged, and the operation goes on', async () => {
    const w = await world();
    await expect(armWatchdog({ ...w.md, jobs: unreachableJobs(w) })).resolves.toBeUndefined();
    expect(w.logs.some((l) => l.includes('could not arm the watchdog'))).toBe(true);
  });
});

describe('the budgets', () => {
  it('gives the whole run before the stop, most of it before the association, nothing before the start', async () => {
    const w = await world();
    expect(runBudgetMs(w.md)).toBe(10 * MIN);
    expect([0, 1, 2, 3, 4].map((step) => stepBudgetMs(w.md, step))).toEqual([
      10 * MIN,
      10 * MIN,
      8 * MIN,
      0,
      0,
    ]);
  });

  it('holds approvals to the live config: its plan hash, its approvers and its quorum', async () => {
    const w = await world();
    const r = await phase3Request(w);
    expect(approvalRule(w.md, r, 123)).toEqual({
      hash: r.planHash,
      approvers: ['U0DAVE', 'U0ERIN'],
      quorum: 2,
      budgetMs: 123,
    });
    const other = w.withConfig(migConfig({ instanceProfile: 'other', approvals: 3 }));
    const rule = approvalRule(other, r, 0);
    expect(rule.hash).toBe(
      planHash(planOf(other.config, { id: r.windowId, start: r.plan.windowStart, end: 0 })),
    );
    expect(rule.quorum).toBe(3);
  });
});

describe('the check right before a change', () => {
  it('passes while the run owns the request and the approvals, plan and window allow it', async () => {
    const w = await world();
    const x = await running(w);
    await expect(checkBeforeChange(w.md, x.r, x.owner, 10 * MIN)).resolves.toBeUndefined();
    expect((await getRequest(w.store, x.r.id, 'phase3')).touched).toBe(true);
  });

  it('fences out a runner that lost the request', async () => {
    const w = await world();
    const x = await running(w);
    await claim(w.store, x.r, x.owner.job, 'run', w.clock.now());
    await expect(checkBeforeChange(w.md, x.r, x.owner, 0)).rejects.toThrow(Fenced);
  });

  it('stops, saying why: a changed plan, too few approvals under the config now, a stop, a window too short or cancelled', async () => {
    const w = await world();
    const x = await running(w);
    const stop = (md = w.md, budget = 0) =>
      checkBeforeChange(md, x.r, x.owner, budget).then(
        () => undefined,
        (err: unknown) => (err instanceof StopRun ? [err.why, err.message, err.windowState] : err),
      );
    expect(await stop(w.withConfig(migConfig({ instanceProfile: 'other-profile' })))).toEqual([
      'plan',
      `the plan changed after approval (instance profile \`${x.r.plan.instanceProfile}\` → \`other-profile\`): the approvals no longer count, make a new request`,
      undefined,
    ]);
    expect(await stop(w.withConfig(migConfig({ approvals: 3 })))).toEqual([
      'quorum',
      'only 2 of the 3 approvals still count under the config now (approvers changed): make a new request',
      undefined,
    ]);
    expect(await stop(w.withConfig(migConfig({}, { migration: undefined })))).toEqual([
      'plan',
      'the migration is no longer configured: nothing more runs',
      undefined,
    ]);
    expect(await stop(w.md, 30 * MIN)).toEqual([
      'window',
      'too little of the window is left for the rest of the run',
      'short',
    ]);
    await cancelWindow(w.store, x.r.windowId);
    expect(await stop()).toEqual(['window', 'window cancelled', 'cancelled']);
    await windowCancelled(w.store, x.r, 'window `w` cancelled', 'U0OPS');
    expect(await stop()).toEqual(['stop', 'window `w` cancelled', undefined]);
  });

  it("says the window is over once it is, in the run's own words", async () => {
    const w = await world();
    const x = await running(w);
    w.clock.t = x.r.plan.windowEnd;
    const err = await checkBeforeChange(w.md, x.r, x.owner, 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StopRun);
    expect((err as StopRun).message).toBe('the window is over');
    expect((err as StopRun).code).toBe('stopped_window');
  });

  it("a rollback's check only asks whether it still owns the request", async () => {
    const w = await world();
    const x = await running(w);
    await cancelWindow(w.store, x.r.windowId);
    await expect(checkOwnership(w.md, { request: x.r }, x.owner)).rejects.toThrow(Fenced);
    await w.store.redis.hset(`${w.store.prefix}:mig:req:${x.r.id}`, 'state', 'rolling-back');
    await expect(checkOwnership(w.md, { request: x.r }, x.owner)).resolves.toBeUndefined();
  });
});

describe('waits', () => {
  it('poll until the probe says yes, through AWS being out of reach, moving the clock by pollSeconds', async () => {
    const w = await world();
    const answers = [new TransientError('aws_unreachable', 'no route'), false, true];
    const start = w.clock.now();
    await waitFor(
      w.md,
      'the instance to stop',
      async () => {
        const a = answers.shift();
        if (a instanceof Error) throw a;
        return a ?? false;
      },
      async () => {},
    );
    expect(answers).toEqual([]);
    expect(w.clock.now() - start).toBe(2_000);
  });

  it('fail past waitTimeoutSeconds naming what they waited for and the last error', async () => {
    const w = await world();
    await expect(
      waitFor(
        w.md,
        'the instance to stop',
        async () => {
          throw new TransientError('aws_unreachable', 'could not reach AWS');
        },
        async () => {},
      ),
    ).rejects.toThrow(
      'timed out after 30 s waiting for the instance to stop (last error: could not reach AWS)',
    );
  });

  it('stop at once on an error that is not transient, or when the runner is no longer alive', async () => {
    const w = await world();
    const boom = new Error('AccessDenied');
    await expect(
      waitFor(
        w.md,
        'x',
        () => Promise.reject(boom),
        async () => {},
      ),
    ).rejects.toBe(boom);
    const x = await running(w);
    await windowCancelled(w.store, x.r, 'window cancelled', 'U0OPS');
    let probes = 0;
    const probe = async () => {
      probes += 1;
      return true;
    };
    await expect(waitFor(w.md, 'x', probe, runAlive(w.md, x.r.id, x.owner))).rejects.toThrow(StopRun);
    expect(probes).toBe(0);
    // The last wait of a run (the association seen) goes on through a stop; not past a lost request.
    await expect(runAlive(w.md, x.r.id, x.owner, false)()).resolves.toBeUndefined();
    await claim(w.store, x.r, x.owner.job, 'run', w.clock.now());
    await expect(runAlive(w.md, x.r.id, x.owner, false)()).rejects.toThrow(Fenced);
  });
});

describe('the end of an operation', () => {
  it("removes the request's expiry job once the request is final, and keeps it while it is not", async () => {
    const w = await world();
    const x = await running(w);
    await queueExpiry(w, x.r);
    expect(await endOp(w.md, x.r, x.owner.job, x.owner.fence, 'failed', { error: 'e' })).toBe(true);
    expect(await w.md.jobs.state(expireJobId(x.r.id))).toBe('delayed');
    const v = await world();
    const y = await running(v);
    await queueExpiry(v, y.r);
    expect(await endOp(v.md, y.r, y.owner.job, y.owner.fence + 1, 'done')).toBe(false);
    expect(await v.md.jobs.state(expireJobId(y.r.id))).toBe('delayed');
    expect(await endOp(v.md, y.r, y.owner.job, y.owner.fence, 'done')).toBe(true);
    expect(await v.md.jobs.state(expireJobId(y.r.id))).toBe('missing');
  });
});
