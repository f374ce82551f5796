// The /migration world in moto, as test/integration/migration.test.ts seeds it: the cron host, the
// phase-1 role, profile and secret, and a week of matching dumps; plus reading the approval card.
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
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DateTime } from 'luxon';
import { createSlackClient, type FakeSlackMessage } from '../../devkit/index.js';
import { createAwsClients } from '../../infra/aws.js';
import { parseConfig } from '../../infra/config.js';
import { ACCOUNTS, SIGNING_SECRET, type Stack, startStack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

export const APPROVALS = 'C0APPROVE';
const BUCKET = 'jram-gghouse';
const ROLE = 'tokyobeta-prod-ec2-cron-role';
export const PROFILE = 'tokyobeta-prod-ec2-cron-profile';
const JOB = 'ggh_contractstatus';
// Fresh clients per call: moto is reset between tests, and an assumed-role session from before a
// reset would land in moto's default account.
const aws = <C>(ctor: new (c: never) => C) =>
  createAwsClients(parseConfig({ accounts: ACCOUNTS }, '/tmp')).client(
    ctor as never,
    'osio',
    'test-seed',
  ) as C;

async function seedWorld(migration: Record<string, unknown>) {
  const ec2 = aws(EC2Client);
  const images = await ec2.send(new DescribeImagesCommand({}));
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: images.Images?.[0]?.ImageId ?? 'ami-12c6146b',
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
    new CreateSecretCommand({ Name: 'tokyobeta/prod/rds/cron-credentials', SecretString: 'not-read' }),
  );
  const s3 = aws(S3Client);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const today = DateTime.now().setZone('Asia/Tokyo').startOf('day');
  for (let i = 0; i < 8; i++) {
    const key = `${JOB}_${today.minus({ days: i }).toFormat('yyyyMMdd')}`;
    const body = 'x'.repeat(1000 + i);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `dumps/${key}`, Body: body }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `dumps-test/${key}`, Body: body }));
  }
  return {
    migration: {
      account: 'osio',
      instanceId,
      role: ROLE,
      instanceProfile: PROFILE,
      secretId: 'tokyobeta/prod/rds/cron-credentials',
      bucket: BUCKET,
      approvals: 2,
      runMinutes: 0.1,
      waitTimeoutSeconds: 20,
      pollSeconds: 0.2,
      ...migration,
    },
    dumps: { account: 'osio', bucket: BUCKET, jobs: [{ name: JOB, cron: '1 6 * * *', prefix: 'dumps/' }] },
  };
}

/** A stack (one bot in this process, no worker) with the migration world seeded. */
export function migrationStack(opts: { lockMs?: number; migration?: Record<string, unknown> } = {}) {
  return startStack({
    roles: { admin: ['U0OPS'], approver: ['U0OPS', 'U0DAVE', 'U0ERIN'] },
    extraConfig: { maintenance: { remindBefore: ['1d'] } },
    seed: () => seedWorld(opts.migration ?? {}),
    topology: { bots: 1, workers: 0 },
    ...(opts.lockMs ? { jobs: { lockMs: opts.lockMs } } : {}),
  });
}

export function instanceIdOf(s: Stack): string {
  return (s.config.migration as { instanceId: string }).instanceId;
}

export function approvalCard(s: Stack): FakeSlackMessage | undefined {
  return s.slack
    .messages(APPROVALS)
    .find((m) => !m.thread_ts && /Phase 3: attach the instance profile/.test(JSON.stringify(m.blocks ?? '')));
}

export const cardText = (s: Stack) => JSON.stringify(approvalCard(s)?.blocks ?? '');

/** Requests phase 3 in `args` (e.g. `+2s 60s`) and has U0DAVE and U0ERIN approve it. */
export async function requestAndApprove(s: Stack, args: string): Promise<void> {
  const ack = await s.command('U0OPS', '/migration', `phase3 request ${args}`);
  if (!/Queued: checking the phase-3 prerequisites/.test(ack.text))
    throw new Error(`not queued: ${ack.text}`);
  const card = await until('the approval card', () => approvalCard(s), 30_000);
  const id = /`(p3-[0-9a-z]+)`/.exec(JSON.stringify(card.blocks))?.[1] as string;
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
      messageTs: card.ts,
      responseUrl: s.slack.responseUrl(APPROVALS, user, card.ts),
    });
    await until('the answer to the approval', () => s.slack.callsTo('response_url')[before]);
  }
}

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
