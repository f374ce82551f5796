import { type JobsOptions, Queue } from 'bullmq';
import { type Clock, systemClock } from '../infra/clock.js';
import type { Config } from '../infra/config.js';
import { type Redis, withTimeout } from '../infra/redis.js';
import type { BaseJobData } from './common.js';
import { type JobDataOf, QUEUE_NAMES, type QueueName } from './registry.js';

export interface EnqueueOptions {
  /** Deterministic id: adding the same id twice runs once. BullMQ forbids ':' in it. */
  jobId: string;
  /** While a job with this key is waiting or running, another add is answered as a duplicate. */
  dedupKey?: string;
  /**
   * With `dedupKey`: the key holds for this long from the first add (ms), even after that job has
   * finished (BullMQ's throttle mode), so a repeat of a command whose job is already done is still a
   * duplicate. Without it, the key holds while the job is waiting, delayed or active.
   */
  dedupTtlMs?: number;
  /** Run no earlier than this (epoch ms): a delayed job. */
  runAt?: number;
  /** Attempts for this job (default: `jobs.attempts`): 1 for steps a human must decide to retry. */
  attempts?: number;
  /** Give up waiting for Redis at this time (epoch ms); default `confirmMs` from now. */
  confirmBy?: number;
}

/** Redis did not confirm an add in time: the job may or may not be in its queue. */
export class NotConfirmedError extends Error {}

/** A job that has run to its end: BullMQ keeps its id, and an add with that id adds nothing. */
export type FinishedState = 'completed' | 'failed';

/**
 * What Redis confirmed. `queued`: a new job was added, or the job with that id already exists and is
 * waiting, delayed, prioritized or active (so it will run, or runs now). `duplicate`: another job
 * holds the dedup key. `finished`: the job with that id already completed or failed, so nothing will
 * run; say so, never "queued" (`existingId` is that job, as for a duplicate).
 */
export type Enqueued =
  | { status: 'queued'; id: string }
  | { status: 'duplicate'; id: string; existingId: string }
  | { status: 'finished'; id: string; existingId: string; state: FinishedState };

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

/** The queues, typed by the registry: adding jobs (confirmed by Redis) and listing recent ones. */
export interface Queues {
  /**
   * Resolves once Redis has the job (or names the duplicate it already has); rejects on a Redis
   * error, or with NotConfirmedError when Redis has not answered within `confirmMs`.
   */
  enqueue<Q extends QueueName>(
    queue: Q,
    name: string,
    data: JobDataOf<Q>,
    opts: EnqueueOptions,
  ): Promise<Enqueued>;
  /** The BullMQ queue itself, for the few callers that manage jobs (e.g. removing a pending notice). */
  queue(name: QueueName): Queue;
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

/** BullMQ queues of every registered kind on one shared connection, created on first use. */
export function createQueues(opts: {
  connection: Redis;
  prefix: string;
  config: Config;
  clock?: Clock;
  /** How long an add may wait for Redis (default 2 s: Slack needs the ack within 3). */
  confirmMs?: number;
}): Queues {
  const clock = opts.clock ?? systemClock;
  const confirmMs = opts.confirmMs ?? 2_000;
  const queues = new Map<string, Queue>();
  const defaults = jobOptions(opts.config);
  const get = (name: QueueName): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: opts.connection, prefix: opts.prefix, defaultJobOptions: defaults });
      queues.set(name, q);
    }
    return q;
  };
  return {
    async enqueue(queue, name, data, o) {
      const delay = o.runAt === undefined ? 0 : Math.max(0, o.runAt - clock.now());
      const q = get(queue);
      // Sent before the add on the same connection and in the same write (no round trip of its own):
      // an id whose job has already finished is not added again by BullMQ, and must not be reported
      // as queued.
      const finishedOn = opts.connection.hget(q.toKey(o.jobId), 'finishedOn');
      const added = q.add(name, data, {
        jobId: o.jobId,
        ...(delay > 0 ? { delay } : {}),
        ...(o.attempts ? { attempts: o.attempts } : {}),
        ...(o.dedupKey
          ? { deduplication: { id: o.dedupKey, ...(o.dedupTtlMs ? { ttl: o.dedupTtlMs } : {}) } }
          : {}),
      });
      const both = Promise.all([finishedOn, added]);
      const wait = o.confirmBy === undefined ? confirmMs : Math.max(0, o.confirmBy - clock.now());
      const [wasFinished, job] = await withTimeout(both, wait, `adding job ${o.jobId}`).catch(
        (err: Error) => {
          both.catch(() => undefined); // it may still settle; nobody waits for it any more
          throw /timed out/.test(err.message) ? new NotConfirmedError(err.message) : err;
        },
      );
      const id = String(job.id);
      if (id !== o.jobId) return { status: 'duplicate', id: o.jobId, existingId: id };
      if (wasFinished === null) return { status: 'queued', id };
      // The id was taken by a job that had finished when the add arrived; unless it was retried since,
      // nothing new will run. Rare, so this second look costs nothing on the usual path.
      const state = await withTimeout(q.getJobState(id), Math.max(100, wait), `the state of job ${id}`).catch(
        (err: Error) => {
          throw /timed out/.test(err.message) ? new NotConfirmedError(err.message) : err;
        },
      );
      return state === 'completed' || state === 'failed'
        ? { status: 'finished', id, existingId: id, state }
        : { status: 'queued', id };
    },
    queue: get,
    async recent(limit) {
      const all: JobSummary[] = [];
      for (const name of QUEUE_NAMES) {
        const jobs = await get(name).getJobs([...LISTED_STATES], 0, limit - 1, false);
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
