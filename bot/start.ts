import { createRedisAuditLog } from '../infra/audit.js';
import type { ActionRecorder } from '../infra/aws.js';
import { type Clock, systemClock } from '../infra/clock.js';
import type { Config } from '../infra/config.js';
import type { Env } from '../infra/env.js';
import type { Logger } from '../infra/logger.js';
import { createMetrics, type Metrics, type MetricsServer, startMetricsServer } from '../infra/metrics.js';
import { connectRedis } from '../infra/redis.js';
import { createSlackWebClient } from '../infra/slack-client.js';
import type { WorkerDeps } from '../jobs/common.js';
import { homeRefresher } from '../jobs/housekeeping.js';
import { createQueues } from '../jobs/queues.js';
import type { QueueName } from '../jobs/registry.js';
import { createBotApp } from './app.js';
import { scrapeSources } from './metrics-sources.js';

export interface Chatops {
  /** The HTTP port the bot listens on (undefined for a worker-only process). */
  port?: number;
  /** Where GET /metrics answers: METRICS_PORT's server, else the bot's port, else (a worker) PORT. */
  metricsPort: number;
  /** This process's metrics. */
  metrics: Metrics;
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
  /** Tests: how long a scrape-time read of Redis is reused (default 5 s). */
  metricsCacheMs?: number;
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
  // One set of queues and one metrics registry per process, shared by its bot and its workers.
  const queues = createQueues({ connection: redis, prefix, config, clock });
  const metrics = createMetrics({
    role: env.CHATOPS_ROLE,
    clock,
    cacheMs: opts.metricsCacheMs,
    dumpJobs: (config.dumps?.jobs ?? []).map((j) => j.name),
    sources: scrapeSources({ redis, prefix, config, queues }),
  });
  const homeChanged = homeRefresher(queues, clock, logger.child({ component: 'home' }));
  let metricsServer: MetricsServer | undefined;
  let metricsPort: number | undefined;

  try {
    // METRICS_PORT set: every process serves /metrics there only; else the bot serves it on PORT.
    if (env.METRICS_PORT !== undefined) {
      metricsServer = await startMetricsServer({ registry: metrics.registry, port: env.METRICS_PORT });
      metricsPort = metricsServer.port;
    }
    if (env.CHATOPS_ROLE !== 'worker') {
      const ids = await resolveBotIds(env, logger);
      const bot = createBotApp(
        { config, env, logger, audit, queues, redis, clock, metrics, homeChanged },
        ids,
      );
      port = await bot.start();
      metricsPort ??= port;
      logger.info({ port, metricsPort, role: env.CHATOPS_ROLE }, 'bot listening');
      closers.push(() => bot.stop());
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
        metrics,
        queues,
        homeChanged,
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
      // Workers close after the HTTP server stopped taking commands, before the queues and Redis.
      closers.push(async () => {
        await workers.close(env.CHATOPS_SHUTDOWN_TIMEOUT_MS);
        deps.mailer.close();
      });
      if (metricsPort === undefined) {
        // A worker-only process has no Bolt receiver: /metrics (and /healthz) on PORT.
        metricsServer = await startMetricsServer({ registry: metrics.registry, port: env.PORT });
        metricsPort = metricsServer.port;
        logger.info({ metricsPort }, 'metrics listening');
      }
    }
    closers.push(() => queues.close());
    if (metricsServer) {
      const server = metricsServer;
      closers.push(() => server.close());
    }
  } catch (err) {
    await Promise.allSettled(closers.map((c) => c()));
    await queues.close().catch(() => undefined);
    await metricsServer?.close();
    redis.disconnect();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    metricsPort: metricsPort as number,
    metrics,
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
