// The /migration world: the cron host before the migration (an EC2 instance with no instance
// profile) and what phase 1 created beside it (the role, its instance profile, the workload's secret).
// The dumps the phases compare are the dumps world's (./dumps.ts).
import {
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  type IamInstanceProfileAssociation,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ensure, type WorldTarget, worldClient } from './aws.js';

export interface MigrationWorldOptions extends WorldTarget {
  /** The account alias the cron host lives in. */
  account: string;
  /** The host's Name tag (default JRAM-GGH-EC2); an instance so named is reused. */
  instanceName?: string;
  role?: string;
  instanceProfile?: string;
  secretId?: string;
  /** The workload's secret: the bot may describe it but must never read it (default: made-up RDS credentials). */
  secretValue?: string;
  /** The dump bucket the host's role may write to (its inline policy; default jram-gghouse). */
  bucket?: string;
}

/** What the migration config names (`migration.account`, `instanceId`, `role`, …). */
export interface MigrationWorld {
  account: string;
  instanceId: string;
  role: string;
  instanceProfile: string;
  secretId: string;
  bucket: string;
}

export const MIGRATION_WORLD = {
  instanceName: 'JRAM-GGH-EC2',
  role: 'tokyobeta-prod-ec2-cron-role',
  instanceProfile: 'tokyobeta-prod-ec2-cron-profile',
  secretId: 'tokyobeta/prod/rds/cron-credentials',
  bucket: 'jram-gghouse',
} as const;

/** The host, created unless an instance with its Name tag is already there. */
async function ensureHost(ec2: EC2Client, name: string, bucket: string): Promise<string> {
  const found = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:Name', Values: [name] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    }),
  );
  const existing = found.Reservations?.flatMap((r) => r.Instances ?? [])[0]?.InstanceId;
  if (existing) return existing;
  const ubuntu = await ec2.send(
    new DescribeImagesCommand({
      Filters: [{ Name: 'name', Values: ['ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*'] }],
    }),
  );
  const image =
    ubuntu.Images?.[0]?.ImageId ??
    (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId ??
    'ami-12c6146b';
  const created = await ec2.send(
    new RunInstancesCommand({
      ImageId: image,
      InstanceType: 't3.medium',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: [
            { Key: 'Name', Value: name },
            { Key: 'Purpose', Value: `cron host (mysqldump to s3://${bucket}/dumps/)` },
          ],
        },
      ],
    }),
  );
  const id = created.Instances?.[0]?.InstanceId;
  if (!id) throw new Error('moto RunInstances returned no instance id');
  return id;
}

/** Seeds the host, role, instance profile and secret; every step tolerates "already exists". */
export async function seedMigrationWorld(o: MigrationWorldOptions): Promise<MigrationWorld> {
  const world: MigrationWorld = {
    account: o.account,
    instanceId: '',
    role: o.role ?? MIGRATION_WORLD.role,
    instanceProfile: o.instanceProfile ?? MIGRATION_WORLD.instanceProfile,
    secretId: o.secretId ?? MIGRATION_WORLD.secretId,
    bucket: o.bucket ?? MIGRATION_WORLD.bucket,
  };
  const account = o.accounts[o.account];
  if (!account) throw new Error(`the world has no account "${o.account}"`);
  world.instanceId = await ensureHost(
    worldClient(o, EC2Client, o.account),
    o.instanceName ?? MIGRATION_WORLD.instanceName,
    world.bucket,
  );

  const iam = worldClient(o, IAMClient, o.account);
  await ensure(
    iam.send(
      new CreateRoleCommand({
        RoleName: world.role,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    ),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: world.role,
      PolicyName: 'cron-dumps-and-credentials',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:PutObject'],
            Resource: [`arn:aws:s3:::${world.bucket}/dumps/*`, `arn:aws:s3:::${world.bucket}/dumps-test/*`],
          },
          {
            Effect: 'Allow',
            Action: ['secretsmanager:GetSecretValue'],
            Resource: `arn:aws:secretsmanager:${account.region}:${account.id}:secret:${world.secretId}-*`,
          },
        ],
      }),
    }),
  );
  await ensure(iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: world.instanceProfile })));
  const profile = await iam.send(
    new GetInstanceProfileCommand({ InstanceProfileName: world.instanceProfile }),
  );
  if (!profile.InstanceProfile?.Roles?.some((r) => r.RoleName === world.role)) {
    await iam.send(
      new AddRoleToInstanceProfileCommand({
        InstanceProfileName: world.instanceProfile,
        RoleName: world.role,
      }),
    );
  }
  await ensure(
    worldClient(o, SecretsManagerClient, o.account).send(
      new CreateSecretCommand({
        Name: world.secretId,
        Description: 'RDS credentials for the cron dumps (made up)',
        SecretString:
          o.secretValue ??
          JSON.stringify({
            host: 'ggh-rds.world.invalid',
            port: 3306,
            username: 'cron_dump',
            password: 'not-read',
          }),
      }),
    ),
  );
  return world;
}

export interface HostState {
  /** pending, running, stopping, stopped…, or undefined when moto has no such instance. */
  state: string | undefined;
  name: string | undefined;
  /** Its instance profile associations, in every state EC2 still lists. */
  associations: IamInstanceProfileAssociation[];
}

/** The host's state and instance profile associations, as EC2 reports them. */
export async function describeHost(ec2: EC2Client, instanceId: string): Promise<HostState> {
  const res = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const inst = res.Reservations?.[0]?.Instances?.[0];
  const assoc = await ec2.send(
    new DescribeIamInstanceProfileAssociationsCommand({
      Filters: [{ Name: 'instance-id', Values: [instanceId] }],
    }),
  );
  return {
    state: inst?.State?.Name,
    name: inst?.Tags?.find((t) => t.Key === 'Name')?.Value,
    associations: assoc.IamInstanceProfileAssociations ?? [],
  };
}
