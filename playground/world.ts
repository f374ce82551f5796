// Seeds moto with the world of the seeds: the accounts' IAM users, the DynamoDB table and buckets of
// seed 003, and the EC2 cron host of seed 000 with its role, instance profile, secret and daily dumps.
// Every step tolerates "already exists", so seeding a moto you already run (AWS_ENDPOINT_URL) is safe.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateLoginProfileCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetInstanceProfileCommand,
  IAMClient,
  PutRolePolicyCommand,
  UpdateAccountPasswordPolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DateTime } from 'luxon';
import { type AwsClients, createAwsClients } from '../infra/aws.js';
import { parseConfig } from '../infra/config.js';
import {
  ACCOUNTS,
  type AccountAlias,
  type DemoPerson,
  DUMP_JOBS,
  DUMPS_BUCKET,
  DUMPS_PREFIX,
  DUMPS_TEST_PREFIX,
  TIMEZONE,
} from './demo-config.js';

export const TABLE = 'prod_txlog';
export const BACKUP_BUCKET = 'dynamodb-migration-backups-osio';
export const INSTANCE_NAME = 'JRAM-GGH-EC2';
export const CRON_ROLE = 'tokyobeta-prod-ec2-cron-role';
export const CRON_PROFILE = 'tokyobeta-prod-ec2-cron-profile';
export const CRON_SECRET = 'tokyobeta/prod/rds/cron-credentials';
/**
 * Days of dumps seeded, today included: the dump checks compare today's with the 7 before it, and
 * phase 2 needs a 7-day streak even while today's dump is made missing or short (`/world dump`).
 */
export const DUMP_DAYS = 9;
// Moto's default account: the identity the bot's own (testing) credentials map to.
const BOT_ACCOUNT = '123456789012';
/** The requester the seeding calls are made for (the role session name in moto). */
const SEED = 'playground-seed';

/** Per-account password policies: two strict ones, and none in gghouse (the bot then uses its default). */
const PASSWORD_POLICIES: Partial<Record<AccountAlias, number>> = { 'osio-dev': 24, osio: 32 };

const ALREADY = new Set([
  'EntityAlreadyExists',
  'EntityAlreadyExistsException',
  'BucketAlreadyOwnedByYou',
  'BucketAlreadyExists',
  'ResourceInUseException',
  'ResourceExistsException',
  'TableAlreadyExistsException',
  'LimitExceeded',
]);

/** Runs a create call; "already exists" counts as done. */
async function ensure(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error && ALREADY.has(err.name)) return;
    throw err;
  }
}

/** A throwaway password that satisfies any policy above; nobody ever sees it. */
function throwawayPassword(): string {
  return `${randomBytes(24).toString('base64url')}Aa1!`;
}

/** The seeded cron host, created unless one named JRAM-GGH-EC2 is already there. */
async function ensureInstance(aws: AwsClients): Promise<string> {
  const ec2 = aws.client(EC2Client, 'gghouse', SEED);
  const found = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:Name', Values: [INSTANCE_NAME] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    }),
  );
  const existing = found.Reservations?.flatMap((r) => r.Instances ?? [])[0]?.InstanceId;
  if (existing) return existing;
  const images = await ec2.send(
    new DescribeImagesCommand({
      Filters: [{ Name: 'name', Values: ['ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*'] }],
    }),
  );
  const created = await ec2.send(
    new RunInstancesCommand({
      ImageId: images.Images?.[0]?.ImageId ?? 'ami-12c6146b',
      InstanceType: 't3.medium',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: [
            { Key: 'Name', Value: INSTANCE_NAME },
            { Key: 'Purpose', Value: 'cron host (mysqldump to s3://jram-gghouse/dumps/)' },
          ],
        },
      ],
    }),
  );
  const id = created.Instances?.[0]?.InstanceId;
  if (!id) throw new Error('moto RunInstances returned no instance id');
  return id;
}

/** The object key of a seeded dump: the config's default key pattern, then the file's extension. */
export function dumpObjectKey(prefix: string, job: string, day: string): string {
  return `${prefix}${job}_${day.replace(/-/g, '')}.sql.gz`;
}

/**
 * A dump's size on a day: within ±2 % of the job's size, and its dumps-test/ twin within ±1 % of it
 * (phase 2 wants 5 %). Fixed by the day and the job rather than random, so every run looks alike.
 */
export function seededSize(bytes: number, daysAgo: number, jobIndex: number, test: boolean): number {
  const size = bytes * (1 + 0.02 * Math.sin(daysAgo * 1.7 + jobIndex));
  return Math.round(test ? size * (1 + 0.01 * Math.cos(daysAgo * 2.3 + jobIndex)) : size);
}

export interface SeededWorld {
  instanceId: string;
  /** One line per account, for the start-up banner. */
  summary: string[];
}

/** Seeds every account; `policyPath` is the bot's IAM policy, given to the chatops-bot role in each. */
export async function seedWorld(opts: {
  people: DemoPerson[];
  policyPath: string;
  baseDir: string;
}): Promise<SeededWorld> {
  const aws = createAwsClients(parseConfig({ accounts: ACCOUNTS }, opts.baseDir));
  const botPolicy = await readFile(opts.policyPath, 'utf8');
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${BOT_ACCOUNT}:root` },
        Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
      },
    ],
  });
  const summary: Record<AccountAlias, string> = { osio: '', 'osio-dev': '', gghouse: '' };

  for (const alias of Object.keys(ACCOUNTS) as AccountAlias[]) {
    const iam = aws.client(IAMClient, alias, SEED);
    await ensure(
      iam.send(new CreateRoleCommand({ RoleName: 'chatops-bot', AssumeRolePolicyDocument: trust })),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'chatops-bot',
        PolicyName: 'chatops-bot',
        PolicyDocument: botPolicy,
      }),
    );
    const users = opts.people.flatMap((p) => (p.iamUsers[alias] ? [p.iamUsers[alias]] : []));
    for (const user of users) {
      await ensure(iam.send(new CreateUserCommand({ UserName: user })));
      await ensure(
        iam.send(
          new CreateLoginProfileCommand({
            UserName: user,
            Password: throwawayPassword(),
            PasswordResetRequired: false,
          }),
        ),
      );
    }
    const minLength = PASSWORD_POLICIES[alias];
    if (minLength) {
      await iam.send(
        new UpdateAccountPasswordPolicyCommand({
          MinimumPasswordLength: minLength,
          RequireSymbols: true,
          RequireNumbers: true,
          RequireUppercaseCharacters: true,
          RequireLowercaseCharacters: true,
        }),
      );
    }
    summary[alias] = `${alias} ${ACCOUNTS[alias].id}: IAM users ${users.join(', ')} (${
      minLength ? `password policy: ${minLength}+ chars` : 'no password policy'
    })`;
  }

  // osio: the production table of seed 003, with point-in-time recovery so --native works too.
  const ddb = aws.client(DynamoDBClient, 'osio', SEED);
  await ensure(
    ddb.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: 'txId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'txId', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    ),
  );
  await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: TABLE });
  await ddb.send(
    new UpdateContinuousBackupsCommand({
      TableName: TABLE,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    }),
  );
  const items = Array.from({ length: 25 }, (_, i) => ({
    PutRequest: {
      Item: {
        txId: { S: `tx-${String(i + 1).padStart(4, '0')}` },
        amount: { N: String(100 + i * 7) },
        currency: { S: 'JPY' },
        createdAt: { S: new Date(Date.now() - i * 3_600_000).toISOString() },
      },
    },
  }));
  await ddb.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: items } }));
  summary.osio += `; DynamoDB ${TABLE} (${items.length} items, point-in-time recovery on)`;

  // osio-dev: the cross-account backup bucket developers restore from.
  await ensure(
    aws.client(S3Client, 'osio-dev', SEED).send(new CreateBucketCommand({ Bucket: BACKUP_BUCKET })),
  );
  summary['osio-dev'] += `; bucket ${BACKUP_BUCKET}`;

  // gghouse: the cron host before the migration (no instance profile), and what phase 1 created.
  const instanceId = await ensureInstance(aws);
  const gIam = aws.client(IAMClient, 'gghouse', SEED);
  await ensure(
    gIam.send(
      new CreateRoleCommand({
        RoleName: CRON_ROLE,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    ),
  );
  await gIam.send(
    new PutRolePolicyCommand({
      RoleName: CRON_ROLE,
      PolicyName: 'cron-dumps-and-credentials',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:PutObject'],
            Resource: [`arn:aws:s3:::${DUMPS_BUCKET}/dumps/*`, `arn:aws:s3:::${DUMPS_BUCKET}/dumps-test/*`],
          },
          {
            Effect: 'Allow',
            Action: ['secretsmanager:GetSecretValue'],
            Resource: `arn:aws:secretsmanager:${ACCOUNTS.gghouse.region}:${ACCOUNTS.gghouse.id}:secret:${CRON_SECRET}-*`,
          },
        ],
      }),
    }),
  );
  await ensure(gIam.send(new CreateInstanceProfileCommand({ InstanceProfileName: CRON_PROFILE })));
  const profile = await gIam.send(new GetInstanceProfileCommand({ InstanceProfileName: CRON_PROFILE }));
  if (!profile.InstanceProfile?.Roles?.some((r) => r.RoleName === CRON_ROLE)) {
    await gIam.send(
      new AddRoleToInstanceProfileCommand({ InstanceProfileName: CRON_PROFILE, RoleName: CRON_ROLE }),
    );
  }
  // The workload's secret: the bot may describe it but must never read it (seed 002).
  await ensure(
    aws.client(SecretsManagerClient, 'gghouse', SEED).send(
      new CreateSecretCommand({
        Name: CRON_SECRET,
        Description: 'RDS credentials for the cron dumps (playground: made up)',
        SecretString: JSON.stringify({
          host: 'ggh-rds.playground.invalid',
          port: 3306,
          username: 'cron_dump',
          password: randomBytes(18).toString('base64url'),
        }),
      }),
    ),
  );

  // Daily dumps of each job under dumps/ and, for the parallel test of phase 2, dumps-test/ (within 5 %).
  const s3 = aws.client(S3Client, 'gghouse', SEED);
  await ensure(
    s3.send(
      new CreateBucketCommand({
        Bucket: DUMPS_BUCKET,
        CreateBucketConfiguration: { LocationConstraint: ACCOUNTS.gghouse.region },
      }),
    ),
  );
  const today = DateTime.now().setZone(TIMEZONE).startOf('day');
  const puts = DUMP_JOBS.flatMap((job, j) =>
    Array.from({ length: DUMP_DAYS }, (_, daysAgo) => {
      const day = today.minus({ days: daysAgo }).toISODate() as string;
      return [DUMPS_PREFIX, DUMPS_TEST_PREFIX].map(
        (prefix) => () =>
          s3.send(
            new PutObjectCommand({
              Bucket: DUMPS_BUCKET,
              Key: dumpObjectKey(prefix, job.name, day),
              Body: randomBytes(seededSize(job.bytes, daysAgo, j, prefix === DUMPS_TEST_PREFIX)),
              ContentType: 'application/gzip',
              Metadata: { 'dump-date': day, job: job.name },
            }),
          ),
      );
    }).flat(),
  );
  // A few at a time: moto answers them one by one anyway, and this keeps the start-up quick.
  for (let i = 0; i < puts.length; i += 10) await Promise.all(puts.slice(i, i + 10).map((put) => put()));
  summary.gghouse +=
    `; EC2 ${INSTANCE_NAME} ${instanceId}; role ${CRON_ROLE}, profile ${CRON_PROFILE}, secret ${CRON_SECRET}` +
    `; bucket ${DUMPS_BUCKET} (${DUMP_DAYS} days of ${DUMP_JOBS.length} jobs' dumps under ${DUMPS_PREFIX} and ${DUMPS_TEST_PREFIX})`;

  return { instanceId, summary: Object.values(summary) };
}
