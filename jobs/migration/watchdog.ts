// The watchdog: a BullMQ job scheduler, armed while any /migration operation is in flight (every
// `jobs.lockMs`) or a run waits for its window (every 10 minutes), removed when nothing is open. Each
// pass makes sure nothing is stuck:
// - a request running or rolling back whose job is no longer active (it ended without ending the
//   request, stalled past maxStalledCount, or is gone) is failed like any failed run: step and
//   error on the card, Retry and Roll back, a post in the approvals channel;
// - an approved request whose run job is gone or ended unrun gets a new run job;
// - an instance held by a rollback job that is gone is freed;
// - a pending or approved request whose window was cancelled is cancelled (a cancel path that died
//   before it got there);
// - a card or a failure post that Slack missed is done again;
// - a cutover's follow-ups (its watches, the status card) that were recorded but not queued are queued.

import { getWindow } from '../maintenance/index.js';
import { postFailure, refreshCard } from './card-sync.js';
import type { MigrationResult } from './data.js';
import { expireJobId } from './data.js';
import type { MigrationDeps } from './deps.js';
import { migrationConfig } from './plan.js';
import { cancelRequestsOfWindow, drainOutboxEntry, runJobOptions } from './requests.js';
import { endOp, watchdogEveryMs } from './runner.js';
import {
  freeInstance,
  instanceHolder,
  isFinal,
  latestRequest,
  type MigrationRequest,
  openRequest,
  outbox,
  readRequest,
  redriveRun,
} from './store.js';

/** How long a reserved operation may have no job before the watchdog calls it lost. */
const graceMs = (md: MigrationDeps) => watchdogEveryMs(md);
const SLOW_MS = 600_000;

async function liveJob(md: MigrationDeps, jobId: string | undefined): Promise<'live' | 'ended' | 'missing'> {
  if (!jobId) return 'missing';
  const state = await md.jobs.state(jobId);
  if (state === 'active' || state === 'waiting' || state === 'delayed') return 'live';
  return state === 'missing' ? 'missing' : 'ended';
}

/** Fails an operation whose job is no longer running it (false: it ended meanwhile). */
async function abandon(md: MigrationDeps, r: MigrationRequest, job: string, why: string): Promise<boolean> {
  const fields: Record<string, string | number> =
    r.kind === 'phase3'
      ? r.state === 'rolling-back'
        ? { error: `the rollback stopped without finishing (${why})` }
        : {
            failedStep: r.step,
            error: `the run stopped without finishing at this step (${why}); check the instance, then Retry or Roll back`,
          }
      : {
          error: `the deletion stopped without finishing (${why}); ${r.deleted} of ${r.plan.objects} deleted`,
        };
  if (!(await endOp(md, r, job, undefined, 'failed', fields))) return false;
  md.log.warn({ id: r.id, job, why }, 'watchdog: an operation ended without its request; failed it');
  await md.audit.record({
    requestId: r.requestId,
    user: r.requester,
    action: 'migration.watchdog',
    target: r.id,
    outcome: 'failed',
    detail: `${job}: ${why}`.slice(0, 300),
  });
  return true;
}

/**
 * Slack missed the card or the failure post: again now (false: Slack still did not take them). Not
 * an action of its own for the audit trail: what the card shows was audited when it happened.
 */
async function catchUpSlack(md: MigrationDeps, id: string): Promise<boolean> {
  const r = await readRequest(md.store, id);
  if (!r) return true;
  const card = r.cardVersion >= r.version || (await refreshCard(md, id));
  const post = r.failures <= r.failPosted || (await postFailure(md, id));
  return card && post;
}

/** What one pass found open, and what it did (one short line each, for the audit trail). */
export interface WatchdogPass {
  inFlight: boolean;
  waiting: boolean;
  did: string[];
}

/** One pass; returns what is still open (so the caller can slow down or disarm). */
export async function watchdogPass(md: MigrationDeps): Promise<WatchdogPass> {
  const now = md.clock.now();
  let inFlight = false;
  let waiting = false;
  const did: string[] = [];
  for (const kind of ['phase3', 'cleanup'] as const) {
    const r: MigrationRequest | undefined = await openRequest(md.store, kind);
    if (!r) continue;
    if (r.state === 'running' || r.state === 'rolling-back') {
      const job = r.opJob ?? '';
      const live = await liveJob(md, job);
      const young = now - (r.opSince ?? 0) < graceMs(md);
      if (live === 'ended' || (live === 'missing' && !young)) {
        const failed = await abandon(
          md,
          r,
          job,
          live === 'ended'
            ? 'its job ended (a crash, a stall past maxStalledCount, or an error)'
            : 'its job is gone',
        );
        if (failed)
          did.push(`${r.id}: failed, its ${r.state === 'rolling-back' ? 'rollback' : 'run'} had stopped`);
      } else inFlight = true;
    } else if (r.state === 'approved') {
      const live = await liveJob(md, r.runJob);
      if (live !== 'live' && r.runJob) {
        const next = await redriveRun(md.store, r.id, r.runJob, now);
        if (next) {
          await md.jobs.add(
            next,
            { requestId: r.requestId, requester: r.requester, op: 'run', id: r.id },
            runJobOptions(r),
          );
          did.push(`${r.id}: run job ${next} queued again`);
        }
      }
      const due = r.kind === 'cleanup' || r.plan.windowStart <= now + SLOW_MS;
      if (due) inFlight = true;
      else waiting = true;
    }
    if (r.kind === 'phase3' && (r.state === 'pending' || r.state === 'approved')) {
      const w = await getWindow(md.store, r.windowId);
      if (!w || w.state === 'cancelled') {
        const cancelled = await cancelRequestsOfWindow(
          { ...md, redis: md.store.redis, prefix: md.store.prefix, logger: md.log },
          r.windowId,
          'chatops',
        );
        if (cancelled) did.push(`${r.id}: ${cancelled.result}, its window was cancelled`);
      }
      if ((await md.jobs.state(expireJobId(r.id))) === 'missing') {
        await md.jobs.add(
          expireJobId(r.id),
          { requestId: r.requestId, requester: r.requester, op: 'expire', id: r.id },
          { runAt: r.expiresAt },
        );
        did.push(`${r.id}: expiry job queued again`);
      }
    }
    if (!(await catchUpSlack(md, r.id))) inFlight = true;
  }
  // A request that just ended (done, rolled back, a failed cleanup) may still owe its card or post.
  for (const kind of ['phase3', 'cleanup'] as const) {
    const last = await latestRequest(md.store, kind);
    if (last && isFinal(kind, last.state) && !(await catchUpSlack(md, last.id))) inFlight = true;
  }
  // An instance held by a rollback no request owns, whose job is gone.
  const m = md.config.migration ? migrationConfig(md.config) : undefined;
  if (m) {
    const holder = await instanceHolder(md.store, m.instanceId);
    if (holder) {
      const live = await liveJob(md, holder.job);
      const owned = (await openRequest(md.store, 'phase3'))?.opJob === holder.job;
      if (!owned && (live === 'ended' || (live === 'missing' && now - holder.since >= graceMs(md)))) {
        await freeInstance(md.store, m.instanceId, holder.job);
        md.log.warn({ job: holder.job }, 'watchdog: freed an instance held by a rollback that is gone');
        did.push(`instance freed from ${holder.job}`);
      } else inFlight = true;
    }
  }
  for (const e of await outbox(md.store)) {
    if (now - e.at < graceMs(md)) {
      inFlight = true;
      continue;
    }
    await drainOutboxEntry(md, e);
    did.push(`${e.kind} follow-ups queued`);
  }
  return { inFlight, waiting, did };
}

/** The scheduled job: a pass, then the scheduler's pace set for what is still open, or removed. */
export async function runWatchdog(md: MigrationDeps): Promise<MigrationResult> {
  const open = await watchdogPass(md);
  const fast = watchdogEveryMs(md);
  const pace = (o: WatchdogPass) => (o.inFlight ? fast : o.waiting ? Math.max(fast, SLOW_MS) : undefined);
  const want = pace(open);
  const now = await md.jobs.armedEvery();
  if (want !== undefined) {
    if (now !== want) await md.jobs.arm(want);
  } else if (now !== undefined) {
    await md.jobs.disarm();
    // Something may have been armed for between the pass and the removal: look once more.
    const second = await watchdogPass(md);
    open.did.push(...second.did);
    const again = pace(second);
    if (again !== undefined) await md.jobs.arm(again);
  }
  const state = open.inFlight ? 'watching' : open.waiting ? 'waiting' : 'idle';
  // A pass that did nothing leaves no audit row (it runs every jobs.lockMs while a run is in flight).
  return {
    op: 'watchdog',
    outcome: open.did.length ? `${state}; ${open.did.join('; ')}`.slice(0, 300) : state,
    quiet: open.did.length === 0,
  };
}
