// What every operation on a request (run, rollback, cleanup) shares: its ownership (a fence taken
// when the job claims the request), the check right before each change, waits that notice a lost
// ownership or a stop, and the watchdog armed while it is in flight.
import { TransientError, UserError } from '../../infra/errors.js';
import type { Logger } from '../../infra/logger.js';
import { expireJobId } from './data.js';
import type { MigrationCore, MigrationDeps } from './deps.js';
import { approverSet, livePlan, migrationConfig, planChanges, planHash, quorum, STEP } from './plan.js';
import {
  type ApprovalRule,
  endOperation,
  guard,
  isFinal,
  type MigrationRequest,
  type OperationEnd,
  type Owner,
  runnerView,
} from './store.js';

/** This runner no longer owns the request (another took it, or the watchdog ended it): it stops, writing nothing. */
export class Fenced extends Error {}

/** A check before a change failed: the run stops before it, visibly. */
export class StopRun extends UserError {
  constructor(
    readonly why: 'plan' | 'quorum' | 'stop' | 'window' | 'listing',
    message: string,
    readonly windowState?: string,
  ) {
    super(`stopped_${why}`, message);
  }
}

/** The job running an operation, as the processor sees it. */
export interface RunCtx {
  jobId: string;
  /** The worker's BullMQ lock token (checked by every guard). */
  token?: string;
  log: Logger;
  isLastAttempt(): boolean;
  /** Parks the job until then (no attempt used). */
  delayUntil?(timestamp: number): Promise<never>;
  /** The requester's status message. */
  report?(text: string): Promise<void>;
}

/** How often the watchdog looks while an operation is in flight: the job lock time. */
export function watchdogEveryMs(core: MigrationCore): number {
  return Math.max(1_000, core.config.jobs.lockMs);
}

/**
 * Arms the watchdog at `everyMs` unless it already runs at least that often; a failure to arm is
 * logged (the operation itself goes on).
 */
export async function armWatchdog(core: MigrationCore, everyMs = watchdogEveryMs(core)): Promise<void> {
  try {
    const now = await core.jobs.armedEvery();
    if (now === undefined || now > everyMs) await core.jobs.arm(everyMs);
  } catch (err) {
    core.log.warn({ err: String(err) }, 'could not arm the watchdog');
  }
}

/** How much of the window a phase-3 run needs: all of runMinutes before it begins. */
export function runBudgetMs(core: MigrationCore): number {
  return migrationConfig(core.config).runMinutes * 60_000;
}

/**
 * How much of the window must be left before a step: the stop, the point of no return, needs the
 * whole budget, the association what is left of it after the stop; starting the instance again
 * only needs the window not to be over.
 */
export function stepBudgetMs(core: MigrationCore, step: number): number {
  const full = runBudgetMs(core);
  if (step <= STEP.stop) return full;
  if (step === STEP.associate) return Math.round(full * 0.8);
  return 0;
}

/** The rule the approvals are held to now: the live config's plan hash, approvers and quorum. */
export function approvalRule(core: MigrationCore, r: MigrationRequest, budgetMs: number): ApprovalRule {
  return {
    hash: planHash(livePlan(core.config, r.plan)),
    approvers: approverSet(core.config),
    quorum: quorum(core.config),
    budgetMs,
  };
}

/**
 * The check right before a mutating AWS call: throws Fenced when this runner no longer owns the
 * request, StopRun when the approvals, the plan or the window no longer allow the change.
 */
export async function checkBeforeChange(
  core: MigrationCore,
  r: MigrationRequest,
  owner: Owner,
  budgetMs: number,
  change = true,
): Promise<void> {
  let rule: ApprovalRule;
  try {
    rule = approvalRule(core, r, budgetMs);
  } catch {
    throw new StopRun('plan', 'the migration is no longer configured: nothing more runs');
  }
  const g = await guard(core.store, { request: r, state: 'running' }, owner, {
    mode: 'full',
    now: core.clock.now(),
    change,
    ...rule,
  });
  switch (g.result) {
    case 'ok':
      return;
    case 'fenced':
      throw new Fenced(g.detail);
    case 'stop':
      throw new StopRun('stop', g.detail);
    case 'plan': {
      const changes = planChanges(r.plan, livePlan(core.config, r.plan));
      throw new StopRun(
        'plan',
        `the plan changed after approval (${changes.join('; ') || 'its steps or window'}): the approvals no longer count, make a new request`,
      );
    }
    case 'quorum':
      throw new StopRun(
        'quorum',
        `only ${g.count} of the ${rule.quorum} approvals still count under the config now (approvers changed): make a new request`,
      );
    case 'window':
      throw new StopRun(
        'window',
        g.detail === 'cancelled'
          ? 'window cancelled'
          : g.detail === 'short'
            ? 'too little of the window is left for the rest of the run'
            : `the window is ${g.detail === 'gone' ? 'gone' : 'over'}`,
        g.detail,
      );
  }
}

/** A rollback's check: only that it still owns the request (or the instance). */
export async function checkOwnership(
  core: MigrationCore,
  target: { request: MigrationRequest } | { instanceId: string },
  owner: Owner,
): Promise<void> {
  const g = await guard(
    core.store,
    'request' in target ? { request: target.request, state: 'rolling-back' } : target,
    owner,
    { mode: 'own' },
  );
  if (g.result !== 'ok') throw new Fenced('detail' in g ? g.detail : g.result);
}

/**
 * Polls `probe` every pollSeconds until it returns true; past waitTimeoutSeconds it fails naming
 * `what`. Before each poll `alive` may throw (Fenced: the runner lost the request; StopRun: a stop
 * was asked for). AWS out of reach or throttling keeps the wait going until the deadline.
 */
export async function waitFor(
  md: MigrationDeps,
  what: string,
  probe: () => Promise<boolean>,
  alive: () => Promise<void>,
): Promise<void> {
  const m = migrationConfig(md.config);
  const deadline = md.clock.now() + m.waitTimeoutSeconds * 1000;
  let lastError: string | undefined;
  for (;;) {
    await alive();
    try {
      if (await probe()) return;
      lastError = undefined;
    } catch (err) {
      if (!(err instanceof TransientError)) throw err;
      lastError = err.message;
    }
    if (md.clock.now() > deadline) {
      const last = lastError ? ` (last error: ${lastError})` : '';
      throw new UserError(
        'wait_timeout',
        `timed out after ${m.waitTimeoutSeconds} s waiting for ${what}${last}`,
      );
    }
    await md.sleep(m.pollSeconds * 1000);
  }
}

/** `alive` for a run's waits: still its request, and no stop asked for. */
export function runAlive(
  core: MigrationCore,
  id: string,
  owner: Owner,
  stopMatters = true,
): () => Promise<void> {
  return async () => {
    const v = await runnerView(core.store, id);
    if (v.opJob !== owner.job || v.fence !== owner.fence) throw new Fenced('another run owns the request');
    if (stopMatters && v.stop) throw new StopRun('stop', v.stop);
  };
}

/**
 * Ends the operation that owns a request (see endOperation); when that leaves the request in a final
 * state, its expiry job has nothing left to do and is removed from the queue.
 */
export async function endOp(core: MigrationCore, ...end: OperationEnd): Promise<boolean> {
  const [r, , , to] = end;
  const ended = await endOperation(core.store, ...end);
  if (ended && isFinal(r.kind, to)) await core.jobs.remove(expireJobId(r.id));
  return ended;
}
