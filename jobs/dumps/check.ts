// The dump check itself, pure: does the day's object exist, and is its size within tolerance of the
// median of the previous 7 days' objects? The one ListObjectsV2 request it needs (aws.ts sends it),
// never a scan of the bucket.
import { DateTime } from 'luxon';
import type { Config } from '../../infra/config.js';
import type { Finding, Verdict } from './store.js';

export type DumpsConfig = NonNullable<Config['dumps']>;
export type DumpJobConfig = DumpsConfig['jobs'][number];

/** How many earlier days the median is taken over. */
export const HISTORY_DAYS = 7;
/** One page of ListObjectsV2: the listed range is 8 days of one job's keys (see listDumpRange). */
const MAX_KEYS = 1000;

/** The job's config by name, or undefined. */
export function dumpJob(config: Config, name: string): DumpJobConfig | undefined {
  return config.dumps?.jobs.find((j) => j.name === name);
}

/** The calendar day (YYYY-MM-DD) of `at` in `zone`. */
export function dayOf(at: number, zone: string): string {
  return DateTime.fromMillis(at, { zone }).toISODate() ?? '';
}

/** The job's key after its prefix for `day` (YYYY-MM-DD): the key pattern with its placeholders filled. */
export function renderKey(pattern: string, name: string, day: string): string {
  const [y = '', m = '', d = ''] = day.split('-');
  const values: Record<string, string> = { name, YYYYMMDD: `${y}${m}${d}`, YYYY: y, MM: m, DD: d };
  return pattern.replace(/\{(name|YYYYMMDD|YYYY|MM|DD)\}/g, (_, t: string) => values[t] ?? '');
}

/** `day` moved by `n` calendar days. */
export function addDays(day: string, n: number): string {
  return DateTime.fromISO(day, { zone: 'UTC' }).plus({ days: n }).toISODate() ?? '';
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

/**
 * The one ListObjectsV2 request of a check. The key pattern puts the date in year-month-day order
 * (config validation), so the keys of the 8 days that matter (the 7 before `day`, and `day`) are one
 * contiguous run in S3's key order: Prefix is what those keys share (the job's prefix and name plus
 * the common part of the dates), StartAfter skips everything before the oldest of them. A page of
 * 1000 keys holds them unless a job writes over 100 objects a day.
 */
export function listRequest(bucket: string, job: DumpJobConfig, day: string) {
  const first = job.prefix + renderKey(job.keyPattern, job.name, addDays(day, -HISTORY_DAYS - 1));
  const last = job.prefix + renderKey(job.keyPattern, job.name, day);
  return { Bucket: bucket, Prefix: commonPrefix(first, last), StartAfter: first, MaxKeys: MAX_KEYS };
}

export interface ListedObject {
  key: string;
  size: number;
}

/** What one check found: the verdict and the facts the alert and /dumps status show. */
export interface CheckOutcome {
  verdict: Verdict;
  day: string;
  finding: Finding;
  /** The newest object seen (the day's, or the latest earlier one). */
  newest?: { key: string; day: string; size: number };
}

/** The median of `values` (mean of the middle two for an even count); undefined for none. */
export function median(values: number[]): number | undefined {
  if (!values.length) return undefined;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/**
 * Judges the listed objects for `day`: the day's object is the largest key that starts with the
 * job's key for the day (a checksum file beside the dump does not hide a short dump); each earlier
 * day counts with its largest object.
 */
export function judge(
  job: DumpJobConfig,
  day: string,
  objects: ListedObject[],
  at: number,
  dueAt: number,
): CheckOutcome {
  const largest = (d: string) => {
    const key = job.prefix + renderKey(job.keyPattern, job.name, d);
    let best: ListedObject | undefined;
    for (const o of objects) if (o.key.startsWith(key) && (!best || o.size > best.size)) best = o;
    return best;
  };
  const today = largest(day);
  const history: { day: string; object: ListedObject }[] = [];
  for (let i = 1; i <= HISTORY_DAYS; i++) {
    const d = addDays(day, -i);
    const o = largest(d);
    if (o) history.push({ day: d, object: o });
  }
  const med = median(history.map((h) => h.object.size));
  const tol = job.sizeTolerancePct / 100;
  const range: [number, number] | undefined =
    med === undefined ? undefined : [Math.floor(med * (1 - tol)), Math.ceil(med * (1 + tol))];
  let verdict: Verdict = 'ok';
  if (!today) verdict = 'missing';
  else if (today.size === 0) verdict = 'empty';
  else if (range && today.size < range[0]) verdict = 'too-small';
  else if (range && today.size > range[1]) verdict = 'too-large';
  const newest = today
    ? { key: today.key, day, size: today.size }
    : history[0] && {
        key: history[0].object.key,
        day: history[0].day,
        size: history[0].object.size,
      };
  return {
    verdict,
    day,
    newest,
    finding: {
      verdict,
      at,
      source: 'check',
      expectedKey: job.prefix + renderKey(job.keyPattern, job.name, day),
      dueAt,
      range,
      median: med,
      tolerancePct: job.sizeTolerancePct,
      historyDays: history.length,
      seenKey: today?.key,
      seenSize: today?.size,
    },
  };
}
