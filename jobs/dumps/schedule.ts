// When dump checks run: one BullMQ job scheduler per configured dump job fires a `tick` on its cron in
// the configured time zone; the tick queues the `check` as a delayed job at the cron time plus the
// grace, with an id made of the job and the fire time, so each fire is checked once however many
// workers run (BullMQ itself creates one tick per fire: `repeat:<scheduler>:<millis>`).
import type { Job } from 'bullmq';
import type { WorkerDeps } from '../common.js';
import {
  type CheckReason,
  DUMPS_QUEUE,
  type DumpsData,
  SCHEDULER_PREFIX,
  SCHEDULER_USER,
  schedulerId,
} from './data.js';

/** The cron time a tick stands for: BullMQ names scheduler jobs `repeat:<scheduler id>:<millis>`. */
export function fireTimeOf(job: Pick<Job, 'id' | 'timestamp' | 'opts'>): number {
  const m = /:(\d+)$/.exec(job.id ?? '');
  if (m) return Number(m[1]);
  return (job.opts as { prevMillis?: number }).prevMillis ?? job.timestamp;
}

/**
 * Makes the queue's job schedulers match the config: one per dump job with its cron in the time zone;
 * changed ones are upserted, ones for jobs no longer configured removed. Run at every worker start.
 */
export async function syncDumpSchedulers(
  deps: WorkerDeps,
): Promise<{ upserted: string[]; removed: string[] }> {
  const q = deps.queues.queue(DUMPS_QUEUE);
  const zone = deps.config.timezone;
  const wanted = new Map((deps.config.dumps?.jobs ?? []).map((j) => [schedulerId(j.name), j]));
  const existing = await q.getJobSchedulers(0, -1, true);
  const removed: string[] = [];
  for (const s of existing) {
    if (s.key.startsWith(SCHEDULER_PREFIX) && !wanted.has(s.key)) {
      await q.removeJobScheduler(s.key);
      removed.push(s.key);
    }
  }
  const upserted: string[] = [];
  for (const [id, j] of wanted) {
    const s = existing.find((e) => e.key === id);
    if (s && s.pattern === j.cron && s.tz === zone) continue;
    const data: DumpsData = { kind: 'tick', job: j.name, requestId: id, requester: SCHEDULER_USER };
    await q.upsertJobScheduler(id, { pattern: j.cron, tz: zone }, { name: 'tick', data });
    upserted.push(id);
  }
  return { upserted, removed };
}

/**
 * Queues the check of `job`'s fire at `fireAt` (the scheduler's work: a tick's check at the end of the
 * grace, a re-check at the end of a maintenance window) to run at `runAt`, once for `jobId`.
 */
export async function queueCheckAt(
  deps: WorkerDeps,
  jobId: string,
  check: { job: string; reason: CheckReason; fireAt: number; runAt: number },
): Promise<void> {
  await deps.queues.enqueue(
    DUMPS_QUEUE,
    jobId,
    {
      kind: 'check',
      jobs: [check.job],
      reason: check.reason,
      fireAt: check.fireAt,
      requestId: jobId,
      requester: SCHEDULER_USER,
    },
    { jobId, runAt: check.runAt },
  );
}
