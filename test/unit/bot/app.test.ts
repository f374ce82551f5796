// The Bolt app as built for production (HTTP receiver): health and readiness routes, /metrics beside
// them unless METRICS_PORT moves it, the request gate in front of Bolt (forged and replayed requests
// answered 401 and counted), handler errors logged, and Bolt's logger on pino.
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boltLogger, customRoutes } from '../../../bot/app.js';
import type { BotDeps } from '../../../bot/listeners.js';
import { slashCommandBody } from '../../../devkit/slack-signer.js';
import { parseEnv } from '../../../infra/env.js';
import { createLogger } from '../../../infra/logger.js';
import { createRedis } from '../../../infra/redis.js';
import { type BotWorld, startBotWorld } from '../../helpers/bot-world.js';
import { until } from '../../helpers/wait.js';

let w: BotWorld;
beforeAll(async () => {
  w = await startBotWorld();
  w.app.command('/unit-crash', async ({ ack }) => {
    await ack();
    throw new Error('listener blew up');
  });
});
afterAll(() => w.close());

describe('routes', () => {
  it('answers /healthz, and /readyz while Redis answers', async () => {
    expect(await (await fetch(`${w.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${w.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', redis: 'ok', config: 'loaded' });
  });

  it('serves /metrics beside them, and leaves it to its own port when METRICS_PORT is set', async () => {
    const metrics = await fetch(`${w.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE chatops_commands_total counter');
    const moved = { ...w.deps, env: parseEnv({ ...w.deps.env, METRICS_PORT: '9464' } as never) };
    const routes = (deps: BotDeps) => customRoutes(deps).map((r) => `${r.method} ${r.path}`);
    expect(routes(moved)).toEqual(['GET /healthz', 'GET /readyz', 'POST /hooks/dumps']);
    expect(routes({ ...w.deps, metrics: undefined })).toEqual(routes(moved));
    expect(routes(w.deps)).toContain('GET /metrics');
  });

  it('answers /readyz 503 when Redis does not answer within a second', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const redis = createRedis(`redis://127.0.0.1:${(silent.address() as { port: number }).port}`);
    const route = customRoutes({ ...w.deps, redis } as BotDeps).find((r) => r.path === '/readyz');
    const http = createHttpServer((req, res) => void route?.handler(req, res));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const res = await fetch(`http://127.0.0.1:${(http.address() as { port: number }).port}/readyz`);
    const answered = { status: res.status, body: await res.text() };
    await new Promise((r) => http.close(r));
    expect(answered.status).toBe(503);
    expect(JSON.parse(answered.body)).toEqual({
      status: 'not ready',
      redis: 'unreachable',
      config: 'loaded',
    });
    redis.disconnect();
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });
});

describe('the request gate in front of Bolt', () => {
  const body = () =>
    slashCommandBody({
      command: '/chatops',
      text: 'help',
      userId: 'U0ALICE',
      responseUrl: w.slack.responseUrl('C1', 'U0ALICE'),
    });
  const refused = async (reason: string) => {
    const line = (await w.deps.metrics?.render())
      ?.split('\n')
      .find((l) => l.startsWith(`chatops_requests_refused_total{reason="${reason}"} `));
    return Number(line?.split(' ')[1] ?? 0);
  };

  it('answers a forged signature 401 and counts it', async () => {
    const before = await refused('signature');
    const res = await w.send(body(), { signature: `v0=${'0'.repeat(64)}` });
    expect(res.status).toBe(401);
    expect(await refused('signature')).toBe(before + 1);
  });

  it('answers the same signed request a second time 401 as a replay, and runs it once', async () => {
    const b = body();
    const timestamp = Math.floor(Date.now() / 1000);
    const first = await w.send(b, { timestamp });
    const again = await w.send(b, { timestamp });
    expect(first.status).toBe(200);
    expect(again.status).toBe(401);
    expect(await refused('replay')).toBe(1);
    expect((await w.audit()).filter((e) => e.user === 'U0ALICE' && e.action === 'chatops')).toHaveLength(1);
  });

  it('logs an error a listener did not handle', async () => {
    expect((await w.command('U0BOB', '/unit-crash')).status).toBe(200);
    await until('the error logged', () =>
      w.logs.some((l) => l.includes('unhandled error in a Slack handler') && l.includes('listener blew up')),
    );
  });
});

describe('boltLogger', () => {
  it("writes Bolt's lines to pino, marked as Bolt's, and keeps the level Bolt sets", () => {
    const lines: string[] = [];
    const log = boltLogger(
      createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } }),
    );
    log.warn('socket', 'closed', 3);
    log.debug('noise');
    log.setLevel('error' as never);
    expect(log.getLevel()).toBe('error');
    const [warn, debug] = lines.map((l) => JSON.parse(l));
    expect(warn).toMatchObject({ level: 40, bolt: true, msg: 'socket closed 3' });
    expect(debug).toMatchObject({ level: 20, bolt: true, msg: 'noise' });
  });
});
