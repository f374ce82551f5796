import type { JobsOptions, Queue } from 'bullmq';
import type { Config } from '../infra/config.js';
import type { Redis } from '../infra/redis.js';
import { withTimeout } from '../infra/redis.js';
import type { BaseJobData } from './common.js';

export interface EnqueueOptions {
  /** Deterministic id: adding the same id twice runs once. BullMQ forbids ':' in it. */
  jobId: string;
  /** While a job with this key is waiting or running, another add is ignored. */
  dedupKey?: string;
}

export interface Enqueued {
  id: string;
  /** True when an equivalent job was already queued or running, so nothing new was added. */
  duplicate: boolean;
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

/** The bot's side of the queues: adding jobs and listing recent ones. */
export interface Queues {
  enqueue<D extends BaseJobData>(
    queue: string,
    name: string,
    data: D,
    opts: EnqueueOptions,
  ): Promise<Enqueued>;
  recent(limit: number): Promise<JobSummary[]>;
  /** Loads BullMQ ahead of the first command (the bot reports ready before it is needed). */
  warm(): Promise<void>;
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

/** BullMQ queues on one shared connection, created on first use. */
export function createQueues(opts: {
  connection: Redis;
  prefix: string;
  config: Config;
  names: string[];
  addTimeoutMs?: number;
}): Queues {
  const queues = new Map<string, Queue>();
  const defaults = jobOptions(opts.config);
  // BullMQ is imported on first use, so it is not on the start-up path of a bot process.
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
    async enqueue(queue, name, data, o) {
      // The map lookup first: the hot path skips get()'s extra await once the queue exists.
      const q = queues.get(queue) ?? (await get(queue));
      const job = await withTimeout(
        q.add(name, data, {
          jobId: o.jobId,
          ...(o.dedupKey ? { deduplication: { id: o.dedupKey } } : {}),
        }),
        opts.addTimeoutMs ?? 2_000,
        `adding a ${queue} job`,
      );
      const id = String(job.id);
      return { id, duplicate: id !== o.jobId };
    },
    async recent(limit) {
      const all: JobSummary[] = [];
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
      return all.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
    },
    async warm() {
      await load();
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
