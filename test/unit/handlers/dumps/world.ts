// What the /dumps handler tests run against: the real Redis and BullMQ queues under a prefix of their
// own, a config with dump jobs, a fixed clock, and a request as the listener builds it.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { BotDeps } from '../../../../bot/listeners.js';
import type { RequestContext } from '../../../../bot/middleware.js';
import { parseConfig } from '../../../../infra/config.js';
import { createLogger } from '../../../../infra/logger.js';
import type { DumpStore } from '../../../../jobs/dumps/index.js';
import { createQueues } from '../../../../jobs/queues.js';

export const T0 = Date.UTC(2027, 0, 15, 3, 0); // 12:00 in Tokyo
export const ZONE = 'Asia/Tokyo';
export const ALERTS = 'C0ALERTS';

/** A world with `jobs` dump jobs (`job0`, `job1`, …) and its close. */
export function dumpsWorld(jobs = 2, name = 'dumps') {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `test-handlers-${name}-${randomUUID()}`;
  const config = parseConfig(
    {
      timezone: ZONE,
      accounts: { gghouse: { id: '343881458651', region: 'ap-northeast-1' } },
      channels: { alerts: ALERTS },
      dumps: {
        account: 'gghouse',
        bucket: 'jram-gghouse',
        jobs: Array.from({ length: jobs }, (_, i) => ({
          name: `job${i}`,
          cron: '30 5 * * *',
          prefix: 'dumps/',
        })),
      },
    },
    '/tmp',
  );
  const clock = { now: () => T0 };
  const queues = createQueues({ connection: redis, prefix, config, clock });
  const deps = {
    config,
    env: { CHATOPS_REDIS_PREFIX: prefix },
    logger: createLogger({ level: 'silent' }),
    redis,
    queues,
    clock,
  } as unknown as BotDeps;
  const store: DumpStore = { redis, prefix };
  let n = 0;
  const request = (userId = 'U0OPS'): RequestContext => {
    n += 1;
    return {
      requestId: `r${n}`,
      userId,
      log: deps.logger,
      arrivedAt: T0,
      redisDown: false,
      confirmBy: T0 + 2_000,
    };
  };
  /** The dumps queue's jobs that are waiting or delayed, as [id, data]. */
  const queued = async () =>
    (await queues.queue('dumps').getJobs(['waiting', 'delayed'])).map((j) => [j.id, j.data] as const);
  const close = async () => {
    await queues.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  };
  return { deps, store, request, queued, close };
}
