// A worker process's deps for unit tests: the real adapters (bot/worker-deps.ts) against the real
// Redis under a fresh prefix, the fake Slack, a capturing SMTP server and a logger whose lines the
// test reads. `close()` deletes every key under the prefix.
import { randomUUID } from 'node:crypto';
import { Job, type JobsOptions, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createWorkerDeps } from '../../bot/worker-deps.js';
import { startFakeSlack } from '../../devkit/fake-slack.js';
import { startSmtpCapture } from '../../devkit/smtp-capture.js';
import { createRedisAuditLog } from '../../infra/audit.js';
import { type Clock, systemClock } from '../../infra/clock.js';
import type { Config } from '../../infra/config.js';
import { parseEnv } from '../../infra/env.js';
import { createLogger } from '../../infra/logger.js';
import { createMetrics } from '../../infra/metrics.js';
import { type BaseJobData, type JobKind, makeProcessor, type WorkerDeps } from '../../jobs/common.js';
import type { QueueName } from '../../jobs/registry.js';
import { testConfig } from './config.js';
import type { Stack } from './stack.js';
import { deleteUnder, REDIS_URL } from './test-redis.js';
import { until } from './wait.js';

/** What a worker's unit test sees of its world: the same parts as an integration test's Stack. */
export interface WorkerWorld extends Pick<Stack, 'config' | 'slack' | 'smtp' | 'redis' | 'prefix' | 'logs'> {
  deps: WorkerDeps;
  /** Runs `kind`'s jobs on a real BullMQ worker (makeProcessor over these deps) until close(). */
  work<D extends BaseJobData, R>(kind: JobKind<D, R>): Worker<D, R>;
  /** Adds a job to `queue` and resolves once it has completed or failed for good. */
  finish<D extends BaseJobData>(queue: string, data: D, opts?: JobsOptions): Promise<Job<D>>;
  close(): Promise<void>;
}

export async function startWorkerWorld(
  opts: {
    config?: Config;
    env?: Record<string, string>;
    clock?: Clock;
    overrides?: Partial<WorkerDeps>;
  } = {},
): Promise<WorkerWorld> {
  const config = opts.config ?? testConfig();
  const clock = opts.clock ?? systemClock;
  const prefix = `test-${randomUUID()}`;
  const [slack, smtp] = await Promise.all([startFakeSlack(), startSmtpCapture()]);
  const redis = new Redis(REDIS_URL);
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
  const env = parseEnv({
    CHATOPS_ROLE: 'worker',
    CHATOPS_REDIS_PREFIX: prefix,
    REDIS_URL,
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_API_URL: slack.url,
    SMTP_URL: smtp.url,
    ...opts.env,
  });
  const deps = createWorkerDeps({
    config,
    env,
    logger,
    audit: createRedisAuditLog(redis, `${prefix}:audit`, 1_000, logger, clock),
    redis,
    clock,
    metrics: createMetrics({ defaultMetrics: false, clock }),
    overrides: opts.overrides,
  });
  const workers: Worker[] = [];
  const conns: Redis[] = [];
  return {
    config,
    deps,
    logs,
    prefix,
    redis,
    slack,
    smtp,
    work(kind) {
      const connection = redis.duplicate({ maxRetriesPerRequest: null });
      conns.push(connection);
      const w = new Worker(kind.queue, makeProcessor(kind, deps), {
        connection,
        prefix,
        lockDuration: config.jobs.lockMs,
      });
      workers.push(w as Worker);
      return w;
    },
    async finish(name, data, opts) {
      const queue = deps.queues.queue(name as QueueName);
      const added = await queue.add('test', data, opts);
      const id = added.id as string;
      await until(`job ${id} to finish`, async () => {
        const state = await queue.getJobState(id);
        return state === 'completed' || state === 'failed';
      });
      return (await Job.fromId(queue, id)) as Job<typeof data>;
    },
    async close() {
      for (const w of workers) await w.close();
      for (const c of conns) c.disconnect();
      deps.mailer.close();
      await deps.queues.close();
      await deleteUnder(redis, prefix);
      redis.disconnect();
      await Promise.all([slack.close(), smtp.close()]);
    },
  };
}
