// What the bench's later parts (migration, dumps, cluster) share: how they start the built bot as
// bot and worker processes, moto behind the recording proxy, and a few small helpers. Every process
// goes through target.ts, so the bench's exit and signal handlers kill exactly what it started.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { freePort } from '../devkit/free-port.js';
import { type MotoServer, resetMoto, startMoto } from '../devkit/moto.js';
import { blockActionsBody, slashCommandBody } from '../devkit/slack-signer.js';
import { type AwsProxy, startAwsProxy } from './aws-proxy.js';
import { type HttpReply, postSigned } from './load.js';
import { startTarget, type Target } from './target.js';

export const SIGNING_SECRET = 'bench-signing-secret-0123456789abcdef';
export const BOT_TOKEN = 'xoxb-bench-token-not-real';

/** What the bench's main module hands every part. */
export interface PartContext {
  /** `node` arguments that run the built bot (the npm start flags, --node-options, main.js). */
  botArgs: string[];
  cwd: string;
  /** PATH, HOME, LANG, TZ: what every child gets besides its own variables. */
  baseEnv: Record<string, string>;
  /** The run's single Redis (a private redis-server by default) and a connection to it. */
  redisUrl: string;
  redis: Redis;
  /** True when that Redis is the bench's own redis-server (INFO memory then counts only the bench). */
  privateRedis: boolean;
  /** Key prefix for this part; each part deletes its keys when done. */
  prefix: string;
  log(line: string): void;
}

/** Wall-clock ms with sub-ms resolution: performance.now() aligned to a Date.now() tick. */
export function wallClock(): () => number {
  const first = Date.now();
  let tick = Date.now();
  while (tick === first) tick = Date.now();
  const offset = tick - performance.now();
  return () => offset + performance.now();
}

/** Polls `probe` until it returns something other than undefined/false; fails naming `what`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

export const fmt = (x: number | undefined, digits = 1): string =>
  x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';

/** A config file (JSON is YAML) in a fresh temp directory; returns its path and a remover. */
export function writeConfigFile(name: string, config: unknown): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `chatops-bench-${name}-`));
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface FleetEnv {
  slackUrl: string;
  configPath: string;
  prefix: string;
  redisUrl: string;
  clusterNodes?: string;
  awsEndpoint?: string;
  extra?: Record<string, string>;
}

function childEnv(ctx: PartContext, e: FleetEnv, role: string, port: number): Record<string, string> {
  return {
    ...ctx.baseEnv,
    CHATOPS_ROLE: role,
    PORT: String(port),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_API_URL: e.slackUrl,
    REDIS_URL: e.redisUrl,
    ...(e.clusterNodes ? { REDIS_CLUSTER_NODES: e.clusterNodes } : {}),
    CHATOPS_REDIS_PREFIX: e.prefix,
    CHATOPS_CONFIG: e.configPath,
    CHATOPS_SHUTDOWN_TIMEOUT_MS: '2000',
    // Nothing answers on port 1: no mail leaves (the parts send none), and a part that needs AWS
    // gives the proxy in front of moto.
    SMTP_URL: 'smtp://127.0.0.1:1',
    AWS_ENDPOINT_URL: e.awsEndpoint ?? 'http://127.0.0.1:1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    ...e.extra,
  };
}

/** A bot process (CHATOPS_ROLE=bot), ready once GET /readyz answers 200. */
export async function startBotProcess(ctx: PartContext, e: FleetEnv, name = 'bot'): Promise<Target> {
  const port = await freePort();
  return startTarget({ name, args: ctx.botArgs, cwd: ctx.cwd, port, env: childEnv(ctx, e, 'bot', port) });
}

/**
 * A worker process (CHATOPS_ROLE=worker, no HTTP), ready once BullMQ lists `expectWorkers` workers
 * on `probeQueue` (the product names its worker connections, so CLIENT LIST sees them).
 */
export async function startWorkerProcess(
  ctx: PartContext,
  e: FleetEnv,
  probe: { connection: Redis; queue: string; expectWorkers: number },
  name = 'worker',
): Promise<Target> {
  const q = new Queue(probe.queue, { connection: probe.connection, prefix: e.prefix });
  try {
    return await startTarget({
      name,
      args: ctx.botArgs,
      cwd: ctx.cwd,
      port: 0,
      env: childEnv(ctx, e, 'worker', 0),
      ready: async () => {
        await sleep(50);
        return (await q.getWorkersCount()) >= probe.expectWorkers;
      },
    });
  } finally {
    await q.close();
  }
}

/** Moto on a free loopback port and the recording proxy in front of it. */
export interface AwsWorld {
  moto: MotoServer;
  proxy: AwsProxy;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts moto_server and the proxy. The bench process itself seeds moto directly (not through the
 * proxy) with the product's own AWS clients, so it points its own SDK environment at moto.
 */
export async function startAwsWorld(clock: () => number): Promise<AwsWorld> {
  const moto = await startMoto();
  const proxy = await startAwsProxy(moto.url, clock);
  process.env.AWS_ENDPOINT_URL = moto.url;
  process.env.AWS_ACCESS_KEY_ID = 'bench';
  process.env.AWS_SECRET_ACCESS_KEY = 'bench';
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  return {
    moto,
    proxy,
    reset: () => resetMoto(moto.url),
    async close() {
      await proxy.close();
      await moto.close();
    },
  };
}

/** Plays Slack towards one bot: signed slash commands and button clicks on a keep-alive agent. */
export interface SlackSide {
  command(
    userId: string,
    command: string,
    text: string,
    channelId: string,
    responseUrl: string,
  ): Promise<HttpReply>;
  click(input: {
    userId: string;
    actionId: string;
    value: string;
    channelId: string;
    messageTs: string;
    responseUrl: string;
  }): Promise<HttpReply>;
  close(): void;
}

export function slackSide(port: number): SlackSide {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  return {
    command: (userId, command, text, channelId, responseUrl) =>
      postSigned(
        agent,
        port,
        SIGNING_SECRET,
        slashCommandBody({ command, text, userId, channelId, responseUrl }),
      ),
    click: (input) => postSigned(agent, port, SIGNING_SECRET, blockActionsBody(input)),
    close: () => agent.destroy(),
  };
}

/** One request on `agent` to a route of the bot other than /slack/events. */
export function httpRequest(
  agent: Agent,
  port: number,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  timeoutMs = 10_000,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        timeout: timeoutMs,
        headers:
          body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, reused: req.reusedSocket }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Keys under `prefix` on one Redis (SCAN). */
export async function keysUnder(r: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  const pattern = `${prefix.replace(/[{}[\]*?\\]/g, '\\$&')}:*`;
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    for (const k of batch) keys.push(k);
  } while (cursor !== '0');
  return keys;
}

export async function deleteUnder(r: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(r, prefix);
  for (let i = 0; i < keys.length; i += 500) await r.del(...keys.slice(i, i + 500));
}

/** MEMORY USAGE (SAMPLES 0) of each key, in bytes. */
export async function memoryUsage(r: Redis, keys: string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < keys.length; i += 200) {
    const p = r.pipeline();
    for (const k of keys.slice(i, i + 200)) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    for (const [err, v] of (await p.exec()) ?? []) out.push(err ? 0 : Number(v ?? 0));
  }
  return out;
}

/** INFO memory used_memory_dataset: used_memory less Redis's overhead (client buffers, script cache…). */
export async function datasetBytes(r: Redis): Promise<number> {
  return Number(/used_memory_dataset:(\d+)/.exec(await r.info('memory'))?.[1] ?? Number.NaN);
}
