import { createRedisAuditLog } from '../infra/audit.js';
import type { ActionRecorder } from '../infra/aws.js';
import { type Clock, systemClock } from '../infra/clock.js';
import type { Config } from '../infra/config.js';
import type { Env } from '../infra/env.js';
import type { Logger } from '../infra/logger.js';
import { connectRedis } from '../infra/redis.js';
import { createSlackWebClient } from '../infra/slack-client.js';
import type { WorkerDeps } from '../jobs/common.js';
import { createQueues } from '../jobs/queues.js';
import type { QueueName } from '../jobs/registry.js';
import { createBotApp } from './app.js';

export interface Chatops {
  /** The HTTP port the bot listens on (undefined for a worker-only process). */
  port?: number;
  close(): Promise<void>;
}

export interface StartOptions {
  env: Env;
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Tests: called with each AWS action the workers send. */
  recorder?: ActionRecorder;
  /** Tests: replace worker adapters. */
  workerOverrides?: Partial<WorkerDeps>;
  /** Tests: the queues this process works on (default: every kind in the registry). */
  workerQueues?: QueueName[];
}

/** Resolves the bot's ids once, so Bolt never calls auth.test per request. */
async function resolveBotIds(env: Env, logger: Logger): Promise<{ botId?: string; botUserId?: string }> {
  const res = await createSlackWebClient(env, 5).auth.test();
  logger.info({ botUserId: res.user_id, team: res.team_id }, 'slack identity resolved');
  return { botId: res.bot_id, botUserId: res.user_id };
}

/** Starts the bot and/or workers per CHATOPS_ROLE; `close()` shuts them down in order. */
export async function startChatops(opts: StartOptions): Promise<Chatops> {
  const { env, config, logger } = opts;
  const clock = opts.clock ?? systemClock;
  const prefix = env.CHATOPS_REDIS_PREFIX;
  const redis = connectRedis(env, { name: 'chatops' });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const audit = createRedisAuditLog(
    redis,
    `${prefix}:audit`,
    config.audit.maxEntries,
    logger.child({ component: 'audit' }),
    clock,
  );
  const closers: (() => Promise<void>)[] = [];
  let port: number | undefined;

  try {
    if (env.CHATOPS_ROLE !== 'worker') {
      const queues = createQueues({ connection: redis, prefix, config, clock });
      const ids = await resolveBotIds(env, logger);
      const bot = createBotApp({ config, env, logger, audit, queues, redis, clock }, ids);
      port = await bot.start();
      logger.info({ port, role: env.CHATOPS_ROLE }, 'bot listening');
      closers.push(
        () => bot.stop(),
        () => queues.close(),
      );
    }
    if (env.CHATOPS_ROLE !== 'bot') {
      const { createWorkerDeps, startWorkers } = await import('./worker-deps.js');
      const deps = createWorkerDeps({
        redis,
        config,
        env,
        logger,
        audit,
        clock,
        recorder: opts.recorder,
        overrides: opts.workerOverrides,
      });
      const workers = startWorkers({
        deps,
        connect: () => connectRedis(env, { blocking: true, name: 'chatops-worker' }),
        prefix,
        logger,
        queues: opts.workerQueues,
      });
      // Workers close before the queues and Redis, after the HTTP server stopped taking commands.
      closers.splice(1, 0, async () => {
        await workers.close(env.CHATOPS_SHUTDOWN_TIMEOUT_MS);
        await deps.queues.close();
        deps.mailer.close();
      });
    }
  } catch (err) {
    await Promise.allSettled(closers.map((c) => c()));
    redis.disconnect();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= (async () => {
        for (const c of closers) {
          await c().catch((err) => logger.error({ err: String(err) }, 'error while closing'));
        }
        await redis.quit().catch(() => redis.disconnect());
        logger.info('stopped');
      })();
      return closing;
    },
  };
}
