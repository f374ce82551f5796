import { DelayedError, type Job, type Processor, UnrecoverableError } from 'bullmq';
import type { AuditLog } from '../infra/audit.js';
import type { AwsClients } from '../infra/aws.js';
import type { Clock } from '../infra/clock.js';
import type { Config } from '../infra/config.js';
import type { Env } from '../infra/env.js';
import { ChatopsError, UserError } from '../infra/errors.js';
import type { KeyDirectory } from '../infra/key-directory.js';
import type { Logger } from '../infra/logger.js';
import type { Mailer } from '../infra/mailer.js';
import type { Metrics } from '../infra/metrics.js';
import type { Blocks, MessageRef, Notifier } from '../infra/notifier.js';
import type { Encryptor } from '../infra/pgp.js';
import type { Redis } from '../infra/redis.js';
import type { Queues } from './queues.js';

/** What every job carries: who asked, under which request id, and where its status message is. */
export interface BaseJobData {
  requestId: string;
  requester: string;
  /** The status message the worker posted and keeps editing; saved so retries edit the same one. */
  report?: MessageRef;
  /** How many times the job parked itself for another try (`JobContext.retryLater`). */
  retries?: number;
}

/** Everything a processor may use. Built once per worker process. */
export interface WorkerDeps {
  config: Config;
  env: Env;
  logger: Logger;
  audit: AuditLog;
  notifier: Notifier;
  aws: AwsClients;
  mailer: Mailer;
  encryptor: Encryptor;
  keys: KeyDirectory;
  /** Shared Redis connection (not the workers' blocking ones), for state that jobs share. */
  redis: Redis;
  clock: Clock;
  /** The queues, for jobs that schedule other jobs (e.g. a window's notices). */
  queues: Queues;
  /** Prefix for every Redis key of this deployment (CHATOPS_REDIS_PREFIX). */
  prefix: string;
  /** This process's Prometheus metrics. */
  metrics: Metrics;
  /**
   * Something the App Home tab shows may have changed (a job ran): asks for its debounced refresh.
   * Never throws; absent when the process has no Home publisher.
   */
  homeChanged?: () => void;
  /** Publishes the App Home tab of these people (the refresh job uses it). */
  publishHome?: (users: string[]) => Promise<void>;
}

export interface JobContext<D extends BaseJobData> {
  deps: WorkerDeps;
  log: Logger;
  /** Posts the job's status message to the requester, or edits it when it exists. */
  report(text: string, blocks?: Blocks): Promise<void>;
  /** Merges `patch` into the job's data in Redis, so the next attempt sees it. Never pass a secret. */
  save(patch: Partial<D>): Promise<void>;
  /** True when a failure now ends the job (last attempt). */
  isLastAttempt(): boolean;
  /** The worker's lock on this job; BullMQ needs it to move the job to delayed. */
  token?: string;
  /**
   * Parks the job until `timestamp` (epoch ms) without using an attempt, then runs it again from
   * its saved data, on whichever worker is up then: waits that survive restarts. Never returns.
   */
  delayUntil(timestamp: number): Promise<never>;
  /**
   * For work that must not be given up whatever `jobs.attempts` says (a notice during a Slack outage):
   * logs the failure and parks the job for another try after `jobs.backoffMs` doubled per try, at most
   * `capMs`, without using an attempt. The job decides itself when its work is no longer relevant.
   */
  retryLater(err: unknown, capMs: number): Promise<never>;
}

/** A job kind: one queue, its audit action, and its work. */
export interface JobKind<D extends BaseJobData, R> {
  queue: string;
  action: string;
  describe(data: D): string;
  run(job: Job<D, R>, ctx: JobContext<D>): Promise<R>;
  /** Called once when the job has failed for good, after the requester's message says so. */
  onFinalFailure?(job: Job<D, R>, ctx: JobContext<D>, err: unknown): Promise<void>;
  /** Short outcome for the audit trail (no secrets). */
  summarize?(result: R): string;
  /** Jobs one worker process runs at once for this kind (default: the workers' concurrency, 4). */
  concurrency?: number;
  /** Run once when a worker for this kind starts (e.g. to upsert job schedulers from the config). */
  onWorkerStart?(deps: WorkerDeps): Promise<void>;
  /**
   * Housekeeping with nobody behind it (the heartbeat, Home refreshes): no audit entry, no log line
   * per job, and it does not count as a change the Home tab shows.
   */
  housekeeping?: boolean;
  /**
   * A job that succeeded and did nothing worth a trail (a watchdog pass that found everything in
   * order): no audit entry, no "job succeeded" line, no Home refresh. Failures are always audited.
   */
  quietWhen?(result: R): boolean;
}

/** Wraps a JobKind into a BullMQ processor with per-job logging, status reporting and audit. */
export function makeProcessor<D extends BaseJobData, R>(
  kind: JobKind<D, R>,
  deps: WorkerDeps,
): Processor<D, R> {
  return async (job, token) => {
    const log = deps.logger.child({ requestId: job.data.requestId, queue: kind.queue, jobId: job.id });
    const ctx: JobContext<D> = {
      deps,
      log,
      async report(text, blocks) {
        try {
          if (job.data.report) {
            await deps.notifier.update(job.data.report, text, blocks);
          } else {
            const ref = await deps.notifier.post(job.data.requester, text, blocks);
            await ctx.save({ report: ref } as Partial<D>);
          }
        } catch (err) {
          // A Slack outage must not fail the AWS work; the audit trail still has the outcome.
          log.warn({ err: errorSummary(err) }, 'could not post the status message');
        }
      },
      async save(patch) {
        await job.updateData({ ...job.data, ...patch });
      },
      isLastAttempt: () => job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      token,
      async delayUntil(timestamp) {
        await job.moveToDelayed(timestamp, token);
        throw new DelayedError();
      },
      async retryLater(err, capMs) {
        const retries = job.data.retries ?? 0;
        const delayMs = Math.min(capMs, deps.config.jobs.backoffMs * 2 ** Math.min(retries, 30));
        log.warn(
          {
            err: errorSummary(err),
            attempt: job.attemptsMade + 1,
            retry: retries + 1,
            delayMs,
            parked: true,
          },
          'job attempt failed',
        );
        await ctx.save({ retries: retries + 1 } as Partial<D>);
        return ctx.delayUntil(deps.clock.now() + delayMs);
      },
    };
    const target = kind.describe(job.data);
    const started = deps.clock.now();
    const seconds = () => Math.max(0, deps.clock.now() - started) / 1000;
    const quiet = kind.housekeeping === true;
    const audit = (outcome: 'succeeded' | 'failed', detail?: string) =>
      deps.audit.record({
        requestId: job.data.requestId,
        user: job.data.requester,
        action: kind.action,
        target,
        outcome,
        detail,
      });
    if (!quiet) log.info({ attempt: job.attemptsMade + 1, target }, 'job started');
    try {
      const result = await kind.run(job, ctx);
      const silent = quiet || kind.quietWhen?.(result) === true;
      if (!silent) {
        await audit('succeeded', kind.summarize?.(result));
        log.info({ target }, 'job succeeded');
      }
      deps.metrics.jobDone(kind.queue, 'completed', seconds());
      if (!silent) deps.homeChanged?.();
      return result;
    } catch (err) {
      // A parked job is waiting, not failing: no audit, no retry count.
      if (err instanceof DelayedError) {
        deps.metrics.jobDone(kind.queue, 'parked', seconds());
        throw err;
      }
      const final = err instanceof UserError || err instanceof UnrecoverableError || ctx.isLastAttempt();
      log.warn({ err: errorSummary(err), final, attempt: job.attemptsMade + 1 }, 'job attempt failed');
      deps.metrics.jobDone(kind.queue, final ? 'failed' : 'retrying', seconds());
      if (!final) throw err;
      deps.metrics.jobFailedFinally(kind.queue);
      if (!quiet) {
        await audit('failed', errorCode(err));
        deps.homeChanged?.();
      }
      await kind.onFinalFailure?.(job, ctx, err);
      if (err instanceof UserError) throw new UnrecoverableError(`${err.code}: ${err.message}`);
      throw err;
    }
  };
}

/** A log-safe summary of an error: name, code and message, never the raw object (it may hold request data). */
export function errorSummary(err: unknown): { name: string; code?: string; message: string } {
  if (err instanceof ChatopsError) return { name: err.name, code: err.code, message: err.message };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'unknown', message: String(err) };
}

function errorCode(err: unknown): string {
  if (err instanceof ChatopsError) return err.code;
  return err instanceof Error ? err.name : 'unknown';
}

/**
 * Runs `work` while calling `renew` every `everyMs`: keeps a claim's lease alive while the work
 * waits (e.g. out a rate limit), so nobody takes it over from a worker that is still at it.
 */
export async function whileRenewing<T>(
  renew: () => Promise<unknown>,
  everyMs: number,
  work: () => Promise<T>,
  log?: Logger,
): Promise<T> {
  const timer = setInterval(() => {
    renew().catch((err: unknown) => log?.warn({ err: errorSummary(err) }, 'could not renew a claim'));
  }, everyMs);
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
