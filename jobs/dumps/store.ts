// Dump alerts in Redis: one hash per job per day (its state, failure count, what was last seen, the
// Slack message, who acknowledged), and one small hash per job with its last check for /dumps status.
// Every transition is one Lua script (scripts.ts), so two workers checking (or two people clicking)
// at once cannot both win: one posts the alert, the other edits it.
import type { Redis } from '../../infra/redis.js';
import { RAISE_ARGV, type RaiseArgs, runScript } from './scripts.js';

export type AlertState = 'open' | 'acked' | 'resolved';

/** What a check (or a cron host report) saw. */
export type Verdict = 'ok' | 'missing' | 'too-small' | 'too-large' | 'empty' | 'reported-failed';

/** The facts an alert message shows: what was expected and what was seen. Names and sizes only. */
export interface Finding {
  verdict: Verdict;
  /** When it was seen (epoch ms). */
  at: number;
  source: 'check' | 'report';
  /** The key (prefix + pattern for the day) the day's object must start with. */
  expectedKey: string;
  /** The cron time plus the grace (epoch ms). */
  dueAt: number;
  /** Accepted size range in bytes, when there is history to compare with. */
  range?: [number, number];
  median?: number;
  tolerancePct?: number;
  historyDays?: number;
  seenKey?: string;
  seenSize?: number;
  /** From a cron host report. */
  exitCode?: number;
  message?: string;
}

export interface DumpAlert {
  id: string;
  job: string;
  /** The dump's day (YYYY-MM-DD in the configured time zone). */
  day: string;
  /** The cron time the alert is about (epoch ms). */
  fireAt: number;
  state: AlertState;
  count: number;
  firstAt: number;
  lastAt: number;
  last?: Finding;
  /** The maintenance window active when it was last raised, if any: no mention while it lasts. */
  windowId?: string;
  windowTitle?: string;
  windowEnd?: number;
  ackedBy?: string;
  ackedAt?: number;
  resolvedAt?: number;
  resolved?: Finding;
  channel?: string;
  ts?: string;
  /** The alert went out as a normal one (with the mention, if configured), in the channel or its thread. */
  mentioned: boolean;
  version: number;
}

export interface DumpStore {
  redis: Redis;
  prefix: string;
}

/** Alert ids are what buttons carry: `da-<job>-<YYYYMMDD>`. */
export const ALERT_ID = /^da-[\w.-]{1,100}-\d{8}$/;
/** Alerts are kept this long after their last change, for /dumps status and the audit trail. */
const KEEP_MS = 14 * 86_400_000;
/** A post or a "resolved" reply claimed this long ago by a worker that never finished is taken over. */
export const CLAIM_STALE_MS = 60_000;

export function alertId(job: string, day: string): string {
  return `da-${job}-${day.replace(/-/g, '')}`;
}

const alertKey = (s: DumpStore, id: string) => `${s.prefix}:dump:alert:${id}`;
const lastKey = (s: DumpStore, job: string) => `${s.prefix}:dump:last:${job}`;
// Every failure's alert id, scored by when it was last seen: kept far longer than the alerts, since
// the migration's cleanup gate asks whether any check failed since a cutover weeks ago.
const failedKey = (s: DumpStore) => `${s.prefix}:dump:failed`;
const FAILED_KEEP_MS = 400 * 86_400_000;

function json<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

const num = (v: string | undefined) => (v ? Number(v) : undefined);

function fromHash(h: Record<string, string>): DumpAlert | undefined {
  if (!h.id || !h.state) return undefined;
  return {
    id: h.id,
    job: h.job ?? '',
    day: h.day ?? '',
    fireAt: Number(h.fireAt),
    state: h.state as AlertState,
    count: Number(h.count ?? 0),
    firstAt: Number(h.firstAt),
    lastAt: Number(h.lastAt),
    last: json<Finding>(h.last),
    windowId: h.windowId || undefined,
    windowTitle: h.windowTitle || undefined,
    windowEnd: num(h.windowEnd),
    ackedBy: h.ackedBy || undefined,
    ackedAt: num(h.ackedAt),
    resolvedAt: num(h.resolvedAt),
    resolved: json<Finding>(h.resolved),
    channel: h.channel || undefined,
    ts: h.ts || undefined,
    mentioned: h.mentioned === '1',
    version: Number(h.version ?? 0),
  };
}

/** An alert by id, or undefined. */
export async function getAlert(s: DumpStore, id: string): Promise<DumpAlert | undefined> {
  if (!ALERT_ID.test(id)) return undefined;
  return fromHash(await s.redis.hgetall(alertKey(s, id)));
}

/**
 * What the raiser must do with Slack: `post` the alert (it holds the claim), `edit` it, `notify` (edit,
 * and post the mention in its thread: it now alerts normally, after a window or a reopening), or
 * `wait` (another worker is posting it and will pick up this change).
 */
export type RaiseAction = 'post' | 'edit' | 'notify' | 'wait';

export interface Raised {
  /** new: first failure of the day; reopened: failing again after it was resolved; updated: a later failure. */
  change: 'new' | 'reopened' | 'updated';
  action: RaiseAction;
}

/**
 * Records a failure for the job's day: creates the alert (open, count 1), reopens a resolved one, or
 * counts a later failure; `window` labels it (no mention) or, when absent, clears the label. A retried
 * attempt of the same check (`checkId`) is not counted twice. The failure's time is also kept for
 * latestFailure, long after the alert itself is gone.
 */
export async function raiseAlert(
  s: DumpStore,
  a: { id: string; job: string; day: string; fireAt: number },
  finding: Finding,
  window: { id: string; title: string; end: number } | undefined,
  now: number,
  checkId: string,
): Promise<Raised> {
  const args: RaiseArgs = {
    id: a.id,
    job: a.job,
    day: a.day,
    fireAt: String(a.fireAt),
    now: String(now),
    last: JSON.stringify(finding),
    windowId: window?.id ?? '',
    windowTitle: window?.title ?? '',
    windowEnd: window ? String(window.end) : '',
    keepMs: String(KEEP_MS),
    staleMs: String(CLAIM_STALE_MS),
    checkId,
    failedBefore: String(now - FAILED_KEEP_MS),
  };
  const [change, action] = (await runScript(
    s.redis,
    'dumpRaise',
    [alertKey(s, a.id), failedKey(s)],
    RAISE_ARGV.map((name) => args[name]),
  )) as [Raised['change'], RaiseAction];
  return { change, action };
}

/** Records the posted alert message (first writer wins) and whether it carried the mention. */
export async function setAlertMessage(
  s: DumpStore,
  id: string,
  ref: { channel: string; ts: string },
  mentioned: boolean,
): Promise<boolean> {
  const set = await runScript(
    s.redis,
    'dumpSetMessage',
    [alertKey(s, id)],
    [ref.channel, ref.ts, mentioned ? '1' : '0'],
  );
  return set === 1;
}

/** Marks that the normal alert went out in the thread (`done`), or gives up the claim (the post failed). */
export async function markMentioned(s: DumpStore, id: string, done: boolean): Promise<void> {
  await s.redis.hset(alertKey(s, id), 'mentioned', done ? '1' : '0');
}

/**
 * Keeps a claim taken by raiseAlert (`post`: the alert message; `notify`: the normal alert in its
 * thread) or resolveAlert (`resolve`) fresh while its worker is still at it (e.g. waiting out a 429),
 * so it never looks stale to another worker. True when there was such a claim to renew.
 */
export async function renewClaim(
  s: DumpStore,
  id: string,
  claim: 'post' | 'notify' | 'resolve',
  now: number,
): Promise<boolean> {
  const renewed = await runScript(s.redis, 'dumpRenewClaim', [alertKey(s, id)], [claim, String(now)]);
  return renewed === 1;
}

/** Gives up a post claim (the post failed), so the next raise or retry posts it. */
export async function releasePost(s: DumpStore, id: string): Promise<void> {
  await s.redis.hdel(alertKey(s, id), 'posting');
}

export type AckResult =
  | { result: 'ok' }
  | { result: 'already'; by: string }
  | { result: 'resolved' | 'gone' };

/** open -> acked, recording who. A second click finds it acked and changes nothing. */
export async function ackAlert(s: DumpStore, id: string, user: string, now: number): Promise<AckResult> {
  const [result, by] = (await runScript(s.redis, 'dumpAck', [alertKey(s, id)], [user, String(now)])) as [
    string,
    string,
  ];
  if (result === 'already') return { result, by };
  return { result: result === 'ok' ? 'ok' : result === 'resolved' ? 'resolved' : 'gone' };
}

/**
 * open / acked -> resolved. Returns `post` when the caller must edit the message and post "resolved"
 * in its thread (once: a claim that a dead worker left is taken over after CLAIM_STALE_MS), else `none`.
 */
export async function resolveAlert(
  s: DumpStore,
  id: string,
  finding: Finding,
  now: number,
): Promise<'post' | 'none'> {
  return (await runScript(
    s.redis,
    'dumpResolve',
    [alertKey(s, id)],
    [JSON.stringify(finding), String(now), String(CLAIM_STALE_MS)],
  )) as 'post' | 'none';
}

/** Records that "resolved" was posted in the thread (`ts`), or gives up the claim (the post failed). */
export async function markResolvePosted(s: DumpStore, id: string, ts: string | undefined): Promise<void> {
  await s.redis.hset(alertKey(s, id), 'resolvePost', ts ?? 'claimed:0');
}

/** A job's last check, for /dumps status. */
export interface LastCheck {
  at: number;
  reason: string;
  verdict: Verdict;
  day: string;
  /** The newest object the check saw (today's, or the latest of the history). */
  objectKey?: string;
  objectDay?: string;
  objectSize?: number;
  median?: number;
  /** The alert of the job's latest failing day, until it is resolved. */
  alertId?: string;
  /** When a check of the job last passed (epoch ms); set by saveLastCheck from an `ok` verdict. */
  lastPassAt?: number;
}

export async function saveLastCheck(s: DumpStore, job: string, last: LastCheck): Promise<void> {
  const { alertId: _ignored, lastPassAt: _kept, ...rest } = last;
  const fields = Object.entries(rest).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
  // A passing check also records when the job last passed (kept across failing ones, for monitoring).
  if (last.verdict === 'ok') fields.push('lastPassAt', String(last.at));
  const k = lastKey(s, job);
  // The fields of the previous check that this one lacks must not linger (e.g. an object seen before).
  await s.redis
    .multi()
    .hdel(k, 'objectKey', 'objectDay', 'objectSize', 'median')
    .hset(k, ...fields)
    .exec();
}

/** Points the job's status at its open alert. */
export async function setOpenAlert(s: DumpStore, job: string, id: string): Promise<void> {
  await s.redis.hset(lastKey(s, job), 'alertId', id);
}

/** Clears the job's open alert when it is `id` (a newer day's alert stays); true when cleared. */
export async function clearOpenAlert(s: DumpStore, job: string, id: string): Promise<boolean> {
  return (await runScript(s.redis, 'dumpClearOpen', [lastKey(s, job)], [id])) === 1;
}

/** The job's last check and open alert; undefined when it was never checked nor alerted. */
export async function getLastCheck(s: DumpStore, job: string): Promise<LastCheck | undefined> {
  const h = await s.redis.hgetall(lastKey(s, job));
  if (!h.at && !h.alertId) return undefined;
  return {
    at: Number(h.at ?? 0),
    reason: h.reason ?? '',
    verdict: (h.verdict ?? 'ok') as Verdict,
    day: h.day ?? '',
    objectKey: h.objectKey || undefined,
    objectDay: h.objectDay || undefined,
    objectSize: num(h.objectSize),
    median: num(h.median),
    alertId: h.alertId || undefined,
    lastPassAt: num(h.lastPassAt),
  };
}

/** One configured job's check times and the state of its open alert, for monitoring. */
export interface DumpJobHealth {
  job: string;
  lastCheckAt?: number;
  lastPassAt?: number;
  alertId?: string;
  alertState?: AlertState;
}

/**
 * The check times and open alert of every job in `jobs`, in two round trips whatever their number
 * (one pipeline of HMGETs, one of the alerts' states): what a metrics scrape reads.
 */
export async function dumpHealth(s: DumpStore, jobs: readonly string[]): Promise<DumpJobHealth[]> {
  if (!jobs.length) return [];
  const p = s.redis.pipeline();
  for (const job of jobs) p.hmget(lastKey(s, job), 'at', 'lastPassAt', 'alertId');
  const rows = (await p.exec()) ?? [];
  const out: DumpJobHealth[] = jobs.map((job, i) => {
    const [err, v] = rows[i] ?? [null, null];
    if (err) throw err;
    const [at, pass, alert] = (v as (string | null)[] | null) ?? [];
    return {
      job,
      lastCheckAt: at ? Number(at) : undefined,
      lastPassAt: pass ? Number(pass) : undefined,
      alertId: alert && ALERT_ID.test(alert) ? alert : undefined,
    };
  });
  const withAlert = out.filter((h) => h.alertId !== undefined);
  if (withAlert.length) {
    const q = s.redis.pipeline();
    for (const h of withAlert) q.hget(alertKey(s, h.alertId as string), 'state');
    const states = (await q.exec()) ?? [];
    withAlert.forEach((h, i) => {
      const [err, v] = states[i] ?? [null, null];
      if (err) throw err;
      if (v === 'open' || v === 'acked' || v === 'resolved') h.alertState = v;
    });
  }
  return out;
}

/** The alerts of `jobs` that are not resolved (open or acknowledged), newest first. */
export async function openAlerts(s: DumpStore, jobs: readonly string[]): Promise<DumpAlert[]> {
  const health = await dumpHealth(s, jobs);
  const ids = health.filter((h) => h.alertState === 'open' || h.alertState === 'acked');
  const alerts = await Promise.all(ids.map((h) => getAlert(s, h.alertId as string)));
  return alerts
    .filter((a): a is DumpAlert => a !== undefined && a.state !== 'resolved')
    .sort((a, b) => b.lastAt - a.lastAt);
}

/** A failed dump check (or a failure the cron host reported): which job, which dump day, when. */
export interface FailedCheck {
  alertId: string;
  job: string;
  /** The dump's day (YYYY-MM-DD). */
  day: string;
  /** When the failure was last seen (epoch ms). */
  at: number;
  /** What was seen, while the alert is still kept. */
  verdict?: Verdict;
}

/** The most recent failure of any job (kept 400 days), or undefined when none was ever recorded. */
export async function latestFailure(s: DumpStore): Promise<FailedCheck | undefined> {
  const [id, score] = await s.redis.zrevrange(failedKey(s), 0, 0, 'WITHSCORES');
  const m = id ? /^da-(.+)-(\d{4})(\d{2})(\d{2})$/.exec(id) : null;
  if (!id || !m) return undefined;
  const alert = await getAlert(s, id);
  return {
    alertId: id,
    job: m[1] as string,
    day: `${m[2]}-${m[3]}-${m[4]}`,
    at: Number(score),
    verdict: alert?.last?.verdict,
  };
}
