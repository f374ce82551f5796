// Maintenance windows in Redis: one hash per window (its state, times, texts, the announcement's
// Slack ref, and which notices went out), an index by start time, and the guarded transitions.
// Every transition is one Lua script, so two replicas clicking or firing at once cannot both win.
import { randomBytes } from 'node:crypto';
import type { Redis } from '../infra/redis.js';

export type WindowState = 'scheduled' | 'in-progress' | 'completed' | 'cancelled';
export type NoticeKind = 'announce' | 'remind' | 'start' | 'end' | 'cancel' | 'extend' | 'edit';

export interface WindowTexts {
  impact: string;
  purpose: string;
  rollback: string;
  contact: string;
}

export interface MaintenanceWindow extends WindowTexts {
  id: string;
  title: string;
  /** Epoch ms. */
  start: number;
  end: number;
  state: WindowState;
  createdBy: string;
  createdAt: number;
  /** The announcement, once posted: every later notice is a reply in its thread. */
  channel?: string;
  ts?: string;
  /** Notice keys already posted (value: the message ts) or claimed by a worker posting them. */
  sent: Record<string, string>;
  version: number;
}

export interface WindowStore {
  redis: Redis;
  prefix: string;
}

const windowKey = (s: WindowStore, id: string) => `${s.prefix}:mw:w:${id}`;
const indexKey = (s: WindowStore) => `${s.prefix}:mw:index`;
/** Windows are kept this long after their end, for list, audit and the alerts that read them. */
const KEEP_AFTER_END_MS = 30 * 86_400_000;

export const WINDOW_ID = /^mw-[0-9a-f]{4,8}$/;

function fromHash(h: Record<string, string>): MaintenanceWindow | undefined {
  if (!h.id || !h.state) return undefined;
  const sent: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith('sent:')) sent[k.slice(5)] = v;
  return {
    id: h.id,
    title: h.title ?? '',
    start: Number(h.start),
    end: Number(h.end),
    state: h.state as WindowState,
    createdBy: h.createdBy ?? '',
    createdAt: Number(h.createdAt),
    impact: h.impact ?? '',
    purpose: h.purpose ?? '',
    rollback: h.rollback ?? '',
    contact: h.contact ?? '',
    channel: h.channel || undefined,
    ts: h.ts || undefined,
    sent,
    version: Number(h.version ?? 0),
  };
}

/** Stores a new window (state scheduled) under a fresh short id; returns it. */
export async function createWindow(
  s: WindowStore,
  w: Omit<MaintenanceWindow, 'id' | 'state' | 'sent' | 'version'>,
): Promise<MaintenanceWindow> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const id = `mw-${randomBytes(attempt < 5 ? 2 : 4).toString('hex')}`;
    const key = windowKey(s, id);
    const fields = {
      id,
      title: w.title,
      start: String(w.start),
      end: String(w.end),
      state: 'scheduled',
      createdBy: w.createdBy,
      createdAt: String(w.createdAt),
      impact: w.impact,
      purpose: w.purpose,
      rollback: w.rollback,
      contact: w.contact,
      version: '1',
    };
    const created = await s.redis.eval(
      `if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
       redis.call('HSET', KEYS[1], unpack(ARGV, 5))
       redis.call('PEXPIREAT', KEYS[1], ARGV[2])
       redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
       redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
       return 1`,
      2,
      key,
      indexKey(s),
      String(w.start),
      String(w.end + KEEP_AFTER_END_MS),
      id,
      String(w.createdAt - 2 * KEEP_AFTER_END_MS - 31 * 86_400_000),
      ...Object.entries(fields).flat(),
    );
    if (created === 1) return { ...w, id, state: 'scheduled', sent: {}, version: 1 };
  }
  throw new Error('could not find a free maintenance window id');
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

/** Records where the announcement is (first writer wins, so a retried job keeps the first post). */
/**
 * Marks the announcement as being posted. 'retake' when an earlier attempt got that far without
 * recording the post (it may be in the channel already); 'sent' once it is recorded.
 */
export async function claimAnnouncement(s: WindowStore, id: string): Promise<'ok' | 'retake' | 'sent'> {
  return (await s.redis.eval(
    `local sent = redis.call('HGET', KEYS[1], 'sent:announce')
     if sent == 'claimed' then return 'retake' end
     if sent then return 'sent' end
     redis.call('HSET', KEYS[1], 'sent:announce', 'claimed')
     return 'ok'`,
    1,
    windowKey(s, id),
  )) as 'ok' | 'retake' | 'sent';
}

export async function setAnnouncement(
  s: WindowStore,
  id: string,
  channel: string,
  ts: string,
): Promise<void> {
  await s.redis.eval(
    `if redis.call('HGET', KEYS[1], 'ts') then return 0 end
     redis.call('HSET', KEYS[1], 'channel', ARGV[1], 'ts', ARGV[2], 'sent:announce', ARGV[2])
     return 1`,
    1,
    windowKey(s, id),
    channel,
    ts,
  );
}

export type ClaimResult =
  | 'ok'
  | 'retake'
  | 'wait'
  | 'sent'
  | 'cancelled'
  | 'started'
  | 'stale'
  | 'gone'
  | 'not-cancelled';

/**
 * Claims a notice just before it is posted, checking the window's state in the same step: nothing
 * but the cancellation goes out after a cancel; a reminder for a window that has started is
 * skipped; an end notice for an end that was moved is stale. Start and end move the state.
 * Thread order: while `mayWait`, a notice waits ('wait') as long as another notice of the window is
 * being posted, and the end waits for the start to be posted.
 * A claim left by an attempt that did not record its post (a worker killed, an unsure answer, a
 * failed edit) is taken over as 'retake', whatever happened since: that notice may already be in the
 * thread, so it is finished (the caller looks in the thread before posting) and the others wait for it.
 */
export async function claimNotice(
  s: WindowStore,
  id: string,
  notice: { key: string; kind: NoticeKind; end?: number },
  now: number,
  mayWait = true,
): Promise<ClaimResult> {
  return (await s.redis.eval(
    `local state = redis.call('HGET', KEYS[1], 'state')
     if not state then return 'gone' end
     local own = 'sent:' .. ARGV[1]
     local sent = redis.call('HGET', KEYS[1], own)
     if sent == 'claimed' then return 'retake' end
     if sent then return 'sent' end
     local kind = ARGV[2]
     local skip
     if kind == 'cancel' then
       if state ~= 'cancelled' then skip = 'not-cancelled' end
     elseif state == 'cancelled' then skip = 'cancelled'
     elseif kind == 'remind' then
       if state ~= 'scheduled' or tonumber(ARGV[3]) >= tonumber(redis.call('HGET', KEYS[1], 'start')) then skip = 'started' end
     elseif (kind == 'end' or kind == 'extend') and redis.call('HGET', KEYS[1], 'end') ~= ARGV[4] then
       skip = 'stale'
     end
     if skip then return skip end
     if ARGV[5] == '1' then
       local h = redis.call('HGETALL', KEYS[1])
       for i = 1, #h, 2 do
         if h[i] ~= own and h[i + 1] == 'claimed' and string.sub(h[i], 1, 5) == 'sent:' then return 'wait' end
       end
       if kind == 'end' then
         local start = redis.call('HGET', KEYS[1], 'sent:start')
         if not start or start == 'claimed' then return 'wait' end
       end
     end
     if kind == 'start' and state == 'scheduled' then redis.call('HSET', KEYS[1], 'state', 'in-progress') end
     if kind == 'end' then redis.call('HSET', KEYS[1], 'state', 'completed') end
     redis.call('HSET', KEYS[1], own, 'claimed')
     redis.call('HINCRBY', KEYS[1], 'version', 1)
     return 'ok'`,
    1,
    windowKey(s, id),
    notice.key,
    notice.kind,
    String(now),
    String(notice.end ?? ''),
    mayWait ? '1' : '0',
  )) as ClaimResult;
}

/** Marks a claimed notice as posted. */
export async function markSent(s: WindowStore, id: string, key: string, ts: string): Promise<void> {
  await s.redis.hset(windowKey(s, id), `sent:${key}`, ts);
}

/** True once the notice `key` was mailed. */
export async function isMailed(s: WindowStore, id: string, key: string): Promise<boolean> {
  return (await s.redis.hexists(windowKey(s, id), `mailed:${key}`)) === 1;
}

/** Records that the notice `key` was mailed (after the mail went out). */
export async function markMailed(s: WindowStore, id: string, key: string): Promise<void> {
  await s.redis.hset(windowKey(s, id), `mailed:${key}`, '1');
}

/** scheduled / in-progress -> cancelled. Returns the state it found. */
export async function cancelWindow(s: WindowStore, id: string): Promise<WindowState | 'gone'> {
  const found = (await s.redis.eval(
    `local state = redis.call('HGET', KEYS[1], 'state')
     if not state then return 'gone' end
     if state == 'scheduled' or state == 'in-progress' then
       redis.call('HSET', KEYS[1], 'state', 'cancelled')
       redis.call('HINCRBY', KEYS[1], 'version', 1)
     end
     return state`,
    1,
    windowKey(s, id),
  )) as WindowState | 'gone';
  return found;
}

/** Moves the end of a scheduled or running window; returns the state it found. */
export async function extendWindow(
  s: WindowStore,
  id: string,
  newEnd: number,
): Promise<WindowState | 'gone'> {
  return (await s.redis.eval(
    `local state = redis.call('HGET', KEYS[1], 'state')
     if not state then return 'gone' end
     if state == 'scheduled' or state == 'in-progress' then
       redis.call('HSET', KEYS[1], 'end', ARGV[1])
       redis.call('HINCRBY', KEYS[1], 'version', 1)
       redis.call('PEXPIREAT', KEYS[1], ARGV[2])
     end
     return state`,
    1,
    windowKey(s, id),
    String(newEnd),
    String(newEnd + KEEP_AFTER_END_MS),
  )) as WindowState | 'gone';
}

/** Changes the texts of a window that has not ended. */
export async function editWindow(
  s: WindowStore,
  id: string,
  texts: WindowTexts,
): Promise<WindowState | 'gone'> {
  return (await s.redis.eval(
    `local state = redis.call('HGET', KEYS[1], 'state')
     if not state then return 'gone' end
     if state == 'scheduled' or state == 'in-progress' then
       redis.call('HSET', KEYS[1], 'impact', ARGV[1], 'purpose', ARGV[2], 'rollback', ARGV[3], 'contact', ARGV[4])
       redis.call('HINCRBY', KEYS[1], 'version', 1)
     end
     return state`,
    1,
    windowKey(s, id),
    texts.impact,
    texts.purpose,
    texts.rollback,
    texts.contact,
  )) as WindowState | 'gone';
}
