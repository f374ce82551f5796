import type { JobsOptions, Queue } from 'bullmq';
import type { Config } from '../infra/config.js';
import type { Redis } from '../infra/redis.js';
import type { StreamBatcher } from '../infra/stream-batcher.js';
import type { BaseJobData } from './common.js';
import { pendingIntake, submitToIntake } from './intake.js';

export interface EnqueueOptions {
  /** Deterministic id: adding the same id twice runs once. BullMQ forbids ':' in it. */
  jobId: string;
  /** While a job with this key is waiting or running, another add is ignored. */
  dedupKey?: string;
}

export interface Enqueued {
  /** The job id it will have in its queue. */
  id: string;
  /**
   * Resolves once the command is in Redis (rejects on a Redis error or after the timeout). The
   * Slack ack need not wait for it: the dispatcher answers, then awaits this and follows up on failure.
   * A duplicate of a job still waiting or running is found by the worker that moves it, which
   * tells the requester.
   */
  written: Promise<void>;
}

export interface JobSummary {
  queue: string;
  id: string;
  name: string;
  state: string;
  requester: string;
  requestId: string;
  createdAt: number;
  attemptsMade: number;
  failedReason?: string;
}

/** The bot's side of the queues: submitting jobs (through the intake) and listing recent ones. */
export interface Queues {
  enqueue<D extends BaseJobData>(queue: string, name: string, data: D, opts: EnqueueOptions): Enqueued;
  recent(limit: number): Promise<JobSummary[]>;
  close(): Promise<void>;
}

/** Retry and retention policy shared by every queue; the numbers come from `jobs` in config. */
export function jobOptions(config: Config): JobsOptions {
  return {
    attempts: config.jobs.attempts,
    backoff: { type: 'exponential', delay: config.jobs.backoffMs },
    removeOnComplete: { count: config.jobs.keepCompleted },
    removeOnFail: { count: config.jobs.keepFailed },
  };
}

const LISTED_STATES = ['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/** Submits through the intake; lists from BullMQ queues on one shared connection, created on first use. */
export function createQueues(opts: {
  connection: Redis;
  /** How intake entries reach Redis (batched with the audit entries). */
  streams: StreamBatcher;
  prefix: string;
  config: Config;
  names: string[];
}): Queues {
  const queues = new Map<string, Queue>();
  const defaults = jobOptions(opts.config);
  // BullMQ is imported on first listing only: a bot process never needs it to take commands.
  let bullmq: Promise<typeof import('bullmq')> | undefined;
  const load = () => {
    bullmq ??= import('bullmq');
    return bullmq;
  };
  const get = async (name: string) => {
    let q = queues.get(name);
    if (!q) {
      const { Queue } = await load();
      q =
        queues.get(name) ??
        new Queue(name, { connection: opts.connection, prefix: opts.prefix, defaultJobOptions: defaults });
      queues.set(name, q);
    }
    return q;
  };
  return {
    enqueue(queue, name, data, o) {
      // The batcher rejects it if Redis has not confirmed within 2 s.
      const written = submitToIntake(opts.streams, opts.prefix, {
        queue,
        name,
        jobId: o.jobId,
        dedupKey: o.dedupKey,
        data,
        at: Date.now(),
      });
      return { id: o.jobId, written };
    },
    async recent(limit) {
      await opts.streams.flush(); // so the caller sees the commands this process just took
      const all: JobSummary[] = [];
      // Commands no worker has picked up yet (none running, or all busy moving others).
      const received: JobSummary[] = [];
      for (const e of await pendingIntake(opts.connection, opts.prefix, limit)) {
        received.push({
          queue: e.queue,
          id: e.jobId,
          name: e.name,
          state: 'received',
          requester: e.data.requester ?? '?',
          requestId: e.data.requestId ?? '?',
          createdAt: e.at,
          attemptsMade: 0,
        });
      }
      for (const name of opts.names) {
        const q = await get(name);
        const jobs = await q.getJobs([...LISTED_STATES], 0, limit - 1, false);
        for (const j of jobs) {
          if (!j?.id) continue;
          const data = j.data as Partial<BaseJobData>;
          all.push({
            queue: name,
            id: j.id,
            name: j.name,
            state: await j.getState(),
            requester: data.requester ?? '?',
            requestId: data.requestId ?? '?',
            createdAt: j.timestamp,
            attemptsMade: j.attemptsMade,
            failedReason: j.failedReason || undefined,
          });
        }
      }
      // An entry moved a moment ago is in both: the queue's state is the newer one.
      const queued = new Set(all.map((j) => j.id));
      all.push(...received.filter((r) => !queued.has(r.id)));
      return all.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
