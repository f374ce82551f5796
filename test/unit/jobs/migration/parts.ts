// The real parts the /migration unit tests run on, started once per test file: Redis (each world under
// a key prefix of its own, deleted at the end), the fake Slack with the bot's Notifier over it, BullMQ
// queues for the run jobs, and (when a file asks) a private moto_server that the AWS SDK reaches
// through AWS_ENDPOINT_URL as in production (test/helpers/moto.ts), seeded with the /migration world
// (devkit/worlds). Time is a clock the test moves.
import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { DelayedError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../../../../devkit/index.js';
import {
  MIGRATION_WORLD,
  seedDumpsWorld,
  seedMigrationWorld,
  type WorldTarget,
} from '../../../../devkit/worlds/index.js';
import { type AuditRecord, createRedisAuditLog } from '../../../../infra/audit.js';
import { createAwsClients } from '../../../../infra/aws.js';
import type { Clock } from '../../../../infra/clock.js';
import type { Config } from '../../../../infra/config.js';
import { createLogger } from '../../../../infra/logger.js';
import { type Notifier, slackNotifier } from '../../../../infra/notifier.js';
import { createWindow } from '../../../../jobs/maintenance/store.js';
import { type AwsDeps, createMigrationAws } from '../../../../jobs/migration/aws.js';
import { expireJobId, MIGRATION_QUEUE } from '../../../../jobs/migration/data.js';
import {
  cardsOverNotifier,
  type MigrationDeps,
  type RunJobs,
  runJobsOver,
} from '../../../../jobs/migration/deps.js';
import { cleanupPlanOf, keysDigest, type Plan, planHash, planOf } from '../../../../jobs/migration/plan.js';
import type { RequestData } from '../../../../jobs/migration/request.js';
import {
  approve,
  type CleanupRequest,
  type Cutover,
  claim,
  createRequest,
  getRequest,
  type MigrationStore,
  type Phase3Request,
  setCard,
} from '../../../../jobs/migration/store.js';
import { createQueues } from '../../../../jobs/queues.js';
import { testConfig } from '../../../helpers/config.js';
import { useMoto } from '../../../helpers/moto.js';
import { deleteUnder, REDIS_URL } from '../../../helpers/test-redis.js';
import { until } from '../../../helpers/wait.js';

export const MIN = 60_000;
export const DAY = 86_400_000;
/** Noon in Tokyo, the zone of these tests' config: the "now" of the pure card and gate tests. */
export const NOON = Date.parse('2026-06-20T03:00:00Z');

/** A cutover of `cron` made `daysAgo` days before NOON. */
export const cutoverAgo = (cron: string, daysAgo: number): Cutover => ({
  cron,
  at: NOON - daysAgo * DAY,
  by: 'U0OPS',
  forced: false,
});
export const APPROVALS = 'C0APPROVE';
export const DUMP_JOB = 'ggh_contractstatus';

/** The config of these tests: `m` over the migration section, `extra` over the rest. */
export function migConfig(m: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Config {
  return testConfig({
    migration: {
      account: 'osio',
      instanceId: 'i-0123456789abcdef0',
      role: MIGRATION_WORLD.role,
      instanceProfile: MIGRATION_WORLD.instanceProfile,
      secretId: MIGRATION_WORLD.secretId,
      bucket: MIGRATION_WORLD.bucket,
      runMinutes: 10,
      pollSeconds: 1,
      waitTimeoutSeconds: 30,
      ...m,
    },
    dumps: {
      account: 'osio',
      bucket: MIGRATION_WORLD.bucket,
      jobs: [{ name: DUMP_JOB, cron: '1 6 * * *', prefix: 'dumps/' }],
    },
    ...extra,
  });
}

/** The real per-account AWS clients (moto through AWS_ENDPOINT_URL), one attempt per call, each call's IAM action recorded. */
const awsOf = (config: Config, actions: string[] = []): AwsDeps => ({
  config,
  aws: createAwsClients(config, { maxAttempts: 1, recorder: (a) => void actions.push(a) }),
});

/** A clock the test moves; waits between polls move it too. */
export class TestClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface Parts {
  redis: Redis;
  slack: FakeSlack;
  notifier: Notifier;
  /** Where the moto world is, when the file asked for moto. */
  target?: WorldTarget;
}

export interface World {
  md: MigrationDeps;
  config: Config;
  clock: TestClock;
  store: MigrationStore;
  /** Every log line of this world's code. */
  logs: string[];
  /** The IAM action of every AWS call the world's code made (ec2:StopInstances, …). */
  actions: string[];
  /** The instance seeded for this world (moto only; else the config's). */
  instanceId: string;
  /** The real AWS clients under the world's config, for the calls of jobs/migration/aws.ts. */
  aws: AwsDeps;
  /** The same world under another config (every process restarted with it). */
  withConfig(config: Config): MigrationDeps;
  audits(): Promise<AuditRecord[]>;
}

export interface WorldOptions {
  /** Over the migration section (the instance is the seeded one unless given). */
  migration?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  /** The clock's start (default: now, to the minute). */
  at?: number;
}

/**
 * Starts the parts before the file's tests and stops them after; `dumps` seeds days of matching dumps
 * under dumps/ and dumps-test/ (moto only). Returns a maker of fresh worlds.
 */
export function useParts(opts: { moto?: boolean; dumpDays?: number } = {}) {
  let parts: Parts | undefined;
  const prefixes: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  if (opts.moto) useMoto();
  beforeAll(async () => {
    const slack = await startFakeSlack();
    const web = new WebClient('xoxb-test', { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
    parts = {
      redis: new Redis(REDIS_URL),
      slack,
      notifier: slackNotifier(web),
    };
    if (opts.moto) {
      // useMoto's beforeAll ran first: the SDK's endpoint is this file's moto.
      parts.target = { endpoint: process.env.AWS_ENDPOINT_URL ?? '', accounts: migConfig().accounts };
      if (opts.dumpDays)
        await seedDumpsWorld({
          ...parts.target,
          account: 'osio',
          bucket: MIGRATION_WORLD.bucket,
          jobs: [DUMP_JOB],
          days: opts.dumpDays,
          prefixes: ['dumps/', 'dumps-test/'],
        });
    }
  }, 60_000);
  afterAll(async () => {
    for (const close of closers) await close();
    if (parts) {
      for (const prefix of prefixes) await deleteUnder(parts.redis, prefix);
      parts.redis.disconnect();
      await parts.slack.close();
    }
  });

  const get = (): Parts => {
    if (!parts) throw new Error('the parts start in beforeAll');
    return parts;
  };

  /** A fresh world: its own prefix, queues and clock; with moto, its own cron host. */
  async function world(o: WorldOptions = {}): Promise<World> {
    const p = get();
    const prefix = `test-mig-${randomUUID()}`;
    prefixes.push(prefix);
    p.slack.reset();
    let instanceId = String(o.migration?.instanceId ?? 'i-0123456789abcdef0');
    if (p.target && !o.migration?.instanceId) {
      const seeded = await seedMigrationWorld({ ...p.target, account: 'osio', instanceName: prefix });
      instanceId = seeded.instanceId;
    }
    const config = migConfig({ instanceId, ...o.migration }, o.extra);
    const clock = new TestClock(o.at ?? Math.floor(Date.now() / MIN) * MIN);
    const logs: string[] = [];
    const actions: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
    const queues = createQueues({ connection: p.redis, prefix, config, clock });
    closers.push(() => queues.close());
    const store = { redis: p.redis, prefix };
    const audit = createRedisAuditLog(p.redis, `${prefix}:audit`, 1_000, log, clock);
    const withConfig = (c: Config): MigrationDeps => ({
      config: c,
      clock,
      store,
      audit,
      queues,
      jobs: runJobsOver(queues),
      cards: cardsOverNotifier(p.notifier),
      log,
      aws: createMigrationAws(awsOf(c, actions)),
      notifier: p.notifier,
      sleep: async (ms) => clock.advance(ms),
    });
    return {
      md: withConfig(config),
      aws: awsOf(config),
      config,
      clock,
      store,
      logs,
      actions,
      instanceId,
      withConfig,
      audits: () => audit.recent(100),
    };
  }

  /** Where the moto world is (files that asked for moto). */
  const target = (): WorldTarget => {
    const t = get().target;
    if (!t) throw new Error('this file did not ask for moto');
    return t;
  };

  return { get, target, world };
}

/** A job's context as the processor gives it, for job `jobId`: what it reports and when it parks itself. */
export function runCtx(w: World, jobId: string, o: { lastAttempt?: boolean } = {}) {
  const ctx = {
    jobId,
    log: w.md.log,
    reports: [] as string[],
    delayedUntil: undefined as number | undefined,
    isLastAttempt: () => o.lastAttempt ?? true,
    // As BullMQ's moveToDelayed does for a job: parked, then the attempt ends with a DelayedError.
    delayUntil: async (at: number): Promise<never> => {
      ctx.delayedUntil = at;
      throw new DelayedError();
    },
    report: async (text: string) => void ctx.reports.push(text),
    /** What the job saved into its data for its next attempt. */
    saved: {} as Partial<RequestData>,
    save: async (patch: Partial<RequestData>) => void Object.assign(ctx.saved, patch),
  };
  return ctx;
}

/** Posts a card for `id` on the fake Slack and records where it is, as postCardAndExpiry does. */
export async function showCard(p: Parts, w: World, id: string) {
  const ref = await p.notifier.post(APPROVALS, 'the card');
  await setCard(w.store, id, ref.channel, ref.ts);
  return ref;
}

/** Run jobs over a Redis connection that is gone: every add, arm or read fails as Redis being away would. */
export function unreachableJobs(w: World): RunJobs {
  const gone = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
  gone.disconnect();
  return runJobsOver(createQueues({ connection: gone, prefix: w.store.prefix, config: w.config }));
}

/** Runs the world's migration jobs `ids` on a real BullMQ worker: ids starting 'fail-' fail, the others complete. */
export async function finishJobs(w: World, ids: string[]): Promise<void> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(
    MIGRATION_QUEUE,
    async (job) => {
      if (String(job.id).startsWith('fail-')) throw new Error('boom');
      return 'ok';
    },
    { connection, prefix: w.store.prefix },
  );
  try {
    await until(`${ids.join(', ')} to end`, async () => {
      const states = await Promise.all(ids.map((id) => w.md.jobs.state(id)));
      return states.every((s) => s === 'completed' || s === 'failed');
    });
  } finally {
    await worker.close();
    connection.disconnect();
  }
}

/** A maintenance window from `startIn` to `endIn` minutes from the world's now. */
export function windowIn(w: World, startIn: number, endIn: number) {
  const now = w.clock.now();
  return createWindow(w.store, {
    title: 'EC2 cron host',
    start: now + startIn * MIN,
    end: now + endIn * MIN,
    createdBy: 'U0OPS',
    createdAt: now,
    ...w.config.maintenance.defaults,
  });
}

const asker = (w: World) => ({
  requester: 'U0OPS',
  requestId: `slack-${randomUUID()}`,
  needed: 2,
  createdAt: w.clock.now(),
});

/** Stores a pending phase-3 request in a new window from `startIn` to `endIn` minutes from now. */
export async function phase3Request(w: World, window = { startIn: 5, endIn: 35 }): Promise<Phase3Request> {
  const win = await windowIn(w, window.startIn, window.endIn);
  const plan: Plan = planOf(w.config, win);
  const id = `p3-${randomUUID().slice(0, 8)}`;
  const created = await createRequest(w.store, {
    ...asker(w),
    kind: 'phase3',
    id,
    plan,
    planHash: planHash(plan),
    expiresAt: win.end - 10 * MIN,
    windowId: win.id,
    windowCreated: true,
  });
  if (created !== 'created') throw new Error(`request not created: ${created}`);
  return getRequest(w.store, id, 'phase3');
}

/** Stores a pending cleanup request for the listed keys (each 100 bytes), expiring in a day. */
export async function cleanupRequest(w: World, keys: string[]): Promise<CleanupRequest> {
  const plan = cleanupPlanOf(w.config, {
    objects: keys.length,
    bytes: keys.length * 100,
    keysHash: keysDigest(keys),
  });
  const id = `p5-${randomUUID().slice(0, 8)}`;
  const created = await createRequest(w.store, {
    ...asker(w),
    kind: 'cleanup',
    id,
    plan,
    planHash: planHash(plan),
    expiresAt: w.clock.now() + 24 * 60 * MIN,
    keys,
  });
  if (created !== 'created') throw new Error(`request not created: ${created}`);
  return getRequest(w.store, id, 'cleanup');
}

/** A phase-3 request approved and claimed by its run job (fence 1), as a run that just began; the job is not queued. */
export async function runningRequest(w: World, window?: { startIn: number; endIn: number }) {
  const r = await phase3Request(w, window);
  const runJob = await approveAll(w, r);
  const c = await claim(w.store, r, runJob, 'run', w.clock.now());
  if (c.result !== 'fresh') throw new Error(`not claimed: ${c.result}`);
  return { r: await getRequest(w.store, r.id, 'phase3'), runJob, owner: { job: runJob, fence: c.fence } };
}

/** Queues the request's expiry job at its expiresAt, as postCardAndExpiry does. */
export async function queueExpiry(w: World, r: { id: string; expiresAt: number }): Promise<void> {
  const data = { requestId: 'r', requester: 'U0OPS', op: 'expire' as const, id: r.id };
  await w.md.jobs.add(expireJobId(r.id), data, { runAt: r.expiresAt });
}

/** The two approvals of the config's approvers that approve `r`; returns its run job. */
export async function approveAll(
  w: World,
  r: { id: string; kind: 'phase3' | 'cleanup'; windowId?: string; planHash: string },
) {
  const rule = { hash: r.planHash, approvers: ['U0DAVE', 'U0ERIN'], quorum: 2, budgetMs: 10 * MIN };
  await approve(w.store, r, 'U0DAVE', w.clock.now(), rule);
  const res = await approve(w.store, r, 'U0ERIN', w.clock.now(), rule);
  if (res.result !== 'approved') throw new Error(`not approved: ${res.result}`);
  return res.runJob;
}
