// What the /maintenance handler tests run against: the bot's deps over the real Redis and BullMQ
// queues under a prefix of their own, a Web API client on the fake Slack, a fixed clock, and a
// request as the listener builds it.
import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import type { BotDeps } from '../../../../bot/listeners.js';
import type { RequestContext } from '../../../../bot/middleware.js';
import { type FakeSlack, startFakeSlack } from '../../../../devkit/fake-slack.js';
import { createRedisAuditLog } from '../../../../infra/audit.js';
import { createLogger } from '../../../../infra/logger.js';
import { createWindow } from '../../../../jobs/maintenance/store.js';
import type { MaintenanceWindow, NewWindow } from '../../../../jobs/maintenance/window.js';
import { createQueues } from '../../../../jobs/queues.js';
import { testConfig } from '../../../helpers/config.js';

export const T0 = Date.UTC(2027, 0, 15, 3, 0); // 12:00 in Tokyo
export const HOUR = 3_600_000;

export interface MaintenanceBot {
  deps: BotDeps;
  slack: FakeSlack;
  /** A request of `userId`, as the listener hands it to a handler. */
  request(userId?: string): RequestContext;
  /** A window stored from `startIn` to `endIn` ms after T0. */
  window(
    title: string,
    startIn?: number,
    endIn?: number,
    over?: Partial<NewWindow>,
  ): Promise<MaintenanceWindow>;
  /** The maintenance queue's job of this id, if any. */
  job(jobId: string): ReturnType<ReturnType<BotDeps['queues']['queue']>['getJob']>;
  close(): Promise<void>;
}

/** A bot with the maintenance channel and a ten-minute reminder; `extra` overrides any config key. */
export async function maintenanceBot(extra: Record<string, unknown> = {}): Promise<MaintenanceBot> {
  const slack = await startFakeSlack();
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `test-handlers-mw-${randomUUID()}`;
  const config = testConfig({ maintenance: { remindBefore: ['10m'] }, ...extra });
  const clock = { now: () => T0 };
  const logger = createLogger({ level: 'silent' });
  const queues = createQueues({ connection: redis, prefix, config, clock });
  const deps: BotDeps = {
    config,
    env: { CHATOPS_REDIS_PREFIX: prefix } as BotDeps['env'],
    logger,
    audit: createRedisAuditLog(redis, `${prefix}:audit`, 100, logger, clock),
    queues,
    redis,
    clock,
    slack: new WebClient('xoxb-test', { slackApiUrl: slack.url }),
  };
  let n = 0;
  return {
    deps,
    slack,
    request(userId = 'U0OPS') {
      n += 1;
      return {
        requestId: `r${n}`,
        userId,
        log: logger,
        arrivedAt: T0,
        redisDown: false,
        confirmBy: T0 + 2_000,
      };
    },
    window(title, startIn = HOUR, endIn = 2 * HOUR, over = {}) {
      const w: NewWindow = {
        title,
        start: T0 + startIn,
        end: T0 + endIn,
        createdBy: 'U0OPS',
        createdAt: T0,
        ...config.maintenance.defaults,
        ...over,
      };
      return createWindow({ redis, prefix }, w, [600_000]);
    },
    job: (jobId) => queues.queue('maintenance').getJob(jobId),
    async close() {
      await queues.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await slack.close();
    },
  };
}

/** This file's bot (`extra` as for maintenanceBot): started before the file's tests, closed after them. */
export function useBot(extra: Record<string, unknown> = {}): MaintenanceBot {
  let started: MaintenanceBot | undefined;
  beforeAll(async () => {
    started = await maintenanceBot(extra);
  });
  afterAll(() => started?.close());
  return new Proxy({} as MaintenanceBot, {
    get(_, prop) {
      if (!started) throw new Error('the bot starts before the tests');
      return Reflect.get(started, prop);
    },
  });
}
