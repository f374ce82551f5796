// What /migration's code needs of the world, as small interfaces: the bot (a click) and the workers
// (a job) build them from their own deps; the model-based tests give fakes for the job queue, Slack
// and AWS, over the real Redis.
import type { AuditLog } from '../../infra/audit.js';
import type { Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config.js';
import type { Logger } from '../../infra/logger.js';
import type { Blocks, MessageRef, Notifier, OnceKey, OutgoingMessage } from '../../infra/notifier.js';
import type { Queues } from '../queues.js';
import type { MigrationAws } from './aws.js';
import { MIGRATION_QUEUE, type MigrationData, WATCHDOG_ID } from './data.js';
import type { MigrationStore } from './store.js';

/** A migration job's state as BullMQ reports it ('missing': no job with that id). */
export type RunJobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'missing';

/** The migration queue, as the request flows use it. */
export interface RunJobs {
  /**
   * Adds a job under a new id. 'queued': it is in the queue (or was already, waiting, delayed or
   * active); 'finished': that id already ran to its end, so nothing will run.
   */
  add(
    jobId: string,
    data: MigrationData,
    opts?: { runAt?: number; attempts?: number },
  ): Promise<'queued' | 'finished'>;
  remove(jobId: string): Promise<void>;
  state(jobId: string): Promise<RunJobState>;
  /** Runs the watchdog every `everyMs` from now on (a BullMQ job scheduler). */
  arm(everyMs: number): Promise<void>;
  disarm(): Promise<void>;
  /** The watchdog's pace now, or undefined when it is not armed. */
  armedEvery(): Promise<number | undefined>;
}

/** Slack, as far as the cards and their threads need it. */
export interface CardSink {
  update(ref: MessageRef, text: string, blocks?: Blocks): Promise<void>;
  /** Exactly once under `once.key` (workers only; a click never posts). */
  postOnce?(msg: OutgoingMessage, once: OnceKey): Promise<MessageRef>;
}

/** What a click and a job alike need. */
export interface MigrationCore {
  config: Config;
  clock: Clock;
  store: MigrationStore;
  audit: AuditLog;
  /** Every queue (the maintenance window's notices too). */
  queues: Queues;
  jobs: RunJobs;
  cards: CardSink;
  log: Logger;
}

/** What a job needs besides: AWS, Slack posts, and a way to wait. */
export interface MigrationDeps extends MigrationCore {
  aws: MigrationAws;
  notifier: Notifier;
  /** Waits between polls (the model-based tests move their clock instead). */
  sleep(ms: number): Promise<void>;
}

/** RunJobs over the BullMQ queues. `confirmBy`: the ack's deadline when a click adds the job. */
export function runJobsOver(queues: Queues, opts: { confirmBy?: number } = {}): RunJobs {
  return {
    async add(jobId, data, o = {}) {
      const res = await queues.enqueue(MIGRATION_QUEUE, data.op, data, {
        jobId,
        ...(o.runAt !== undefined ? { runAt: o.runAt } : {}),
        ...(o.attempts ? { attempts: o.attempts } : {}),
        ...(opts.confirmBy ? { confirmBy: opts.confirmBy } : {}),
      });
      return res.status === 'queued' ? 'queued' : 'finished';
    },
    async remove(jobId) {
      await queues
        .queue(MIGRATION_QUEUE)
        .remove(jobId)
        .catch(() => 0); // an active or locked job stays; whatever it runs checks the state first
    },
    async state(jobId) {
      const s = await queues.queue(MIGRATION_QUEUE).getJobState(jobId);
      if (s === 'completed' || s === 'failed' || s === 'active' || s === 'delayed') return s;
      if (s === 'waiting' || s === 'prioritized' || s === 'waiting-children') return 'waiting';
      return 'missing';
    },
    async arm(everyMs) {
      await queues.queue(MIGRATION_QUEUE).upsertJobScheduler(
        WATCHDOG_ID,
        { every: everyMs },
        {
          name: 'watchdog',
          data: { requestId: WATCHDOG_ID, requester: 'chatops', op: 'watchdog' },
          opts: { attempts: 1, removeOnComplete: true, removeOnFail: 100 },
        },
      );
    },
    async disarm() {
      await queues.queue(MIGRATION_QUEUE).removeJobScheduler(WATCHDOG_ID);
    },
    async armedEvery() {
      const s = await queues.queue(MIGRATION_QUEUE).getJobScheduler(WATCHDOG_ID);
      return s?.every ? Number(s.every) : undefined;
    },
  };
}

/** A CardSink that edits through the bot's Web API client (a click). */
export function cardsOverWebClient(
  client:
    | {
        chat: {
          update(args: { channel: string; ts: string; text: string; blocks?: Blocks }): Promise<unknown>;
        };
      }
    | undefined,
): CardSink {
  return {
    async update(ref, text, blocks) {
      if (!client) return;
      await client.chat.update({ channel: ref.channel, ts: ref.ts, text, ...(blocks ? { blocks } : {}) });
    },
  };
}

/** A CardSink over a worker's Notifier. */
export function cardsOverNotifier(notifier: Notifier): CardSink {
  return {
    update: (ref, text, blocks) => notifier.update(ref, text, blocks),
    postOnce: (msg, once) => notifier.postOnce(msg, once),
  };
}
