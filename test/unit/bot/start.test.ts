// startChatops by role against the fake Slack and the real Redis: a bot resolves its identity once
// and listens; a worker runs its queues and serves /metrics on PORT; METRICS_PORT moves /metrics to a
// server of its own; a failed start-up throws; close() shuts down once, in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChatops } from '../../../bot/start.js';
import { type FakeSlack, startFakeSlack } from '../../../devkit/fake-slack.js';
import { freePort } from '../../../devkit/free-port.js';
import { parseEnv } from '../../../infra/env.js';
import { createLogger } from '../../../infra/logger.js';
import { readHeartbeat } from '../../../infra/metrics-heartbeat.js';
import { testConfig } from '../../helpers/config.js';
import { testRedis } from '../../helpers/test-redis.js';
import { until } from '../../helpers/wait.js';

const { redis, prefix, cleanup } = testRedis('start');
let slack: FakeSlack;
beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(async () => {
  await slack.close();
  await cleanup();
});

const logs: string[] = [];
const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
const envFor = (role: string, extra: Record<string, string> = {}) =>
  parseEnv({
    CHATOPS_ROLE: role,
    CHATOPS_REDIS_PREFIX: prefix,
    SLACK_BOT_TOKEN: 'xoxb-unit',
    SLACK_SIGNING_SECRET: 'unit-secret',
    SLACK_API_URL: slack.url,
    PORT: '0',
    CHATOPS_SHUTDOWN_TIMEOUT_MS: '1000',
    ...extra,
  });

describe('startChatops', () => {
  it('starts a bot that resolves its identity once, listens, serves /metrics there, and stops once', async () => {
    const auth = slack.callsTo('auth.test').length;
    const c = await startChatops({ env: envFor('bot'), config: testConfig(), logger });
    expect(slack.callsTo('auth.test').length).toBe(auth + 1);
    expect(c.port).toBeGreaterThan(0);
    expect(c.metricsPort).toBe(c.port);
    expect((await fetch(`http://127.0.0.1:${c.port}/healthz`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${c.port}/metrics`)).text()).toContain(
      'chatops_process_role{role="bot"} 1',
    );
    const closing = c.close();
    expect(c.close()).toBe(closing);
    await closing;
    await expect(fetch(`http://127.0.0.1:${c.port}/healthz`)).rejects.toThrow();
    expect(logs.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  });

  it('starts a worker that runs its queues and serves /metrics on PORT', async () => {
    const c = await startChatops({
      env: envFor('worker'),
      config: testConfig(),
      logger,
      workerQueues: ['housekeeping'],
    });
    try {
      expect(c.port).toBeUndefined();
      // The heartbeat's scheduler runs its first job at once on this worker.
      await until('the heartbeat', () => readHeartbeat(redis, prefix));
      const metrics = await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`);
      expect(await metrics.text()).toContain('chatops_process_role{role="worker"} 1');
    } finally {
      await c.close();
    }
  });

  it('serves /metrics only on METRICS_PORT when it is set', async () => {
    const metricsPort = await freePort();
    const c = await startChatops({
      env: envFor('bot', { METRICS_PORT: String(metricsPort) }),
      config: testConfig(),
      logger,
    });
    try {
      expect(c.metricsPort).toBe(metricsPort);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${c.port}/metrics`)).status).toBe(404);
    } finally {
      await c.close();
    }
    await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
  });

  it('throws when Slack refuses the token at start-up, and leaves nothing listening', async () => {
    const metricsPort = await freePort();
    slack.failNext('auth.test', 'invalid_auth');
    await expect(
      startChatops({
        env: envFor('bot', { METRICS_PORT: String(metricsPort) }),
        config: testConfig(),
        logger,
      }),
    ).rejects.toThrow(/invalid_auth/);
    await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
  });
});
