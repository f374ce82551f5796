// The dump bucket: the daily dumps the cron host's jobs upload (infra/cron/report-dump.sh), which the
// dump checks judge and /migration's phases 2 and 5 compare and clean up (the dumps-test/ twins).
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DateTime } from 'luxon';
import { ensureBucket, inBatches, type WorldTarget, worldClient } from './aws.js';

export interface DumpSeed {
  job: string;
  /** The job's place in `jobs`. */
  jobIndex: number;
  daysAgo: number;
  /** yyyy-MM-dd */
  day: string;
  prefix: string;
}

export interface DumpsWorldOptions extends WorldTarget {
  account: string;
  bucket: string;
  jobs: readonly string[];
  /** How many days of dumps each job has, the newest `from` days ago (0, the default: today's). */
  days: number;
  from?: number;
  /** The day the days count back from, yyyy-MM-dd (default: today in `zone`). */
  today?: string;
  /** Default Asia/Tokyo, the config's default timezone. */
  zone?: string;
  /** Where each dump is put (default dumps/; /migration's parallel test adds dumps-test/). */
  prefixes?: readonly string[];
  /** A dump's size in bytes (default 1000 + daysAgo). */
  size?: (d: DumpSeed) => number;
  /** Appended to the key (default .sql.gz; the config's key pattern matches keys that start alike). */
  extension?: string;
  /** Uploads at once (default 10). */
  concurrency?: number;
}

export interface DumpsWorld {
  bucket: string;
  /** Every key put, oldest day first per job and prefix. */
  keys: string[];
}

/** A dump's key: the config's default key pattern ({name}_{YYYYMMDD}) under `prefix`, then `extension`. */
export function dumpObjectKey(prefix: string, job: string, day: string, extension = '.sql.gz'): string {
  return `${prefix}${job}_${day.replace(/-/g, '')}${extension}`;
}

export interface PutDumpOptions extends WorldTarget {
  account: string;
  bucket: string;
  key: string;
  bytes: number;
  /** Recorded as the object's metadata, as the cron host does. */
  job?: string;
  day?: string;
}

/** Uploads one dump of `bytes` bytes. */
export async function putDump(o: PutDumpOptions, s3 = worldClient(o, S3Client, o.account)): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: o.bucket,
      Key: o.key,
      Body: Buffer.alloc(o.bytes, 0x1f),
      ContentType: 'application/gzip',
      Metadata: { ...(o.day ? { 'dump-date': o.day } : {}), ...(o.job ? { job: o.job } : {}) },
    }),
  );
}

/** Creates the bucket (unless there) and uploads every job's dumps for the days asked. */
export async function seedDumpsWorld(o: DumpsWorldOptions): Promise<DumpsWorld> {
  await ensureBucket(o, o.account, o.bucket);
  const s3 = worldClient(o, S3Client, o.account);
  const today = o.today
    ? DateTime.fromISO(o.today, { zone: 'UTC' })
    : DateTime.now()
        .setZone(o.zone ?? 'Asia/Tokyo')
        .startOf('day');
  const from = o.from ?? 0;
  const seeds: DumpSeed[] = o.jobs.flatMap((job, jobIndex) =>
    Array.from({ length: o.days }, (_, i) => from + o.days - 1 - i).flatMap((daysAgo) =>
      (o.prefixes ?? ['dumps/']).map((prefix) => ({
        job,
        jobIndex,
        daysAgo,
        day: today.minus({ days: daysAgo }).toISODate() as string,
        prefix,
      })),
    ),
  );
  const keys = seeds.map((d) => dumpObjectKey(d.prefix, d.job, d.day, o.extension));
  await inBatches(
    seeds.map(
      (d, i) => () =>
        putDump(
          { ...o, key: keys[i] as string, bytes: o.size?.(d) ?? 1000 + d.daysAgo, job: d.job, day: d.day },
          s3,
        ),
    ),
    o.concurrency ?? 10,
  );
  return { bucket: o.bucket, keys };
}
