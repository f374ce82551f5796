// Reads the bot's BullMQ queues (this run's prefix only) to tell when the work a script started is over.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, Queue } from 'bullmq';
import { createRedis } from '../infra/redis.js';
import { formatDuration } from '../infra/times.js';
import { QUEUE_NAMES } from '../jobs/registry.js';

export interface JobLine {
  queue: string;
  id: string;
  name: string;
  state: string;
  /** Why it failed, or what it is waiting for. */
  detail: string;
  /** For a delayed job: when it runs (epoch ms). */
  runAt?: number;
}

export interface JobsSnapshot {
  /** Waiting, running, or delayed for a retry after a failed attempt: not done yet. */
  busy: JobLine[];
  /** Parked until a later status check of a long AWS process (e.g. a Data Pipeline run): settled for now. */
  watching: JobLine[];
  /** Queued to run later and not started yet (e.g. a maintenance window's reminder, start and end notices). */
  scheduled: JobLine[];
  /** Failed after using every attempt: an error in a script. */
  failedUnexpectedly: JobLine[];
  /** Stopped at once for a reason the user can fix (shown to them); an outcome, not an error. */
  stopped: JobLine[];
  completed: number;
}

export interface JobsWatch {
  snapshot(): Promise<JobsSnapshot>;
  /** Polls until nothing is busy or `timeoutMs` passes. */
  waitSettled(timeoutMs: number): Promise<JobsSnapshot & { timedOut: boolean }>;
  close(): Promise<void>;
}

function seconds(ms: number): string {
  return ms >= 90_000 ? `${Math.round(ms / 60_000)} min` : `${Math.max(0, Math.round(ms / 1000))} s`;
}

const NOTICE: Record<string, string> = { start: 'start notice', end: 'completion notice' };

function label(job: Job): string {
  const data = job.data as {
    table?: string;
    iamUser?: string;
    account?: string;
    windowId?: string;
    notice?: string;
    lead?: number;
    op?: string;
    id?: string;
    kind?: string;
    jobs?: string[];
    reason?: string;
  };
  if (data.windowId && data.notice) {
    const what =
      data.notice === 'remind' && data.lead !== undefined
        ? `reminder (${formatDuration(data.lead)} before)`
        : (NOTICE[data.notice] ?? data.notice);
    return `${data.windowId} ${what}`;
  }
  if (data.table) return data.table;
  if (data.iamUser) return `${data.iamUser}@${data.account ?? '?'}`;
  // /migration: run p3-…, expire p3-…, status; the dump checks: check <jobs> (why).
  if (data.op) return data.id ? `${data.op} ${data.id}` : data.op;
  if (data.kind === 'check' && data.jobs) return `check ${data.jobs.join(', ')} (${data.reason ?? '?'})`;
  return job.name;
}

/** A watcher over every queue of `jobs/registry.ts` under `prefix`. */
export function watchJobs(redisUrl: string, prefix: string, names: string[] = QUEUE_NAMES): JobsWatch {
  const connection = createRedis(redisUrl, { name: 'playground-jobs' });
  connection.on('error', () => {});
  const queues = names.map((name) => new Queue(name, { connection, prefix }));

  const snapshot = async (): Promise<JobsSnapshot> => {
    const snap: JobsSnapshot = {
      busy: [],
      watching: [],
      scheduled: [],
      failedUnexpectedly: [],
      stopped: [],
      completed: 0,
    };
    const now = Date.now();
    for (const q of queues) {
      const counts = await q.getJobCounts('completed');
      snap.completed += counts.completed ?? 0;
      const jobs = (await q.getJobs(
        ['active', 'waiting', 'prioritized', 'waiting-children', 'delayed', 'failed'],
        0,
        500,
      )) as Job[];
      for (const job of jobs) {
        if (!job?.id) continue;
        const state = await job.getState();
        const line: JobLine = { queue: q.name, id: job.id, name: label(job), state, detail: '' };
        if (state === 'failed') {
          const attempts = job.opts.attempts ?? 1;
          const early =
            job.attemptsMade < attempts ||
            (job.stacktrace ?? []).some((s) => s.startsWith('UnrecoverableError'));
          line.detail = job.failedReason ?? '';
          if (early) snap.stopped.push(line);
          else {
            line.detail = `after ${job.attemptsMade} attempts: ${line.detail}`;
            snap.failedUnexpectedly.push(line);
          }
        } else if (state === 'delayed' && !job.failedReason) {
          // BullMQ scores delayed jobs as run-at-ms × 0x1000 plus a counter.
          const score = await connection.zscore(`${prefix}:${q.name}:delayed`, job.id);
          const runAt = score ? Math.floor(Number(score) / 0x1000) : undefined;
          if (runAt) line.runAt = runAt;
          if (job.repeatJobKey) {
            // The next run of a job scheduler (e.g. the dump checks' cron): the bot's own clock, always there.
            continue;
          }
          if (!job.processedOn) {
            // Queued for later and never started: a scheduled notice, not work in progress.
            line.detail = runAt ? `due in ${seconds(runAt - now)}` : 'scheduled';
            snap.scheduled.push(line);
          } else {
            // Parked by the job itself (JobContext.delayUntil), not backing off after a failure.
            line.detail = runAt ? `next check in ${seconds(runAt - now)}` : 'parked';
            snap.watching.push(line);
          }
        } else {
          if (state === 'delayed') line.detail = `retrying after: ${job.failedReason}`;
          snap.busy.push(line);
        }
      }
    }
    snap.scheduled.sort((a, b) => (a.runAt ?? 0) - (b.runAt ?? 0));
    return snap;
  };

  return {
    snapshot,
    async waitSettled(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const snap = await snapshot();
        if (snap.busy.length === 0) return { ...snap, timedOut: false };
        if (Date.now() >= deadline) return { ...snap, timedOut: true };
        await sleep(250);
      }
    },
    async close() {
      await Promise.all(queues.map((q) => q.close()));
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
