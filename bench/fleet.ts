// What the bench's parts share: how they start the built bot as bot and worker processes, with their
// own fake Slack and config, and a few Redis helpers. Every process goes through target.ts (devkit's
// launcher), so the bench's exit and signal handlers kill exactly what it started.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type FakeSlack, startFakeSlack } from '../devkit/fake-slack.js';
import { freePort } from '../devkit/free-port.js';
import { blockActionsBody, slashCommandBody } from '../devkit/slack-signer.js';
import { type HttpReply, postSigned } from './load.js';
import { startChatopsTarget, type Target } from './target.js';

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

const configDirs = new Set<string>();

/** A config file (JSON is YAML) in a fresh temp directory; returns its path and a remover. */
export function writeConfigFile(name: string, config: unknown): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `chatops-bench-${name}-`));
  configDirs.add(dir);
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return {
    path,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
      configDirs.delete(dir);
    },
  };
}

/** Removes every config file not removed yet: for a bench stopped midway. */
export function removeConfigFiles(): void {
  for (const dir of configDirs) rmSync(dir, { recursive: true, force: true });
  configDirs.clear();
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

function childEnv(ctx: PartContext, e: FleetEnv): Record<string, string> {
  return {
    ...ctx.baseEnv,
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

/** A bot process (CHATOPS_ROLE=bot, or all: bot and workers), ready once GET /readyz answers 200. */
export async function startBotProcess(
  ctx: PartContext,
  e: FleetEnv,
  name = 'bot',
  role: 'bot' | 'all' = 'bot',
): Promise<Target> {
  return startChatopsTarget({ name, role, args: ctx.botArgs, port: await freePort(), env: childEnv(ctx, e) });
}

export interface WorkerOptions {
  name?: string;
  /** The worker is ready once BullMQ lists `expectWorkers` workers on `queue` (default 1). */
  connection: Redis;
  queue: string;
  expectWorkers?: number;
}

/**
 * A worker process (CHATOPS_ROLE=worker, no HTTP), ready once BullMQ lists the expected workers on
 * the probe queue (the product names its worker connections, so CLIENT LIST sees them).
 */
export async function startWorkerProcess(ctx: PartContext, e: FleetEnv, o: WorkerOptions): Promise<Target> {
  const q = new Queue(o.queue, { connection: o.connection, prefix: e.prefix });
  try {
    return await startChatopsTarget({
      name: o.name ?? 'worker',
      role: 'worker',
      args: ctx.botArgs,
      env: childEnv(ctx, e),
      ready: async () => {
        await sleep(50);
        return (await q.getWorkersCount().catch(() => 0)) >= (o.expectWorkers ?? 1);
      },
    });
  } finally {
    await q.close();
  }
}

/** Logs the last lines each process wrote: for a part that failed. */
export function logOutputs(ctx: PartContext, procs: (Target | undefined)[], chars = 3000): void {
  for (const p of procs) if (p) ctx.log(`  ${p.name} output:\n${p.output().slice(-chars)}`);
}

/** What a part with its own bot and worker processes holds while it runs. */
export interface PartFleet {
  slack: FakeSlack;
  env: FleetEnv;
  /** The part's queue, under its prefix, for reading its jobs. */
  queue: Queue;
  startBot(name: string): Promise<Target>;
  startWorker(name: string): Promise<Target>;
}

export interface PartFleetOptions {
  /** Names the config file. */
  name: string;
  config: unknown;
  queue: string;
  awsEndpoint?: string;
  extra?: Record<string, string>;
}

/**
 * Runs `body` with a fake Slack, the part's config file and its queue; every process it starts is
 * stopped, and every key under the part's prefix deleted, when it ends. On failure each process's
 * last output is logged.
 */
export async function withPartFleet<T>(
  ctx: PartContext,
  o: PartFleetOptions,
  body: (f: PartFleet) => Promise<T>,
): Promise<T> {
  const file = writeConfigFile(o.name, o.config);
  const queue = new Queue(o.queue, { connection: ctx.redis, prefix: ctx.prefix });
  const procs: Target[] = [];
  const started = (t: Target) => {
    procs.push(t);
    return t;
  };
  let slack: FakeSlack | undefined;
  try {
    slack = await startFakeSlack();
    const env: FleetEnv = {
      slackUrl: slack.url,
      configPath: file.path,
      prefix: ctx.prefix,
      redisUrl: ctx.redisUrl,
      ...(o.awsEndpoint ? { awsEndpoint: o.awsEndpoint } : {}),
      ...(o.extra ? { extra: o.extra } : {}),
    };
    return await body({
      slack,
      env,
      queue,
      startBot: async (name) => started(await startBotProcess(ctx, env, name)),
      startWorker: async (name) =>
        started(await startWorkerProcess(ctx, env, { connection: ctx.redis, queue: o.queue, name })),
    });
  } catch (err) {
    logOutputs(ctx, procs);
    throw err;
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await queue.close();
    await slack?.close();
    await deleteUnder(ctx.redis, ctx.prefix).catch(() => undefined);
    file.remove();
  }
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
