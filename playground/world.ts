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
import { createAwsClients } from '../infra/aws.js';
import { parseConfig } from '../infra/config.js';
import { ACCOUNTS, type AccountAlias, type DemoPerson } from './demo-config.js';

export const TABLE = 'prod_txlog';
export const BACKUP_BUCKET = 'dynamodb-migration-backups-osio';
export const DUMPS_BUCKET = 'jram-gghouse';
export const INSTANCE_NAME = 'JRAM-GGH-EC2';
export const CRON_ROLE = 'tokyobeta-prod-ec2-cron-role';
export const CRON_PROFILE = 'tokyobeta-prod-ec2-cron-profile';
export const CRON_SECRET = 'tokyobeta/prod/rds/cron-credentials';
const DUMP_JOB = 'ggh_datatransit';
const DUMP_DAYS = 7;
// The seed's dumps are ~940 MB; the playground keeps their proportions at 1/10 000 of the size.
const DUMP_BASE_BYTES = 94_000;
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

/** YYYY-MM-DD in the dump host's time zone, `daysAgo` days back. */
function tokyoDate(daysAgo: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(
    new Date(Date.now() - daysAgo * 86_400_000),
  );
}

/**
 * EC2 over moto's query API: the bot does not depend on @aws-sdk/client-ec2, so the playground does
 * not either. Moto takes the account from its `x-moto-account-id` header and does not check signatures.
 */
async function ec2(motoUrl: string, accountId: string, region: string, params: Record<string, string>) {
  const res = await fetch(`${motoUrl}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-moto-account-id': accountId,
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20250101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Version: '2016-11-15', ...params }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto EC2 ${params.Action} failed: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

/** The seeded cron host, created unless one named JRAM-GGH-EC2 is already there. */
async function ensureInstance(motoUrl: string): Promise<string> {
  const { id: account, region } = ACCOUNTS.gghouse;
  const found = await ec2(motoUrl, account, region, {
    Action: 'DescribeInstances',
    'Filter.1.Name': 'tag:Name',
    'Filter.1.Value.1': INSTANCE_NAME,
    'Filter.2.Name': 'instance-state-name',
    'Filter.2.Value.1': 'pending',
    'Filter.2.Value.2': 'running',
    'Filter.2.Value.3': 'stopping',
    'Filter.2.Value.4': 'stopped',
  });
  const existing = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(found)?.[1];
  if (existing) return existing;
  const images = await ec2(motoUrl, account, region, {
    Action: 'DescribeImages',
    'Filter.1.Name': 'name',
    'Filter.1.Value.1': 'ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*',
  });
  const imageId = /<imageId>(ami-[0-9a-f]+)<\/imageId>/.exec(images)?.[1] ?? 'ami-12c6146b';
  const created = await ec2(motoUrl, account, region, {
    Action: 'RunInstances',
    ImageId: imageId,
    InstanceType: 't3.medium',
    MinCount: '1',
    MaxCount: '1',
    'TagSpecification.1.ResourceType': 'instance',
    'TagSpecification.1.Tag.1.Key': 'Name',
    'TagSpecification.1.Tag.1.Value': INSTANCE_NAME,
    'TagSpecification.1.Tag.2.Key': 'Purpose',
    'TagSpecification.1.Tag.2.Value': 'cron host (mysqldump to s3://jram-gghouse/dumps/)',
  });
  const id = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(created)?.[1];
  if (!id) throw new Error(`moto RunInstances returned no instance id: ${created.slice(0, 300)}`);
  return id;
}

export interface SeededWorld {
  instanceId: string;
  /** One line per account, for the start-up banner. */
  summary: string[];
}

/** Seeds every account; `policyPath` is the bot's IAM policy, given to the chatops-bot role in each. */
export async function seedWorld(opts: {
  motoUrl: string;
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
  const instanceId = await ensureInstance(opts.motoUrl);
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

  // A week of daily dumps under dumps/ and, for the parallel test of phase 2, dumps-test/ (within 5 %).
  const s3 = aws.client(S3Client, 'gghouse', SEED);
  await ensure(
    s3.send(
      new CreateBucketCommand({
        Bucket: DUMPS_BUCKET,
        CreateBucketConfiguration: { LocationConstraint: ACCOUNTS.gghouse.region },
      }),
    ),
  );
  for (let day = DUMP_DAYS - 1; day >= 0; day--) {
    const date = tokyoDate(day);
    const size = Math.round(DUMP_BASE_BYTES * (1 + (Math.random() - 0.5) * 0.04));
    const testSize = Math.round(size * (1 + (Math.random() - 0.5) * 0.02));
    for (const [prefix, bytes] of [
      ['dumps/', size],
      ['dumps-test/', testSize],
    ] as const) {
      await s3.send(
        new PutObjectCommand({
          Bucket: DUMPS_BUCKET,
          Key: `${prefix}${DUMP_JOB}_${date.replace(/-/g, '')}.sql.gz`,
          Body: randomBytes(bytes),
          ContentType: 'application/gzip',
          Metadata: { 'dump-date': date, job: DUMP_JOB },
        }),
      );
    }
  }
  summary.gghouse +=
    `; EC2 ${INSTANCE_NAME} ${instanceId}; role ${CRON_ROLE}, profile ${CRON_PROFILE}, secret ${CRON_SECRET}` +
    `; bucket ${DUMPS_BUCKET} (${DUMP_DAYS} days of dumps/ and dumps-test/)`;

  return { instanceId, summary: Object.values(summary) };
}
