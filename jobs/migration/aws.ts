// What /migration asks of AWS, each call through the per-account clients (the Slack user as
// SourceIdentity). The calls that change something take the stored plan (account, instance,
// profile; bucket, prefix), never the live config. It never reads the workload's secret:
// DescribeSecret, never GetSecretValue.
import { DateTime } from 'luxon';
import type { AwsClients } from '../../infra/aws.js';
import { awsErrorName, awsFailure, isNotFound } from '../../infra/aws-errors.js';
import type { Config } from '../../infra/config.js';
import { TransientError, UserError } from '../../infra/errors.js';
import { migrationConfig } from './plan.js';

/** What the calls need: the config (for the checks of the live world) and the per-account clients. */
export interface AwsDeps {
  config: Config;
  aws: AwsClients;
}

export interface CheckItem {
  name: string;
  ok: boolean;
  detail: string;
}

/** Phase 1: the role, the instance profile (with that role in it) and the credentials secret exist. */
export async function checkPhase1(deps: AwsDeps, user: string): Promise<CheckItem[]> {
  const m = migrationConfig(deps.config);
  const iamSdk = await import('@aws-sdk/client-iam');
  const smSdk = await import('@aws-sdk/client-secrets-manager');
  const iam = deps.aws.client(iamSdk.IAMClient, m.account, user);
  const sm = deps.aws.client(smSdk.SecretsManagerClient, m.account, user);
  const items: CheckItem[] = [];
  try {
    await iam.send(new iamSdk.GetRoleCommand({ RoleName: m.role }));
    items.push({ name: `IAM role ${m.role}`, ok: true, detail: 'exists' });
  } catch (err) {
    if (!isNotFound(err)) throw awsFailure(err, `GetRole ${m.role}`);
    items.push({ name: `IAM role ${m.role}`, ok: false, detail: 'does not exist' });
  }
  try {
    const res = await iam.send(
      new iamSdk.GetInstanceProfileCommand({ InstanceProfileName: m.instanceProfile }),
    );
    const roles = (res.InstanceProfile?.Roles ?? []).map((r) => r.RoleName);
    const has = roles.includes(m.role);
    items.push({
      name: `instance profile ${m.instanceProfile}`,
      ok: has,
      detail: has
        ? `exists, with ${m.role}`
        : `exists, but holds ${roles.join(', ') || 'no role'} instead of ${m.role}`,
    });
  } catch (err) {
    if (!isNotFound(err)) throw awsFailure(err, `GetInstanceProfile ${m.instanceProfile}`);
    items.push({ name: `instance profile ${m.instanceProfile}`, ok: false, detail: 'does not exist' });
  }
  try {
    await sm.send(new smSdk.DescribeSecretCommand({ SecretId: m.secretId }));
    items.push({ name: `secret ${m.secretId}`, ok: true, detail: 'exists (its value is never read)' });
  } catch (err) {
    if (awsErrorName(err) !== 'ResourceNotFoundException')
      throw awsFailure(err, `DescribeSecret ${m.secretId}`);
    items.push({ name: `secret ${m.secretId}`, ok: false, detail: 'does not exist' });
  }
  return items;
}

export interface DayCheck {
  /** YYYY-MM-DD in the configured zone. */
  date: string;
  good: boolean;
  detail: string;
}

export interface Phase2Result {
  days: DayCheck[];
  /** Consecutive good days ending today (or yesterday, while today's dumps may still be coming). */
  streak: number;
}

const SIZE_TOLERANCE = 0.05;

/** The object key of a dump job for a day (`keyPattern`, default `{name}_{YYYYMMDD}`). */
export function dumpKey(pattern: string, name: string, day: DateTime): string {
  return pattern.replace('{name}', name).replace('{YYYYMMDD}', day.toFormat('yyyyMMdd'));
}

/**
 * Phase 2: for each of the last 14 days (in `timezone`), both the `dumps/` and the test object of
 * every configured dump job exist and their sizes are within 5 %. Computed from what S3 holds, so
 * a new install knows the history: one listing per job and prefix.
 */
export async function checkPhase2(deps: AwsDeps, user: string, now: number): Promise<Phase2Result> {
  const m = migrationConfig(deps.config);
  const jobs = deps.config.dumps?.jobs ?? [];
  if (!jobs.length)
    throw new UserError(
      'not_configured',
      'phase 2 compares the dumps of dumps.jobs, and none are configured',
    );
  const zone = deps.config.timezone;
  const today = DateTime.fromMillis(now, { zone }).startOf('day');
  const days = Array.from({ length: 14 }, (_, i) => today.minus({ days: i }));
  const list = (prefix: string) => listObjects(deps, user, { account: m.account, bucket: m.bucket, prefix });
  const sizeOf = (objects: Map<string, number>, key: string): number | undefined => {
    for (const [k, size] of objects) if (k === key || k.startsWith(`${key}.`)) return size;
    return undefined;
  };
  const problems = new Map<string, string[]>(days.map((d) => [d.toISODate() as string, []]));
  for (const job of jobs) {
    const pattern = (job as { keyPattern?: string }).keyPattern ?? '{name}_{YYYYMMDD}';
    const stem = pattern.split('{YYYYMMDD}')[0]?.replace('{name}', job.name) ?? job.name;
    const prod = await list(`${job.prefix}${stem}`);
    const test = await list(`${m.testPrefix}${stem}`);
    for (const day of days) {
      const key = dumpKey(pattern, job.name, day);
      const a = sizeOf(prod, `${job.prefix}${key}`);
      const b = sizeOf(test, `${m.testPrefix}${key}`);
      const p = problems.get(day.toISODate() as string) as string[];
      if (a === undefined) p.push(`${job.name}: no ${job.prefix} object`);
      else if (b === undefined) p.push(`${job.name}: no ${m.testPrefix} object`);
      else if (Math.abs(a - b) > SIZE_TOLERANCE * Math.max(a, b)) {
        p.push(`${job.name}: sizes differ by ${Math.round((Math.abs(a - b) / Math.max(a, b)) * 100)} %`);
      }
    }
  }
  const checks: DayCheck[] = days.map((d) => {
    const p = problems.get(d.toISODate() as string) ?? [];
    return {
      date: d.toISODate() as string,
      good: p.length === 0,
      detail: p.join('; ') || 'both dumps, sizes within 5 %',
    };
  });
  let i = checks[0]?.good ? 0 : 1;
  let streak = 0;
  while (checks[i]?.good) {
    streak += 1;
    i += 1;
  }
  return { days: checks, streak };
}

/** Where objects are listed or deleted: an account alias, a bucket and a key prefix. */
export interface S3Place {
  account: string;
  bucket: string;
  prefix: string;
}

/** Every object under the prefix (ListObjectsV2, all pages): key -> size in bytes. */
export async function listObjects(deps: AwsDeps, user: string, at: S3Place): Promise<Map<string, number>> {
  const s3Sdk = await import('@aws-sdk/client-s3');
  const s3 = deps.aws.client(s3Sdk.S3Client, at.account, user);
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const res = await s3
      .send(
        new s3Sdk.ListObjectsV2Command({ Bucket: at.bucket, Prefix: at.prefix, ContinuationToken: token }),
      )
      .catch((err) => {
        throw awsFailure(err, `ListObjectsV2 s3://${at.bucket}/${at.prefix}`);
      });
    for (const o of res.Contents ?? []) if (o.Key) out.set(o.Key, o.Size ?? 0);
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** DeleteObjects takes at most this many keys. */
export const DELETE_BATCH = 1000;

/** Throws unless every key is under a non-empty `prefix`: no bug upstream can widen a deletion. */
function assertUnder(keys: string[], prefix: string): void {
  if (!prefix) throw new UserError('no_prefix', 'refusing to delete without a key prefix');
  const foreign = keys.find((k) => !k.startsWith(prefix));
  if (foreign !== undefined)
    throw new UserError('foreign_key', `refusing to delete "${foreign}": it is not under ${prefix}`);
}

/** Splits keys into DeleteObjects batches; refuses (throws) if any key is not under `prefix`. */
export function deletionBatches(keys: string[], prefix: string, size = DELETE_BATCH): string[][] {
  assertUnder(keys, prefix);
  const out: string[][] = [];
  for (let i = 0; i < keys.length; i += size) out.push(keys.slice(i, i + size));
  return out;
}

/**
 * Deletes one batch (DeleteObjects, quiet). S3 answers a key that is already gone as deleted, so a
 * retried batch is harmless; a key S3 refuses fails the batch, naming it.
 */
export async function deleteObjects(deps: AwsDeps, user: string, at: S3Place, keys: string[]): Promise<void> {
  assertUnder(keys, at.prefix);
  if (!keys.length) return;
  if (keys.length > DELETE_BATCH) throw new Error(`at most ${DELETE_BATCH} keys per DeleteObjects`);
  const s3Sdk = await import('@aws-sdk/client-s3');
  const s3 = deps.aws.client(s3Sdk.S3Client, at.account, user);
  const res = await s3
    .send(
      new s3Sdk.DeleteObjectsCommand({
        Bucket: at.bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    )
    .catch((err) => {
      throw awsFailure(err, `DeleteObjects in s3://${at.bucket}/${at.prefix}`);
    });
  const [first, ...more] = res.Errors ?? [];
  if (first) {
    const what = `${first.Key}: ${first.Code ?? 'error'}${first.Message ? ` (${first.Message})` : ''}`;
    const text = `AWS refused to delete ${more.length + 1} of ${keys.length} objects in s3://${at.bucket}, e.g. ${what}`;
    // Access denied will not change on a retry; anything else (InternalError, SlowDown) may.
    throw first.Code === 'AccessDenied'
      ? new UserError('aws_AccessDenied', text)
      : new TransientError('aws_delete', text);
  }
}

/** Where an EC2 call acts: the stored plan's account and instance. */
export interface Ec2Target {
  account: string;
  instanceId: string;
}

async function ec2(deps: AwsDeps, user: string, t: Ec2Target) {
  const sdk = await import('@aws-sdk/client-ec2');
  return { sdk, client: deps.aws.client(sdk.EC2Client, t.account, user) };
}

export interface InstanceInfo {
  state: string;
  name?: string;
}

/** The instance's state and Name tag; a UserError when it does not exist. */
export async function describeInstance(deps: AwsDeps, user: string, t: Ec2Target): Promise<InstanceInfo> {
  const { sdk, client } = await ec2(deps, user, t);
  const missing = () =>
    new UserError('no_instance', `instance ${t.instanceId} does not exist in ${t.account}`);
  try {
    const res = await client.send(new sdk.DescribeInstancesCommand({ InstanceIds: [t.instanceId] }));
    const inst = res.Reservations?.[0]?.Instances?.[0];
    if (!inst) throw missing();
    return { state: inst.State?.Name ?? 'unknown', name: inst.Tags?.find((x) => x.Key === 'Name')?.Value };
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (awsErrorName(err) === 'InvalidInstanceID.NotFound') throw missing();
    throw awsFailure(err, `DescribeInstances ${t.instanceId}`);
  }
}

export interface Association {
  id: string;
  profileArn: string;
  state: string;
}

/** The instance's instance-profile associations (associating or associated). */
export async function associations(deps: AwsDeps, user: string, t: Ec2Target): Promise<Association[]> {
  const { sdk, client } = await ec2(deps, user, t);
  const res = await client
    .send(
      new sdk.DescribeIamInstanceProfileAssociationsCommand({
        Filters: [{ Name: 'instance-id', Values: [t.instanceId] }],
      }),
    )
    .catch((err) => {
      throw awsFailure(err, `DescribeIamInstanceProfileAssociations ${t.instanceId}`);
    });
  return (res.IamInstanceProfileAssociations ?? [])
    .filter((a) => a.State === 'associated' || a.State === 'associating')
    .map((a) => ({
      id: a.AssociationId ?? '',
      profileArn: a.IamInstanceProfile?.Arn ?? '',
      state: a.State ?? '',
    }));
}

export async function stopInstance(deps: AwsDeps, user: string, t: Ec2Target): Promise<void> {
  const { sdk, client } = await ec2(deps, user, t);
  await client.send(new sdk.StopInstancesCommand({ InstanceIds: [t.instanceId] })).catch((err) => {
    throw awsFailure(err, `StopInstances ${t.instanceId}`);
  });
}

export async function startInstance(deps: AwsDeps, user: string, t: Ec2Target): Promise<void> {
  const { sdk, client } = await ec2(deps, user, t);
  await client.send(new sdk.StartInstancesCommand({ InstanceIds: [t.instanceId] })).catch((err) => {
    throw awsFailure(err, `StartInstances ${t.instanceId}`);
  });
}

export async function associateProfile(
  deps: AwsDeps,
  user: string,
  t: Ec2Target & { instanceProfile: string },
): Promise<void> {
  const { sdk, client } = await ec2(deps, user, t);
  await client
    .send(
      new sdk.AssociateIamInstanceProfileCommand({
        InstanceId: t.instanceId,
        IamInstanceProfile: { Name: t.instanceProfile },
      }),
    )
    .catch((err) => {
      throw awsFailure(err, `AssociateIamInstanceProfile ${t.instanceProfile} with ${t.instanceId}`);
    });
}

export async function disassociate(
  deps: AwsDeps,
  user: string,
  t: Ec2Target,
  associationId: string,
): Promise<void> {
  const { sdk, client } = await ec2(deps, user, t);
  await client
    .send(new sdk.DisassociateIamInstanceProfileCommand({ AssociationId: associationId }))
    .catch((err) => {
      throw awsFailure(err, `DisassociateIamInstanceProfile ${associationId}`);
    });
}

/** True when an association ARN names the profile. */
export function isOurProfile(arn: string, profileName: string): boolean {
  return arn.endsWith(`:instance-profile/${profileName}`) || arn.endsWith(`/${profileName}`);
}

/**
 * Everything /migration asks of AWS, as one small interface: the real one below, a recording fake
 * in the model-based tests. The calls that change something are the ones the run guards.
 */
export interface MigrationAws {
  checkPhase1(user: string): Promise<CheckItem[]>;
  checkPhase2(user: string, now: number): Promise<Phase2Result>;
  describeInstance(user: string, t: Ec2Target): Promise<InstanceInfo>;
  associations(user: string, t: Ec2Target): Promise<Association[]>;
  listObjects(user: string, at: S3Place): Promise<Map<string, number>>;
  /** Mutating. */
  stopInstance(user: string, t: Ec2Target): Promise<void>;
  startInstance(user: string, t: Ec2Target): Promise<void>;
  associateProfile(user: string, t: Ec2Target & { instanceProfile: string }): Promise<void>;
  disassociate(user: string, t: Ec2Target, associationId: string): Promise<void>;
  deleteObjects(user: string, at: S3Place, keys: string[]): Promise<void>;
}

/** The real AWS, through the per-account clients. */
export function createMigrationAws(deps: AwsDeps): MigrationAws {
  return {
    checkPhase1: (user) => checkPhase1(deps, user),
    checkPhase2: (user, now) => checkPhase2(deps, user, now),
    describeInstance: (user, t) => describeInstance(deps, user, t),
    associations: (user, t) => associations(deps, user, t),
    listObjects: (user, at) => listObjects(deps, user, at),
    stopInstance: (user, t) => stopInstance(deps, user, t),
    startInstance: (user, t) => startInstance(deps, user, t),
    associateProfile: (user, t) => associateProfile(deps, user, t),
    disassociate: (user, t, id) => disassociate(deps, user, t, id),
    deleteObjects: (user, at, keys) => deleteObjects(deps, user, at, keys),
  };
}
