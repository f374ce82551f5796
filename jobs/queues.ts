import { Queue } from 'bullmq';
import type { Config } from '../infra/config.js';
import type { Redis } from '../infra/redis.js';
import { withTimeout } from '../infra/redis.js';
import { type BaseJobData, jobOptions } from './common.js';

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
  close(): Promise<void>;
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
  const get = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: opts.connection, prefix: opts.prefix, defaultJobOptions: defaults });
      queues.set(name, q);
    }
    return q;
  };
  return {
    async enqueue(queue, name, data, o) {
      const job = await withTimeout(
        get(queue).add(name, data, {
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
        const q = get(name);
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
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
