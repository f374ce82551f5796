import { Worker } from 'bullmq';
import type { Logger } from '../infra/logger.js';
import type { Redis } from '../infra/redis.js';
import { type BaseJobData, type JobKind, makeProcessor, type WorkerDeps } from './common.js';
import { type QueueName, WORKER_KINDS } from './registry.js';

export interface Workers {
  close(timeoutMs: number): Promise<void>;
}

/**
 * Starts one BullMQ worker per job kind (all of the registry, or `queues`). Any number of processes
 * may do this against one Redis. A process that lacks a kind (an older release in a rolling deploy)
 * simply does not read that queue: its jobs wait there for a worker that has it.
 */
export function startWorkers(opts: {
  deps: WorkerDeps;
  /** A new blocking connection (one per worker): Redis at REDIS_URL, or the Cluster. */
  connect: () => Redis;
  prefix: string;
  concurrency?: number;
  queues?: QueueName[];
  logger: Logger;
}): Workers {
  const names = opts.queues ?? (Object.keys(WORKER_KINDS) as QueueName[]);
  // Connections handed to BullMQ stay ours to close.
  const conns: Redis[] = [];
  const workers = names.map((name) => {
    const kind = WORKER_KINDS[name] as JobKind<BaseJobData, unknown>;
    const connection = opts.connect();
    connection.on('error', (err: Error) =>
      opts.logger.warn({ queue: name, err: err.message }, 'worker connection error'),
    );
    conns.push(connection);
    const w = new Worker(kind.queue, makeProcessor(kind, opts.deps), {
      connection,
      prefix: opts.prefix,
      concurrency: kind.concurrency ?? opts.concurrency ?? 4,
      // A worker that dies or is force-closed holds its jobs this long; then another worker's
      // stalled-job check hands them out again.
      lockDuration: opts.deps.config.jobs.lockMs,
      stalledInterval: opts.deps.config.jobs.lockMs,
    });
    w.on('error', (err) => opts.logger.error({ queue: kind.queue, err: err.message }, 'worker error'));
    return w;
  });
  opts.logger.info({ queues: names }, 'workers started');
  // Start hooks run in the background (a worker must not wait on them to take jobs); close awaits them.
  const started = Promise.all(
    names.map(async (name) => {
      const kind = WORKER_KINDS[name] as JobKind<BaseJobData, unknown>;
      await kind
        .onWorkerStart?.(opts.deps)
        .catch((err: unknown) =>
          opts.logger.error(
            { queue: kind.queue, err: err instanceof Error ? err.message : String(err) },
            'worker start hook failed',
          ),
        );
    }),
  );
  return {
    async close(timeoutMs) {
      await started;
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
      await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
