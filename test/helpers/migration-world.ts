// The /migration world in moto, shared by the integration and fault tests: the cron host, the
// phase-1 role, profile and secret, and matching dumps in both prefixes; plus reading the card.
import {
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Queue } from 'bullmq';
import { DateTime } from 'luxon';
import { createSlackClient, type FakeSlackMessage } from '../../devkit/index.js';
import { createAwsClients } from '../../infra/aws.js';
import { parseConfig } from '../../infra/config.js';
import { ACCOUNTS, SIGNING_SECRET, type Stack, startStack } from './stack.js';
import { until } from './wait.js';

export const APPROVALS = 'C0APPROVE';
export const BUCKET = 'jram-gghouse';
export const ROLE = 'tokyobeta-prod-ec2-cron-role';
export const PROFILE = 'tokyobeta-prod-ec2-cron-profile';
const SECRET_ID = 'tokyobeta/prod/rds/cron-credentials';
export const SECRET_VALUE = 'workload-secret-value-Zx81';
export const JOB = 'ggh_contractstatus';
// Fresh clients per call: moto is reset between tests, and an assumed-role session from before a
// reset would land in moto's default account.
export const aws = <C>(ctor: new (c: never) => C) =>
  createAwsClients(parseConfig({ accounts: ACCOUNTS }, '/tmp')).client(
    ctor as never,
    'osio',
    'test-seed',
  ) as C;

/** A week and a day of matching dumps in both prefixes (one day's test dump `shrink`-ed, optionally). */
async function seedDumps(days: number, shrink?: { daysAgo: number; pct: number }): Promise<void> {
  const s3 = aws(S3Client);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const today = DateTime.now().setZone('Asia/Tokyo').startOf('day');
  for (let i = 0; i < days; i++) {
    const key = `${JOB}_${today.minus({ days: i }).toFormat('yyyyMMdd')}`;
    const size = 1000 + i;
    const testSize = shrink?.daysAgo === i ? Math.floor(size * (1 - shrink.pct / 100)) : size;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `dumps/${key}`, Body: 'x'.repeat(size) }));
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `dumps-test/${key}`, Body: 'x'.repeat(testSize) }),
    );
  }
}

/** The cron host, the phase-1 role, profile and secret, and the dumps; returns the migration config. */
export async function seedWorld(
  opts: {
    cron?: string;
    jobs?: string[];
    dumpDays?: number;
    shrink?: { daysAgo: number; pct: number };
    migration?: Record<string, unknown>;
  } = {},
) {
  const ec2 = aws(EC2Client);
  const images = await ec2.send(new DescribeImagesCommand({}));
  const imageId = images.Images?.[0]?.ImageId ?? 'ami-12c6146b';
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: imageId,
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 't3.medium',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'JRAM-GGH-EC2' }] }],
    }),
  );
  const instanceId = run.Instances?.[0]?.InstanceId as string;
  const iam = aws(IAMClient);
  await iam.send(new CreateRoleCommand({ RoleName: ROLE, AssumeRolePolicyDocument: '{}' }));
  await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: PROFILE }));
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: PROFILE, RoleName: ROLE }));
  await aws(SecretsManagerClient).send(
    new CreateSecretCommand({ Name: SECRET_ID, SecretString: SECRET_VALUE }),
  );
  await seedDumps(opts.dumpDays ?? 8, opts.shrink);
  return {
    migration: {
      account: 'osio',
      instanceId,
      role: ROLE,
      instanceProfile: PROFILE,
      secretId: SECRET_ID,
      bucket: BUCKET,
      approvals: 2,
      runMinutes: 0.1,
      waitTimeoutSeconds: 20,
      pollSeconds: 0.2,
      ...opts.migration,
    },
    dumps: {
      account: 'osio',
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

export function migrationStack(
  world: Parameters<typeof seedWorld>[0] = {},
  extra: Partial<Parameters<typeof startStack>[0]> = {},
) {
  return startStack({
    roles: { admin: ['U0OPS'], approver: ['U0OPS', 'U0DAVE', 'U0ERIN'] },
    extraConfig: { maintenance: { remindBefore: ['1d'] } },
    seed: () => seedWorld(world),
    ...extra,
  });
}

export function card(s: Stack): FakeSlackMessage | undefined {
  return s.slack
    .messages(APPROVALS)
    .find((m) => !m.thread_ts && /Phase 3: attach the instance profile/.test(JSON.stringify(m.blocks ?? '')));
}

export const cardText = (s: Stack) => JSON.stringify(card(s)?.blocks ?? '');

/** The instance's state and its associated instance profiles, read from moto. */
export async function instance(instanceId: string) {
  const ec2 = aws(EC2Client);
  const res = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const assoc = await ec2.send(
    new DescribeIamInstanceProfileAssociationsCommand({
      Filters: [{ Name: 'instance-id', Values: [instanceId] }],
    }),
  );
  return {
    state: res.Reservations?.[0]?.Instances?.[0]?.State?.Name,
    associations: (assoc.IamInstanceProfileAssociations ?? []).filter((a) => a.State === 'associated'),
  };
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
