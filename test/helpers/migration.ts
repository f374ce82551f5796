// What the /migration tests share: devkit's migration and dumps worlds seeded in this worker's moto
// with the config that names them, a stack around them, and reading and clicking the approval cards.
import { EC2Client } from '@aws-sdk/client-ec2';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { createSlackClient, type FakeSlackMessage } from '../../devkit/index.js';
import {
  type ClientCtor,
  describeHost,
  MIGRATION_WORLD,
  seedDumpsWorld,
  seedMigrationWorld,
  type WorldTarget,
  worldClient,
} from '../../devkit/worlds/index.js';
import { SIGNING_SECRET, type Stack, type StackOptions, testWorld } from './stack.js';
import { until } from './wait.js';

export const APPROVALS = 'C0APPROVE';
export const BUCKET = MIGRATION_WORLD.bucket;
export const ROLE = MIGRATION_WORLD.role;
export const PROFILE = MIGRATION_WORLD.instanceProfile;
export const SECRET_VALUE = 'workload-secret-value-Zx81';
export const JOB = 'ggh_contractstatus';
const ACCOUNT = 'osio';

/** A client for the migration's account in this worker's moto (made anew: moto is reset between tests). */
export const aws = <C>(ctor: ClientCtor<C>) => worldClient(testWorld(), ctor, ACCOUNT);

export interface MigrationWorldOptions {
  cron?: string;
  jobs?: string[];
  /** Days of JOB's dumps in both prefixes, today's included (default 8). */
  dumpDays?: number;
  /** One day's dumps-test/ dump made `pct` % smaller. */
  shrink?: { daysAgo: number; pct: number };
  migration?: Record<string, unknown>;
}

/** The cron host, the phase-1 role, profile and secret, and JOB's dumps; returns the migration config. */
export async function seedWorld(target: WorldTarget, opts: MigrationWorldOptions = {}) {
  const host = await seedMigrationWorld({ ...target, account: ACCOUNT, secretValue: SECRET_VALUE });
  const shrink = opts.shrink;
  await seedDumpsWorld({
    ...target,
    account: ACCOUNT,
    bucket: BUCKET,
    jobs: [JOB],
    days: opts.dumpDays ?? 8,
    prefixes: ['dumps/', 'dumps-test/'],
    extension: '',
    size: ({ daysAgo, prefix }) =>
      prefix === 'dumps-test/' && shrink?.daysAgo === daysAgo
        ? Math.floor((1000 + daysAgo) * (1 - shrink.pct / 100))
        : 1000 + daysAgo,
  });
  return {
    migration: {
      ...host,
      approvals: 2,
      runMinutes: 0.1,
      waitTimeoutSeconds: 20,
      pollSeconds: 0.2,
      ...opts.migration,
    },
    dumps: {
      account: ACCOUNT,
      bucket: BUCKET,
      jobs: (opts.jobs ?? [JOB]).map((name) => ({
        name,
        cron: opts.cron ?? '1 6 * * *',
        prefix: 'dumps/',
        graceMinutes: opts.cron ? 0 : 30,
      })),
    },
  };
}

/** Stack options for the migration tests: ops an admin, three approvers, the world seeded. */
export function withMigrationWorld(
  world: MigrationWorldOptions = {},
  extra: Partial<StackOptions> = {},
): StackOptions {
  return {
    roles: { admin: ['U0OPS'], approver: ['U0OPS', 'U0DAVE', 'U0ERIN'] },
    extraConfig: { maintenance: { remindBefore: ['1d'] } },
    seed: (target) => seedWorld(target, world),
    ...extra,
  };
}

export function card(s: Stack): FakeSlackMessage | undefined {
  return s.slack
    .messages(APPROVALS)
    .find((m) => !m.thread_ts && /Phase 3: attach the instance profile/.test(JSON.stringify(m.blocks ?? '')));
}

export const cardText = (s: Stack) => JSON.stringify(card(s)?.blocks ?? '');

/** The instance's state and its associated instance profiles, read from moto. */
export async function instance(instanceId: string) {
  const host = await describeHost(aws(EC2Client), instanceId);
  return { state: host.state, associations: host.associations.filter((a) => a.State === 'associated') };
}

/** The phase-5 cleanup approval card, once posted. */
export function cleanupCard(s: Stack): FakeSlackMessage | undefined {
  return s.slack
    .messages(APPROVALS)
    .find(
      (m) => !m.thread_ts && /Phase 5: delete the parallel-test dumps/.test(JSON.stringify(m.blocks ?? '')),
    );
}

export const cleanupCardText = (s: Stack) => JSON.stringify(cleanupCard(s)?.blocks ?? '');

/** Records a cutover of `cron` that happened `daysAgo` days ago (as `/migration cutover` would have). */
export async function seedCutover(s: Stack, cron: string, daysAgo: number): Promise<void> {
  const at = Date.now() - daysAgo * 86_400_000;
  // Long past: its watches are over, so only the record (jobs/migration/store.ts keeps it there).
  await s.redis.hset(
    `${s.prefix}:mig:cutovers`,
    cron,
    JSON.stringify({ cron, at, by: 'U0OPS', forced: false }),
  );
}

/** The keys under a prefix of the dump bucket, read from moto. */
export async function keysUnder(prefix: string): Promise<string[]> {
  const res = await aws(S3Client).send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key as string);
}

/** The state of a job of the migration queue, or undefined when the queue no longer has it. */
export async function migrationJobState(s: Stack, jobId: string): Promise<string | undefined> {
  const queue = new Queue('migration', { connection: s.redis, prefix: s.prefix });
  try {
    const job = await queue.getJob(jobId);
    return job ? await job.getState() : undefined;
  } finally {
    await queue.close();
  }
}

export function instanceIdOf(s: Stack): string {
  return (s.config.migration as { instanceId: string }).instanceId;
}

/** Requests phase 3 in `args` (e.g. `+2s 60s`) and has U0DAVE and U0ERIN approve it. */
export async function requestAndApprove(s: Stack, args: string): Promise<void> {
  const ack = await s.command('U0OPS', '/migration', `phase3 request ${args}`);
  if (!/Queued: checking the phase-3 prerequisites/.test(ack.text))
    throw new Error(`not queued: ${ack.text}`);
  const posted = await until('the approval card', () => card(s), 30_000);
  const id = /`(p3-[0-9a-z]+)`/.exec(JSON.stringify(posted.blocks))?.[1] as string;
  const client = createSlackClient({
    url: `http://127.0.0.1:${s.instances[0]?.port}/slack/events`,
    signingSecret: SIGNING_SECRET,
  });
  for (const user of ['U0DAVE', 'U0ERIN']) {
    const before = s.slack.callsTo('response_url').length;
    await client.click({
      userId: user,
      actionId: 'mig_approve',
      value: id,
      channelId: APPROVALS,
      messageTs: posted.ts,
      responseUrl: s.slack.responseUrl(APPROVALS, user, posted.ts),
    });
    await until('the answer to the approval', () => s.slack.callsTo('response_url')[before]);
  }
}

/** The request id (`p3-…`, `p5-…`) a card names. */
export const requestIdOf = (m: FakeSlackMessage) =>
  /`(p[35]-[0-9a-z]+)`/.exec(JSON.stringify(m.blocks))?.[1] as string;

/** Clicks a button of the approvals channel as `user` (through bot `port`); resolves with the ephemeral answer. */
export function clicker(s: Stack, port?: number) {
  const client = createSlackClient({
    url: `http://127.0.0.1:${port ?? s.instances[0]?.port}/slack/events`,
    signingSecret: SIGNING_SECRET,
  });
  return async (user: string, actionId: string, value: string, ts: string): Promise<string> => {
    const before = s.slack.callsTo('response_url').length;
    await client.click({
      userId: user,
      actionId,
      value,
      channelId: APPROVALS,
      messageTs: ts,
      responseUrl: s.slack.responseUrl(APPROVALS, user, ts),
    });
    const call = await until('the answer to the click', () => s.slack.callsTo('response_url')[before]);
    return String(call.args.text);
  };
}

/** `/migration phase3 request <args>` as U0OPS; resolves with the approval card and its request id. */
export async function requestPhase3(s: Stack, args: string): Promise<{ c: FakeSlackMessage; id: string }> {
  const ack = await s.command('U0OPS', '/migration', `phase3 request ${args}`);
  if (!/Queued: checking the phase-3 prerequisites/.test(ack.text))
    throw new Error(`not queued: ${ack.text}`);
  const c = await until('the approval card', () => card(s), 30_000);
  return { c, id: requestIdOf(c) };
}

/** The state of a request as Redis holds it. */
export async function requestState(s: Stack, id: string): Promise<string | null> {
  return s.redis.hget(`${s.prefix}:mig:req:${id}`, 'state');
}
