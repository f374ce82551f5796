// A maintenance window's record in Redis: one hash per window (its state, times, texts, the
// announcement's Slack ref, the notices of its thread and how far each got), and an index by start
// time. This module is the only writer of a window: every guarded transition is one Lua script of
// scripts.ts (whose header describes the hash), so two replicas clicking or firing at once cannot
// both win; the plain writes below touch only fields no script guards.
import type { Redis } from '../../infra/redis.js';
import { runScript } from './scripts.js';
import {
  type MaintenanceWindow,
  type NewWindow,
  type NoticeSpec,
  newWindowId,
  noticeFields,
  noticeKey,
  specField,
  specOf,
  standardNotices,
  threadOrder,
  WINDOW_ID,
  type WindowState,
  type WindowTexts,
} from './window.js';

export interface WindowStore {
  redis: Redis;
  prefix: string;
}

/** The window's hash (jobs/migration/store.ts reads it too, by the same key). */
export const windowKey = (s: WindowStore, id: string) => `${s.prefix}:mw:w:${id}`;
/** The windows by start time. */
export const indexKey = (s: WindowStore) => `${s.prefix}:mw:index`;
/** Windows are kept this long after their end, for list, audit and the alerts that read them. */
const KEEP_AFTER_END_MS = 30 * 86_400_000;

function fromHash(h: Record<string, string>): MaintenanceWindow | undefined {
  if (!h.id || !h.state) return undefined;
  const sent: Record<string, string> = {};
  const notices: NoticeSpec[] = [];
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith('sent:')) sent[k.slice(5)] = v;
    else if (k.startsWith('n:')) {
      const n = specOf(v);
      if (n) notices.push(n);
    }
  }
  return {
    id: h.id,
    title: h.title ?? '',
    start: Number(h.start),
    end: Number(h.end),
    state: h.state as WindowState,
    createdBy: h.createdBy ?? '',
    createdAt: Number(h.createdAt),
    requestId: h.requestId || undefined,
    impact: h.impact ?? '',
    purpose: h.purpose ?? '',
    rollback: h.rollback ?? '',
    contact: h.contact ?? '',
    channel: h.channel || undefined,
    ts: h.ts || undefined,
    sent,
    notices: notices.sort(threadOrder),
    version: Number(h.version ?? 0),
  };
}

function windowFields(id: string, w: NewWindow, leads: number[]): string[] {
  return [
    ...Object.entries({
      id,
      title: w.title,
      start: String(w.start),
      end: String(w.end),
      state: 'scheduled',
      createdBy: w.createdBy,
      createdAt: String(w.createdAt),
      requestId: w.requestId ?? '',
      impact: w.impact,
      purpose: w.purpose,
      rollback: w.rollback,
      contact: w.contact,
      version: '1',
    }).flat(),
    ...noticeFields(standardNotices(w, leads)),
  ];
}

async function createAs(s: WindowStore, id: string, w: NewWindow, leads: number[]): Promise<1 | string> {
  return (await runScript(
    s.redis,
    'mwCreate',
    [windowKey(s, id), indexKey(s)],
    [
      String(w.start),
      String(w.end + KEEP_AFTER_END_MS),
      id,
      String(w.createdAt - 2 * KEEP_AFTER_END_MS - 31 * 86_400_000),
      ...windowFields(id, w, leads),
    ],
  )) as 1 | string;
}

/**
 * Stores a new window (state scheduled) under a fresh short id, with its standard notices registered
 * (reminders for `leads`; the announce job registers the configured ones it lacks); returns it.
 */
export async function createWindow(
  s: WindowStore,
  w: NewWindow,
  leads: number[] = [],
): Promise<MaintenanceWindow> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const id = newWindowId(attempt >= 5);
    if ((await createAs(s, id, w, leads)) === 1) {
      return {
        ...w,
        id,
        state: 'scheduled',
        sent: {},
        notices: standardNotices(w, leads).sort(threadOrder),
        version: 1,
      };
    }
  }
  throw new Error('could not find a free maintenance window id');
}

/**
 * Stores the window `id` unless it exists. 'created', 'exists' (the same request made it: a job and
 * its command both writing it) or 'taken' (another window has that id).
 */
export async function createWindowAs(
  s: WindowStore,
  id: string,
  w: NewWindow,
  leads: number[] = [],
): Promise<'created' | 'exists' | 'taken'> {
  const r = await createAs(s, id, w, leads);
  if (r === 1) return 'created';
  return r === (w.requestId ?? '') && r !== '' ? 'exists' : 'taken';
}

/** True when a window with this id exists (a new id must not), or any of `alsoKeys` does (one round trip). */
export async function windowExists(s: WindowStore, id: string, alsoKeys: string[] = []): Promise<boolean> {
  return (await s.redis.exists(windowKey(s, id), ...alsoKeys)) > 0;
}

/** A window by id, or undefined. */
export async function getWindow(s: WindowStore, id: string): Promise<MaintenanceWindow | undefined> {
  if (!WINDOW_ID.test(id)) return undefined;
  return fromHash(await s.redis.hgetall(windowKey(s, id)));
}

/** Windows whose end is after `from`, by start time (cancelled and completed ones included). */
export async function windowsEndingAfter(s: WindowStore, from: number): Promise<MaintenanceWindow[]> {
  const ids = await s.redis.zrange(indexKey(s), 0, -1);
  const all = await Promise.all(ids.map((id) => getWindow(s, id)));
  return all.filter((w): w is MaintenanceWindow => w !== undefined && w.end > from);
}

/** The windows in progress at `at` (not cancelled): what other features label their messages with. */
export async function activeWindows(s: WindowStore, at: number): Promise<MaintenanceWindow[]> {
  return (await windowsEndingAfter(s, at)).filter(
    (w) => w.state !== 'cancelled' && w.state !== 'completed' && w.start <= at && at < w.end,
  );
}

/** Registers notices the window lacks (existing registrations are kept as they are). */
export async function registerNotices(s: WindowStore, id: string, notices: NoticeSpec[]): Promise<void> {
  if (!notices.length) return;
  await runScript(s.redis, 'mwRegisterNotices', [windowKey(s, id)], noticeFields(notices));
}

/** Marks that the window's follow-up jobs (reminders, start, end) are queued. */
export async function markFollowUpsQueued(s: WindowStore, id: string): Promise<void> {
  await s.redis.hset(windowKey(s, id), 'queued', '1');
}

export async function followUpsQueued(s: WindowStore, id: string): Promise<boolean> {
  return (await s.redis.hget(windowKey(s, id), 'queued')) === '1';
}

/** Records where the announcement is (first writer wins, so a retried job keeps the first post). */
export async function setAnnouncement(
  s: WindowStore,
  id: string,
  channel: string,
  ts: string,
): Promise<void> {
  await runScript(s.redis, 'mwSetAnnouncement', [windowKey(s, id)], [channel, ts]);
}

/**
 * What a poster must do. `post`: it holds the claim of `key` (`spec`), which is the notice it asked
 * for or, when `first`, an earlier notice of the thread that is due and not in flight (post that one,
 * then ask again); `lookFirst` when an earlier attempt may have posted it. `wait`: another notice of
 * the window is in flight. `sent`: already posted. `skip`: not to be posted (`why`). `drop`: it can no
 * longer be posted in time: tell the operators, then markDropped. `gone`: no such window.
 */
export type Claim =
  | { status: 'post'; key: string; spec: NoticeSpec; first: boolean; lookFirst: boolean }
  | { status: 'wait' | 'sent' | 'gone' }
  | { status: 'skip' | 'drop'; why: string };

/** Claims the notice `spec` (or an earlier one of its thread) for posting; see mwClaim in scripts.ts. */
export async function claimNotice(
  s: WindowStore,
  id: string,
  spec: NoticeSpec,
  now: number,
  opts: { token: string; leaseMs: number; graceMs: number },
): Promise<Claim> {
  const r = (await runScript(
    s.redis,
    'mwClaim',
    [windowKey(s, id)],
    [
      String(now),
      noticeKey(spec),
      specField(spec),
      opts.token,
      String(now + opts.leaseMs),
      String(opts.graceMs),
    ],
  )) as string[];
  const [status, a, b, first, look] = r;
  if (status === 'post') {
    const claimed = specOf(b as string);
    if (!claimed) throw new Error(`window ${id}: notice ${a} has no valid registration`);
    return { status, key: a as string, spec: claimed, first: first === '1', lookFirst: look === '1' };
  }
  if (status === 'skip' || status === 'drop') return { status, why: a ?? '' };
  return { status: status as 'wait' | 'sent' | 'gone' };
}

/** Keeps a claim in flight until `until` (a poster waiting out a rate limit). False if it is no longer ours. */
export async function renewClaim(
  s: WindowStore,
  id: string,
  key: string,
  token: string,
  until: number,
): Promise<boolean> {
  return (await runScript(s.redis, 'mwRenewClaim', [windowKey(s, id)], [key, token, String(until)])) === 1;
}

/** Gives up this token's claim after a failed attempt: the notice may be in Slack ('unsure'). */
export async function releaseClaim(s: WindowStore, id: string, key: string, token: string): Promise<void> {
  await runScript(s.redis, 'mwReleaseClaim', [windowKey(s, id)], [key, token]);
}

/** Marks a claimed notice as posted. */
export async function markSent(s: WindowStore, id: string, key: string, ts: string): Promise<void> {
  await s.redis.hset(windowKey(s, id), `sent:${key}`, ts);
}

/** Marks a dropped notice as reported to the operators. */
export async function markDropped(s: WindowStore, id: string, key: string): Promise<void> {
  await s.redis.hset(windowKey(s, id), `sent:${key}`, 'dropped');
}

/** True once the notice `key` was mailed. */
export async function isMailed(s: WindowStore, id: string, key: string): Promise<boolean> {
  return (await s.redis.hexists(windowKey(s, id), `mailed:${key}`)) === 1;
}

/** Records that the notice `key` was mailed (after the mail went out). */
export async function markMailed(s: WindowStore, id: string, key: string): Promise<void> {
  await s.redis.hset(windowKey(s, id), `mailed:${key}`, '1');
}

/**
 * scheduled / in-progress -> cancelled, registering the cancellation notice (due `at`) in the same
 * step. `by` (a request id) is recorded, so the request that cancelled it (its command or its job,
 * whichever wrote first) learns it did: `cancelled` true, `found` the state it found then.
 */
export async function cancelWindow(
  s: WindowStore,
  id: string,
  by = '',
  at = 0,
): Promise<{ found: WindowState | 'gone'; cancelled: boolean }> {
  const [found, cancelled] = (await runScript(s.redis, 'mwCancel', [windowKey(s, id)], [by, String(at)])) as [
    WindowState | 'gone',
    number,
  ];
  return { found, cancelled: cancelled === 1 };
}

export type ExtendResult = 'applied' | 'already' | 'stale' | WindowState | 'gone';

/**
 * Moves the end of a scheduled or running window from `from` to `to`, registering the extension
 * notice (due `at`) and the new end notice in the same step. 'already' when this very move was made
 * (by the command or its job, whichever came first); 'stale' when the end is neither.
 */
export async function extendWindow(
  s: WindowStore,
  id: string,
  move: { from: number; to: number; at: number },
): Promise<ExtendResult> {
  return (await runScript(
    s.redis,
    'mwExtend',
    [windowKey(s, id)],
    [String(move.from), String(move.to), String(move.to + KEEP_AFTER_END_MS), String(move.at)],
  )) as ExtendResult;
}

/** Changes the texts of a window that has not ended. */
export async function editWindow(
  s: WindowStore,
  id: string,
  texts: WindowTexts,
): Promise<WindowState | 'gone'> {
  return (await runScript(
    s.redis,
    'mwEdit',
    [windowKey(s, id)],
    [texts.impact, texts.purpose, texts.rollback, texts.contact],
  )) as WindowState | 'gone';
}
