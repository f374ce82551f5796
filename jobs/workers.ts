import { Worker } from 'bullmq';
import type { Logger } from '../infra/logger.js';
import { type BaseJobData, type JobKind, makeProcessor, type WorkerDeps } from './common.js';
import { ddbExportJob } from './ddb-export.js';
import { resetPasswordJob } from './reset-password.js';

// biome-ignore lint/suspicious/noExplicitAny: the registry holds kinds of different data types
export const JOB_KINDS: JobKind<any, unknown>[] = [resetPasswordJob, ddbExportJob];

export interface Workers {
  close(timeoutMs: number): Promise<void>;
}

/** Starts one BullMQ worker per job kind. Any number of processes may do this against one Redis. */
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
      // Without this the job-failed retry backoff and the status message would race a closing worker.
      autorun: true,
    });
    w.on('error', (err) => opts.logger.error({ queue: kind.queue, err: err.message }, 'worker error'));
    return w;
  });
  opts.logger.info({ queues: kinds.map((k) => k.queue) }, 'workers started');
  return {
    async close(timeoutMs) {
      // Stop taking work and let active jobs finish; past the timeout, release them: their locks
      // lapse and another worker picks them up as stalled.
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
      ]);
      if (timedOut) {
        opts.logger.warn({ timeoutMs }, 'active jobs did not finish in time; releasing them');
        await Promise.all(workers.map((w) => w.close(true)));
      }
    },
  };
}
