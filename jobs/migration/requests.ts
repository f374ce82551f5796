// What a click or a command may do to a request, each a store transition and then its follow-up
// (the run or rollback job under a new id, the card, the watchdog): Approve, Reject, Retry, Roll
// back (button and command), a window's cancellation, and phase 4's cutovers with their outbox.
// Handlers call these; they never write a request's state themselves.
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../../infra/audit.js';
import type { Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config.js';
import type { Logger } from '../../infra/logger.js';
import type { Blocks, Notifier } from '../../infra/notifier.js';
import type { Redis } from '../../infra/redis.js';
import { cancelWithNotice } from '../maintenance/index.js';
import type { Queues } from '../queues.js';
import { refreshCard } from './card-sync.js';
import { expireJobId, type MigrationData } from './data.js';
import {
  type CardSink,
  cardsOverNotifier,
  cardsOverWebClient,
  type MigrationCore,
  type RunJobs,
  runJobsOver,
} from './deps.js';
import { watchTimes } from './phase4.js';
import { livePlan, migrationConfig, planChanges, planHash } from './plan.js';
import { approvalRule, armWatchdog, runBudgetMs } from './runner.js';
import {
  type ApproveResult,
  approve,
  type Cutover,
  type MigrationRequest,
  type OutboxEntry,
  openRequest,
  outboxDone,
  type Phase3Request,
  readRequest,
  recordCutover,
  removeCutover,
  retry,
  startRollback,
  takeInstance,
  transition,
  windowCancelled,
} from './store.js';

/** Who asked, for the jobs a click queues. */
export interface Asker {
  requestId: string;
  user: string;
}

/** How a request's run job is queued: phase 3 at its window start with one attempt (a human decides on a retry); the cleanup at once. */
export function runJobOptions(r: MigrationRequest): { runAt?: number; attempts?: number } {
  return r.kind === 'phase3' ? { runAt: r.plan.windowStart, attempts: 1 } : {};
}

/** Queues the run job an approval or a retry named. */
async function queueRun(core: MigrationCore, r: MigrationRequest, runJob: string): Promise<void> {
  const data: MigrationData = { requestId: r.requestId, requester: r.requester, op: 'run', id: r.id };
  await core.jobs.add(runJob, data, runJobOptions(r));
}

/** Cancels the window a request created (with its notice), when the request ends before running. */
export async function cancelCreatedWindow(
  core: Pick<MigrationCore, 'store' | 'queues' | 'clock' | 'log'>,
  r: Phase3Request,
  by: { requestId: string; requester: string },
): Promise<void> {
  if (!r.windowCreated) return;
  await cancelWithNotice(
    {
      redis: core.store.redis,
      prefix: core.store.prefix,
      queues: core.queues,
      clock: core.clock,
      logger: core.log,
    },
    r.windowId,
    by,
  );
}

export type ApproveOutcome = ApproveResult & { request: MigrationRequest };

/** Approve: counted, or the quorum reached (the run job queued), or why not. */
export async function approveRequest(
  core: MigrationCore,
  id: string,
  who: Asker,
): Promise<ApproveOutcome | { result: 'gone' }> {
  const r = await readRequest(core.store, id);
  if (!r) return { result: 'gone' };
  let rule: ReturnType<typeof approvalRule>;
  try {
    rule = approvalRule(core, r, runBudgetMs(core));
  } catch {
    return { result: 'plan', request: r };
  }
  const res = await approve(core.store, r, who.user, core.clock.now(), rule);
  if (res.result === 'approved') {
    await armWatchdog(core, watchdogFor(core, r));
    await queueRun(core, r, res.runJob);
  }
  if (res.result === 'approved' || res.result === 'counted') await refreshCard(core, id);
  return { ...res, request: r };
}

/** The watchdog's pace for an approved request: fast once its run is due, slow while it waits. */
function watchdogFor(core: MigrationCore, r: MigrationRequest): number {
  const fast = Math.max(1_000, core.config.jobs.lockMs);
  return r.kind === 'phase3' && r.plan.windowStart > core.clock.now() + fast ? Math.max(fast, 600_000) : fast;
}

/** Reject (from the modal): pending or approved -> rejected; the run and expiry dropped, a window it made cancelled. */
export async function rejectRequest(
  core: MigrationCore,
  id: string,
  who: Asker,
  reason: string,
): Promise<{ ok: true; request: MigrationRequest } | { ok: false; state: string }> {
  const t = await transition(core.store, id, ['pending', 'approved'], 'rejected', {
    rejectedBy: who.user,
    reason,
  });
  if (!t.ok) return { ok: false, state: t.state };
  const r = await readRequest(core.store, id);
  if (!r) return { ok: false, state: 'gone' };
  if (r.runJob) await core.jobs.remove(r.runJob);
  await core.jobs.remove(expireJobId(id));
  if (r.kind === 'phase3')
    await cancelCreatedWindow(core, r, { requestId: who.requestId, requester: who.user });
  await refreshCard(core, id);
  return { ok: true, request: r };
}

export type RetryOutcome =
  | { result: 'queued'; request: Phase3Request }
  | { result: 'plan'; changes: string[] }
  | { result: 'state' | 'window'; detail: string };

/** Retry: failed -> approved under a new run job, while the window is open and the plan unchanged. */
export async function retryRequest(core: MigrationCore, r: Phase3Request): Promise<RetryOutcome> {
  const live = livePlan(core.config, r.plan);
  if (planHash(live) !== r.planHash) return { result: 'plan', changes: planChanges(r.plan, live) };
  const res = await retry(core.store, r, core.clock.now());
  if (res.result !== 'ok') return res;
  await armWatchdog(core);
  await core.jobs.add(
    res.runJob,
    { requestId: r.requestId, requester: r.requester, op: 'run', id: r.id },
    { attempts: 1 },
  );
  await refreshCard(core, r.id);
  return { result: 'queued', request: r };
}

export type RollbackOutcome =
  | { result: 'queued'; id?: string; instanceId: string }
  | { result: 'state'; id: string; state: string }
  | { result: 'busy'; holder: string };

/** Roll back a failed request (its button, or the command while it is the open one). */
export async function rollbackRequest(
  core: MigrationCore,
  r: Phase3Request,
  who: Asker,
): Promise<RollbackOutcome> {
  const res = await startRollback(core.store, r, core.clock.now());
  if (res.result !== 'ok')
    return res.result === 'state'
      ? { result: 'state', id: r.id, state: res.detail }
      : { result: 'busy', holder: res.detail };
  await armWatchdog(core);
  await core.jobs.add(res.job, { requestId: who.requestId, requester: who.user, op: 'rollback3', id: r.id });
  await refreshCard(core, r.id);
  return { result: 'queued', id: r.id, instanceId: r.plan.instanceId };
}

/**
 * `/migration rollback 3`: the open failed request's rollback, or (none open) one of the configured
 * instance; refused while a request is approved, running or rolling back, or the instance is held.
 */
export async function rollbackCommand(core: MigrationCore, who: Asker): Promise<RollbackOutcome> {
  const m = migrationConfig(core.config);
  const job = `mig-rb3-${who.requestId}`;
  const res = await takeInstance(core.store, m.instanceId, job, core.clock.now());
  if (res.result === 'busy') return res;
  if (res.result === 'request') {
    const open = await openRequest(core.store, 'phase3');
    if (res.state === 'failed' && open?.id === res.id) return rollbackRequest(core, open, who);
    return { result: 'state', id: res.id, state: res.state };
  }
  await armWatchdog(core);
  await core.jobs.add(job, {
    requestId: who.requestId,
    requester: who.user,
    op: 'rollback3',
    account: m.account,
    instanceId: m.instanceId,
  });
  return { result: 'queued', instanceId: m.instanceId };
}

/** What the cancel paths of /maintenance (a bot) or a job (a worker) have. */
export interface WindowCancelDeps {
  config: Config;
  clock: Clock;
  redis: Redis;
  queues: Queues;
  audit: AuditLog;
  /** The worker's prefix; a bot has it in env. */
  prefix?: string;
  env?: { CHATOPS_REDIS_PREFIX: string };
  logger: Logger;
  /** A bot edits the card through its Web API client, a worker through its Notifier. */
  slack?: {
    chat: { update(args: { channel: string; ts: string; text: string; blocks?: Blocks }): Promise<unknown> };
  };
  notifier?: Notifier;
  /** Given by a caller that has them already (a job); built from `queues` and Slack otherwise. */
  jobs?: RunJobs;
  cards?: CardSink;
}

/** A MigrationCore from a bot's or a worker's deps. */
export function coreOf(deps: WindowCancelDeps, confirmBy?: number): MigrationCore {
  return {
    config: deps.config,
    clock: deps.clock,
    store: { redis: deps.redis, prefix: deps.prefix ?? deps.env?.CHATOPS_REDIS_PREFIX ?? 'chatops' },
    audit: deps.audit,
    queues: deps.queues,
    jobs: deps.jobs ?? runJobsOver(deps.queues, { confirmBy }),
    cards: deps.cards ?? (deps.notifier ? cardsOverNotifier(deps.notifier) : cardsOverWebClient(deps.slack)),
    log: deps.logger,
  };
}

/**
 * A window's fate is its request's: call this once a window is cancelled (command, button, or a
 * rejected or expired request). The phase-3 request linked to it, when pending or approved, is
 * cancelled (its card edited, its run and expiry dropped); when running, it stops before its next
 * change and fails with "window cancelled", Roll back offered. Returns what happened to it.
 */
export async function cancelRequestsOfWindow(
  deps: WindowCancelDeps,
  windowId: string,
  user: string,
): Promise<{ id: string; result: 'cancelled' | 'stopping' } | undefined> {
  const core = coreOf(deps);
  const r = await openRequest(core.store, 'phase3');
  if (!r || r.windowId !== windowId) return undefined;
  const res = await windowCancelled(core.store, r, `window \`${windowId}\` cancelled`, user);
  if (res.result === 'none') return undefined;
  await core.audit.record({
    requestId: r.requestId,
    user,
    action: 'migration.window-cancelled',
    target: r.id,
    outcome: 'succeeded',
    detail:
      res.result === 'cancelled' ? `${res.state} -> cancelled` : 'running: stops before its next change',
  });
  if (res.result === 'cancelled') {
    if (res.runJob) await core.jobs.remove(res.runJob);
    await core.jobs.remove(expireJobId(r.id));
  }
  await refreshCard(core, r.id);
  return { id: r.id, result: res.result };
}

/**
 * Whether a window's end may move to `newEnd` as far as /migration is concerned: moving it earlier
 * is refused while a phase-3 run linked to it is in progress (extending is always fine: the run
 * reads the end live). Undefined when allowed, else the reason.
 */
export async function windowEndChangeRefusal(
  deps: WindowCancelDeps,
  windowId: string,
  oldEnd: number,
  newEnd: number,
): Promise<string | undefined> {
  if (newEnd >= oldEnd) return undefined;
  const r = await openRequest(coreOf(deps).store, 'phase3');
  if (
    r?.windowId === windowId &&
    (r.state === 'running' || r.state === 'approved' || r.state === 'rolling-back')
  ) {
    return `phase-3 request \`${r.id}\` is ${r.state} in this window: its end cannot move earlier`;
  }
  return undefined;
}

// ---- phase 4: a cutover and its follow-ups, written together ------------------------------------

/** The jobs that follow a recorded cutover change; run by the command right away, or by the watchdog. */
export async function drainOutboxEntry(core: MigrationCore, e: OutboxEntry): Promise<void> {
  if (e.kind === 'cutover') {
    for (const w of watchTimes(core.config, e.cron, e.cutoverAt)) {
      await core.jobs.add(
        `mig-watch-${e.cron}-${e.cutoverAt}-${w.n}`,
        {
          requestId: e.requestId,
          requester: e.requester,
          op: 'watch',
          cron: e.cron,
          cutoverAt: e.cutoverAt,
          n: w.n,
          day: w.day,
        },
        { runAt: w.at },
      );
    }
  }
  await core.jobs.add(`mig-status-${e.id}`, { requestId: e.requestId, requester: e.requester, op: 'status' });
  await outboxDone(core.store, e.id);
}

/** Records a cutover with its follow-ups (its two watches, the status card) in one step, then queues them. */
export async function cutoverWithFollowUps(core: MigrationCore, c: Cutover, who: Asker): Promise<boolean> {
  const entry: OutboxEntry = {
    id: randomUUID(),
    at: core.clock.now(),
    kind: 'cutover',
    cron: c.cron,
    cutoverAt: c.at,
    requestId: who.requestId,
    requester: who.user,
  };
  return writeWithFollowUps(core, entry, () => recordCutover(core.store, c, entry), 'cutover follow-ups');
}

/** Removes a cutover (rollback 4) with its follow-up (the status card) in one step, then queues it. */
export async function uncutWithFollowUps(core: MigrationCore, cron: string, who: Asker): Promise<boolean> {
  const entry: OutboxEntry = {
    id: randomUUID(),
    at: core.clock.now(),
    kind: 'status',
    requestId: who.requestId,
    requester: who.user,
  };
  return writeWithFollowUps(
    core,
    entry,
    () => removeCutover(core.store, cron, entry),
    'rollback 4 follow-ups',
  );
}

/**
 * A write that stores its follow-up (`entry`, in the outbox) in the same step, then queues it. The
 * watchdog is armed first: if this process dies right after the write, it queues the follow-ups.
 */
async function writeWithFollowUps(
  core: MigrationCore,
  entry: OutboxEntry,
  write: () => Promise<boolean>,
  what: string,
): Promise<boolean> {
  await armWatchdog(core);
  if (!(await write())) return false;
  await drainOutboxEntry(core, entry).catch((err) =>
    core.log.warn({ err: String(err) }, `${what} not queued yet (the watchdog queues them)`),
  );
  return true;
}
