// `/world`: the playground's hand on the demo world in moto, standing in for the cron host and the
// EC2 console. It shows what the bot's commands changed, and makes today's dump missing, short or
// whole again so the dump checks have something to find. Nothing here goes through the bot.
import {
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  type _Object,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { AwsClients } from '../infra/aws.js';
import type { Config } from '../infra/config.js';
import { lastFire } from '../infra/cron.js';
import { addDays, dayOf, formatBytes, HISTORY_DAYS, median, renderKey } from '../jobs/dumps/index.js';

/** Who the playground's own calls are made as (the role session name in moto). */
const WORLD = 'playground-world';
/** A short dump is this share of the median: well outside any tolerance the demo uses. */
const SHORT_SHARE = 0.5;
const STATES = ['missing', 'short', 'ok'] as const;

export type DumpState = (typeof STATES)[number];

export type WorldArgs = { what: 'show' } | { what: 'dump'; job: string; state: DumpState };

export const WORLD_USAGE = `/world                          the cron host and today's dumps as moto holds them
/world dump JOB missing|short|ok  today's dump of JOB deleted, uploaded at half the usual size, or
                                uploaded at the usual size (then /dumps check JOB)`;

/** Parses `/world` arguments against the configured dump jobs; throws with the usage on a mistake. */
export function parseWorldArgs(args: string[], jobs: readonly string[]): WorldArgs {
  if (args.length === 0) return { what: 'show' };
  const [what, job, state, ...rest] = args;
  if (what !== 'dump' || rest.length > 0)
    throw new Error(`/world takes no "${args.join(' ')}"; use\n${WORLD_USAGE}`);
  if (!job || !jobs.includes(job))
    throw new Error(
      `/world dump needs a dump job: ${jobs.join(', ')} (e.g. /world dump ggh_datatransit missing)`,
    );
  if (!STATES.includes(state as DumpState))
    throw new Error(`/world dump ${job} needs what to make of today's dump: ${STATES.join(', ')}`);
  return { what: 'dump', job, state: state as DumpState };
}

export interface WorldCommands {
  /** Runs `/world ARGS`; the lines to show. Throws with a message for the user on a mistake. */
  run(args: string[]): Promise<string[]>;
}

export function createWorldCommands(opts: {
  config: Config;
  aws: AwsClients;
  now?: () => number;
}): WorldCommands {
  const { config, aws } = opts;
  const now = opts.now ?? Date.now;
  const dumps = config.dumps;
  const migration = config.migration;
  const zone = config.timezone;
  const jobs = dumps?.jobs ?? [];

  const s3 = () => {
    if (!dumps) throw new Error('the config has no dumps: nothing to change');
    return { client: aws.client(S3Client, dumps.account, WORLD), bucket: dumps.bucket };
  };
  const list = async (prefix: string): Promise<_Object[]> => {
    const { client, bucket } = s3();
    const out: _Object[] = [];
    let token: string | undefined;
    do {
      const res = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      out.push(...(res.Contents ?? []));
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  };
  const sizeOn = (objects: _Object[], stem: string): number | undefined => {
    const sizes = objects.filter((o) => o.Key?.startsWith(stem)).map((o) => o.Size ?? 0);
    return sizes.length ? Math.max(...sizes) : undefined;
  };

  type Job = (typeof jobs)[number];
  /** The day a check of the job judges now: its last cron fire's, in the configured zone. */
  const dayFor = (job: Job) => dayOf(lastFire(job.cron, zone, now()), zone);
  /** The start every key of the job shares under `prefix`, the date left out. */
  const stemOf = (job: Job, prefix: string) =>
    prefix + (job.keyPattern.split('{YYYY')[0] ?? '').replace('{name}', job.name);
  const keyOf = (job: Job, prefix: string, day: string) => prefix + renderKey(job.keyPattern, job.name, day);

  /** The job's objects under `prefix`: the day's size and the median of the days before it. */
  const sizes = async (job: Job, prefix: string, day: string) => {
    const objects = await list(stemOf(job, prefix));
    const history = Array.from({ length: HISTORY_DAYS }, (_, i) =>
      sizeOn(objects, keyOf(job, prefix, addDays(day, -i - 1))),
    ).filter((n): n is number => n !== undefined);
    return {
      objects,
      day: sizeOn(objects, keyOf(job, prefix, day)),
      median: median(history),
      historyDays: history.length,
    };
  };

  const instanceLines = async (): Promise<string[]> => {
    if (!migration) return [];
    const ec2 = aws.client(EC2Client, migration.account, WORLD);
    const res = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [migration.instanceId] }));
    const inst = res.Reservations?.[0]?.Instances?.[0];
    const assoc = await ec2.send(
      new DescribeIamInstanceProfileAssociationsCommand({
        Filters: [{ Name: 'instance-id', Values: [migration.instanceId] }],
      }),
    );
    const profiles = (assoc.IamInstanceProfileAssociations ?? [])
      .filter((a) => a.State === 'associated' || a.State === 'associating')
      .map((a) => `${a.IamInstanceProfile?.Arn?.split('/').pop() ?? '?'} (${a.State})`);
    const name = inst?.Tags?.find((t) => t.Key === 'Name')?.Value;
    return [
      `  EC2 ${name ? `${name} ` : ''}${migration.instanceId} (${migration.account}): ${inst?.State?.Name ?? 'not found'}; instance profile: ${profiles.join(', ') || 'none'}`,
    ];
  };

  const dumpLines = async (): Promise<string[]> => {
    if (!dumps || !jobs.length) return [];
    const testPrefix = migration?.testPrefix;
    const size = (n: number | undefined) => (n === undefined ? 'missing' : formatBytes(Math.round(n)));
    const lines = [
      `  s3://${dumps.bucket}: the dump each check judges now${testPrefix ? ` (and its ${testPrefix} twin)` : ''}, and the median of the ${HISTORY_DAYS} days before`,
    ];
    for (const job of jobs) {
      const day = dayFor(job);
      const prod = await sizes(job, job.prefix, day);
      const test = testPrefix ? await sizes(job, testPrefix, day) : undefined;
      lines.push(
        `    ${job.name.padEnd(22)} ${day}  ${size(prod.day)}${test ? `  (${size(test.day)})` : ''}  median ${prod.median === undefined ? 'none' : size(prod.median)}`,
      );
    }
    return lines;
  };

  const setDump = async (name: string, state: DumpState): Promise<string[]> => {
    const { client, bucket } = s3();
    const job = jobs.find((j) => j.name === name);
    if (!job) throw new Error(`no dump job ${name}`);
    const day = dayFor(job);
    const key = keyOf(job, job.prefix, day);
    const prod = await sizes(job, job.prefix, day);
    const existing = prod.objects.flatMap((o) => (o.Key?.startsWith(key) ? [o.Key] : []));
    for (const k of existing) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: k }));
    const gone = existing.length
      ? `deleted ${existing.map((k) => `s3://${bucket}/${k}`).join(', ')}`
      : `there was no ${key}…`;
    if (state === 'missing') return [`(world: ${gone})`];
    // Whole again at its dumps-test/ twin's size when there is one, so phase 2 stays happy too.
    const testPrefix = migration?.testPrefix;
    const twin = testPrefix ? (await sizes(job, testPrefix, day)).day : undefined;
    const usual = twin ?? Math.round(prod.median ?? 100_000);
    const bytes = state === 'short' ? Math.round((prod.median ?? usual) * SHORT_SHARE) : usual;
    const newKey = `${key}.sql.gz`;
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: newKey,
        Body: Buffer.alloc(bytes, 0x1f),
        ContentType: 'application/gzip',
        Metadata: { 'dump-date': day, job: job.name },
      }),
    );
    const share = prod.median
      ? ` (${Math.round((bytes / prod.median) * 100)} % of the ${prod.historyDays}-day median)`
      : '';
    return [`(world: ${gone}; uploaded s3://${bucket}/${newKey}, ${formatBytes(bytes)}${share})`];
  };

  return {
    async run(args) {
      const a = parseWorldArgs(
        args,
        jobs.map((j) => j.name),
      );
      if (a.what === 'dump') {
        const lines = await setDump(a.job, a.state);
        lines.push(`(the bot notices at the next check: /dumps check ${a.job} runs one now)`);
        return lines;
      }
      return ['The demo world in moto:', ...(await instanceLines()), ...(await dumpLines())];
    },
  };
}
