import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IAMClient } from '@aws-sdk/client-iam';
import { test as base, inject } from 'vitest';
import { stringify } from 'yaml';
import { type Chatops, type StartOptions, startChatops } from '../../bot/start.js';
import {
  createSlackClient,
  type FakeSlack,
  resetMoto,
  type SmtpCapture,
  startFakeSlack,
  startSmtpCapture,
} from '../../devkit/index.js';
import { seedPasswordPolicy, seedIamUser as seedUser, type WorldTarget } from '../../devkit/worlds/index.js';
import { createRedisAuditLog } from '../../infra/audit.js';
import { createAwsClients } from '../../infra/aws.js';
import { type Config, loadConfig } from '../../infra/config.js';
import { parseEnv } from '../../infra/env.js';
import { createLogger } from '../../infra/logger.js';
import { connectRedis, type Redis } from '../../infra/redis.js';
import type { WorkerDeps } from '../../jobs/common.js';
import { makeKey, makeKeys, type TestKey } from '../fixtures/keys.js';
import { motoUrl as workerMotoUrl } from './moto-url.js';

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
/** The workers' CHATOPS_STATE_KEY in tests (a reset resumed after an unanswered change re-derives its password). */
export const STATE_KEY = 'test-state-key-0123456789abcdef-0123456789abcdef';
export const BOT_TOKEN = 'xoxb-test-token-not-real';
export const ACCOUNTS = {
  'osio-dev': {
    id: '619539278362',
    region: 'us-east-1',
    roleArn: 'arn:aws:iam::619539278362:role/chatops-bot',
  },
  osio: { id: '386414299200', region: 'us-east-1', roleArn: 'arn:aws:iam::386414299200:role/chatops-bot' },
};

export interface StackPerson {
  slack: string;
  name: string;
  key?: TestKey | 'none';
  iamUsers?: Record<string, string>;
}

export interface StackOptions {
  people?: StackPerson[];
  roles?: Record<string, string[]>;
  /** Extra top-level config keys. */
  extraConfig?: Record<string, unknown>;
  /** Seeds moto after its reset and before the config is written; returns more config keys (e.g. an instance id). */
  seed?: (world: WorldTarget) => Promise<Record<string, unknown>>;
  jobs?: { attempts?: number; backoffMs?: number; lockMs?: number };
  /** Start the stack with no SMTP_URL. */
  noSmtp?: boolean;
  workerOverrides?: Partial<WorkerDeps>;
  /** Called with the fake Slack before the bot starts (e.g. to set canned responses). */
  beforeStart?: (slack: FakeSlack) => void;
  /** Extra environment variables for every chatops instance. */
  env?: Record<string, string>;
  /** A Redis other than the shared one (e.g. a private server a fault test pauses). */
  redisUrl?: string;
  /** How many chatops processes (in this process) to start: 'all' once, or separate bots and workers. */
  topology?: { bots: number; workers: number };
}

/** Everything an integration test needs around one bot: fake Slack, SMTP, moto accounts, Redis, captured logs. */
export interface Stack {
  config: Config;
  slack: FakeSlack;
  smtp: SmtpCapture;
  redis: Redis;
  prefix: string;
  logs: string[];
  actions: Set<string>;
  keys: Record<string, TestKey>;
  instances: Chatops[];
  /** The environment every instance gets (for starting the bot as its own process). */
  env: Record<string, string>;
  /** Starts one more chatops process (in this process) on the same Redis, config and fakes. */
  startInstance(role: 'all' | 'bot' | 'worker', extra?: Partial<StartOptions>): Promise<Chatops>;
  /** Base URL of the first bot's HTTP server. */
  baseUrl: string;
  command(
    user: string,
    command: string,
    text?: string,
    botIndex?: number,
  ): Promise<{ status: number; text: string; headers: Record<string, string> }>;
  /** This worker's moto and the test accounts, for devkit/worlds (not recorded as bot actions). */
  world: WorldTarget;
  /** An IAM client for seeding an account alias in moto (not recorded as a bot action). */
  iam(alias: keyof typeof ACCOUNTS): IAMClient;
  /** The console password moto stores for a user, read from moto's model data. */
  motoPassword(accountId: string, userName: string): Promise<string | null | undefined>;
  auditRows(): Promise<Record<string, string>[]>;
  close(): Promise<void>;
}

/** The people most tests use: alice and bob (no role), carol (interrupt-catcher), ops (admin). */
export async function defaultPeople(): Promise<StackPerson[]> {
  const k = await makeKeys();
  return [
    { slack: 'U0ALICE', name: 'alice', key: k.valid, iamUsers: { 'osio-dev': 'alice', osio: 'alice.smith' } },
    { slack: 'U0BOB', name: 'bob', key: await makeKey('bob@example.com'), iamUsers: { 'osio-dev': 'bob' } },
    {
      slack: 'U0CAROL',
      name: 'carol',
      key: await makeKey('carol@example.com'),
      iamUsers: { 'osio-dev': 'carol' },
    },
    { slack: 'U0OPS', name: 'ops', key: await makeKey('ops@example.com'), iamUsers: { 'osio-dev': 'ops' } },
  ];
}

/** The environment of a chatops process of its own: the stack's, plus AWS through `extra.AWS_ENDPOINT_URL`. */
export function processEnv(
  stackEnv: Record<string, string>,
  extra: Record<string, string> & { AWS_ENDPOINT_URL: string },
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    ...stackEnv,
    LOG_LEVEL: 'info',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    ...extra,
  };
}

/** This worker's moto and the test accounts: where devkit/worlds seed for a test. */
export function testWorld(): WorldTarget {
  return { endpoint: workerMotoUrl(), accounts: ACCOUNTS, requester: 'test-seed' };
}

let stackCount = 0;

/** Starts fake Slack, SMTP capture and chatops against this worker's moto and the shared Redis; resets moto first. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const motoUrl = workerMotoUrl();
  const redisUrl = opts.redisUrl ?? inject('redisUrl');
  process.env.AWS_ENDPOINT_URL = motoUrl;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_REGION = 'us-east-1';
  await resetMoto(motoUrl);

  const plainPrefix = `t${process.pid}-${++stackCount}-${Date.now().toString(36)}`;
  // On a Redis Cluster the bot hash-tags its prefix (infra/env.ts); the test reads the same keys.
  const prefix = opts.env?.REDIS_CLUSTER_NODES ? `{${plainPrefix}}` : plainPrefix;
  const dir = mkdtempSync(join(tmpdir(), 'chatops-stack-'));
  const people = opts.people ?? (await defaultPeople());
  const keys: Record<string, TestKey> = {};
  const configPeople = people.map((p) => {
    if (p.key && p.key !== 'none') keys[p.name] = p.key;
    return {
      slack: p.slack,
      name: p.name,
      email: `${p.name}@example.com`,
      ...(p.key && p.key !== 'none' ? { gpgKey: p.key.publicKey } : {}),
      iamUsers: p.iamUsers ?? {},
    };
  });
  const rawConfig = {
    timezone: 'Asia/Tokyo',
    accounts: ACCOUNTS,
    channels: { alerts: 'C0ALERTS', maintenance: 'C0MAINT', approvals: 'C0APPROVE' },
    roles: opts.roles ?? {
      admin: ['U0OPS'],
      'interrupt-catcher': ['U0CAROL'],
      approver: ['U0DAVE', 'U0ERIN'],
    },
    people: configPeople,
    resetPassword: { defaultAccount: 'osio-dev', mailFrom: 'chatops@example.com' },
    jobs: {
      attempts: opts.jobs?.attempts ?? 3,
      backoffMs: opts.jobs?.backoffMs ?? 200,
      ...(opts.jobs?.lockMs ? { lockMs: opts.jobs.lockMs } : {}),
    },
    ...opts.extraConfig,
    ...(opts.seed ? await opts.seed(testWorld()) : {}),
  };
  const configPath = join(dir, 'chatops.yaml');
  writeFileSync(configPath, stringify(rawConfig));
  const config = loadConfig(configPath);

  const slack = await startFakeSlack();
  // Slack knows everyone in people by name, so a command typed with @name carries their mention.
  for (const p of configPeople) slack.setUser(p.slack, { name: p.name, email: p.email });
  opts.beforeStart?.(slack);
  const smtp = await startSmtpCapture();
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
  const actions = new Set<string>();
  const recorder = (a: string) => {
    actions.add(a);
  };
  const baseEnv = {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.url,
    PORT: '0',
    REDIS_URL: redisUrl,
    CHATOPS_REDIS_PREFIX: prefix,
    CHATOPS_CONFIG: configPath,
    CHATOPS_SHUTDOWN_TIMEOUT_MS: '5000',
    CHATOPS_STATE_KEY: STATE_KEY,
    ...(opts.noSmtp ? {} : { SMTP_URL: smtp.url }),
    ...opts.env,
  };
  const topology = opts.topology ?? { bots: 0, workers: 0 };
  const roles: ('all' | 'bot' | 'worker')[] =
    topology.bots + topology.workers === 0
      ? ['all']
      : [...Array(topology.bots).fill('bot'), ...Array(topology.workers).fill('worker')];
  const instances: Chatops[] = [];
  const startInstance = async (role: 'all' | 'bot' | 'worker', extra: Partial<StartOptions> = {}) => {
    const env = parseEnv({ ...baseEnv, CHATOPS_ROLE: role });
    const instance = await startChatops({
      env,
      config,
      logger: logger.child({ instance: instances.length, role }),
      recorder,
      workerOverrides: opts.workerOverrides,
      ...extra,
    });
    instances.push(instance);
    return instance;
  };
  for (const role of roles) await startInstance(role);
  const botPorts = instances.map((i) => i.port).filter((p): p is number => p !== undefined);
  const clients = botPorts.map((port) =>
    createSlackClient({
      url: `http://127.0.0.1:${port}/slack/events`,
      signingSecret: SIGNING_SECRET,
      typing: slack,
    }),
  );
  const redis = connectRedis({ REDIS_URL: redisUrl, REDIS_CLUSTER_NODES: opts.env?.REDIS_CLUSTER_NODES });
  const auditReader = createRedisAuditLog(
    redis,
    `${prefix}:audit`,
    100_000,
    createLogger({ level: 'silent' }),
  );
  const seedAws = createAwsClients(config);

  return {
    config,
    slack,
    smtp,
    redis,
    prefix,
    logs,
    actions,
    keys,
    instances,
    env: baseEnv,
    startInstance,
    world: testWorld(),
    baseUrl: `http://127.0.0.1:${botPorts[0]}`,
    async command(user, command, text = '', botIndex = 0) {
      const client = clients[botIndex];
      if (!client) throw new Error(`no bot instance ${botIndex}`);
      const res = await client.command({
        command,
        text,
        userId: user,
        channelId: 'C0GENERAL',
        responseUrl: slack.responseUrl('C0GENERAL', user),
      });
      const json = res.json as { text?: string } | undefined;
      return { status: res.status, text: json?.text ?? res.body, headers: res.headers };
    },
    iam: (alias) => seedAws.client(IAMClient, alias, 'test-seed'),
    async motoPassword(accountId, userName) {
      const data = (await (await fetch(`${motoUrl}/moto-api/data.json`)).json()) as {
        iam?: { User?: { account_id?: string; name?: string; password?: string | null }[] };
      };
      const user = data.iam?.User?.find((u) => u.account_id === accountId && u.name === userName);
      return user ? (user.password ?? null) : undefined;
    },
    async auditRows() {
      // The product's own reader, oldest first.
      const rows = await auditReader.recent(1_000_000);
      return rows.reverse() as unknown as Record<string, string>[];
    },
    async close() {
      for (const i of instances) await i.close();
      saveActions(actions);
      await deleteKeys(redis, prefix);
      await redis.quit();
      await slack.close();
      await smtp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ACTIONS_DIR_ABS = join(process.cwd(), '.artifacts/aws-actions');

/** Adds AWS actions the code sent to the record the IAM-policy test reads. */
export function saveActions(actions: Iterable<string>): void {
  appendFileSync(join(ACTIONS_DIR_ABS, `${process.pid}.txt`), [...actions].map((a) => `${a}\n`).join(''));
}

/** Creates an IAM user, with a login profile (password Initial-Passw0rd!) unless told otherwise. */
export function seedIamUser(iam: IAMClient, userName: string, opts: { loginProfile?: boolean } = {}) {
  return seedUser(iam, userName, { ...opts, password: 'Initial-Passw0rd!' });
}

/** A stricter-than-default password policy, so the test proves the bot reads it. */
export const seedStrictPolicy = (iam: IAMClient) => seedPasswordPolicy(iam, 32);

/** Deletes every key under `prefix` (on every master of a Redis Cluster). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const cluster = redis as unknown as { nodes?: (role: 'master') => Redis[] };
  const nodes = typeof cluster.nodes === 'function' ? cluster.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(
        cursor,
        'MATCH',
        `${prefix.replace(/[{}]/g, '\\$&')}:*`,
        'COUNT',
        500,
      );
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  }
}

/** Every key and value in Redis (or under `prefix`) as text, for searching for secrets. */
export async function dumpRedis(redis: Redis, prefix?: string): Promise<string> {
  const out: string[] = [];
  const add = (values: string[]) => {
    // A loop, not push(...values): streams can hold more entries than the call stack takes arguments.
    for (const v of values) out.push(v);
  };
  let cursor = '0';
  do {
    const [next, keys] = prefix
      ? await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      : await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      add([key]);
      if (type === 'string') add([(await redis.getBuffer(key))?.toString('latin1') ?? '']);
      else if (type === 'hash')
        add(Object.entries(await redis.hgetallBuffer(key)).flatMap(([k, v]) => [k, v.toString('latin1')]));
      else if (type === 'list') add((await redis.lrangeBuffer(key, 0, -1)).map((b) => b.toString('latin1')));
      else if (type === 'set') add(await redis.smembers(key));
      else if (type === 'zset') add(await redis.zrange(key, 0, -1));
      else if (type === 'stream') add((await redis.xrange(key, '-', '+')).flatMap(([id, f]) => [id, ...f]));
    }
  } while (cursor !== '0');
  return out.join('\n');
}

export interface StackFixtures {
  /** The stacks this test started, closed after it, the last first (after every fixture that uses them). */
  stacks: Stack[];
  /** Starts a stack with `options`; it is closed after the test. */
  startStack: (options?: StackOptions) => Promise<Stack>;
  /** A stack with the default options. */
  stack: Stack;
}

/** vitest's `test` with the running stack as fixtures: `it('…', async ({ stack }) => …)`. */
export const test = base.extend<StackFixtures>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern
  stacks: async ({}, use) => {
    const started: Stack[] = [];
    await use(started);
    const errors: unknown[] = [];
    for (const s of started.reverse()) await s.close().catch((err: unknown) => errors.push(err));
    if (errors.length)
      throw errors.length === 1 ? errors[0] : new AggregateError(errors, 'closing the stacks');
  },
  startStack: async ({ stacks }, use) => {
    await use(async (options) => {
      const s = await startStack(options);
      stacks.push(s);
      return s;
    });
  },
  stack: async ({ startStack }, use) => {
    await use(await startStack());
  },
});
export const it = test;
