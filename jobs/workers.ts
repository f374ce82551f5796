import { Worker } from 'bullmq';
import type { Logger } from '../infra/logger.js';
import { type BaseJobData, type JobKind, makeProcessor, type WorkerDeps } from './common.js';
import { ddbExportJob } from './ddb-export.js';
import { startIntakeMover } from './intake-mover.js';
import { resetPasswordJob } from './reset-password.js';

// biome-ignore lint/suspicious/noExplicitAny: the registry holds kinds of different data types
export const JOB_KINDS: JobKind<any, unknown>[] = [resetPasswordJob, ddbExportJob];

export interface Workers {
  close(timeoutMs: number): Promise<void>;
}

/**
 * Starts the intake mover and one BullMQ worker per job kind. Any number of processes may do this
 * against one Redis.
 */
export function startWorkers(opts: {
  deps: WorkerDeps;
  redisUrl: string;
  prefix: string;
  concurrency?: number;
  kinds?: JobKind<BaseJobData, unknown>[];
  logger: Logger;
}): Workers {
  const kinds = opts.kinds ?? JOB_KINDS;
  const workers = kinds.map((kind) => {
    const w = new Worker(kind.queue, makeProcessor(kind, opts.deps), {
      connection: { url: opts.redisUrl, maxRetriesPerRequest: null },
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 4,
      // A worker that dies or is force-closed holds its jobs this long; then another worker's
      // stalled-job check hands them out again.
      lockDuration: opts.deps.config.jobs.lockMs,
      stalledInterval: opts.deps.config.jobs.lockMs,
    });
    w.on('error', (err) => opts.logger.error({ queue: kind.queue, err: err.message }, 'worker error'));
    return w;
  });
  const mover = startIntakeMover({
    deps: opts.deps,
    redisUrl: opts.redisUrl,
    prefix: opts.prefix,
    kinds,
    logger: opts.logger,
  });
  opts.logger.info({ queues: kinds.map((k) => k.queue) }, 'workers started');
  return {
    async close(timeoutMs) {
      // Stop moving new commands in first; what is still in the intake waits for the next worker.
      await mover.close();
      // Stop taking work and let active jobs finish (pause waits for them); past the timeout,
      // release them: their locks lapse and another worker's stalled check hands them out again.
      // (BullMQ's close() cannot be escalated to close(true) once called, hence pause first.)
      const finished = Promise.all(workers.map((w) => w.pause()));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        finished.then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) opts.logger.warn({ timeoutMs }, 'active jobs did not finish in time; releasing them');
      await Promise.all(workers.map((w) => w.close(timedOut)));
    },
  };
}
