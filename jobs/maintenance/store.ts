// Maintenance windows in Redis: one hash per window (its state, times, texts, the announcement's
// Slack ref, the notices of its thread and how far each got), an index by start time, and the
// guarded transitions. Every transition is one Lua script, so two replicas clicking or firing at
// once cannot both win.
//
// The thread plan: each notice a window will post is registered in its hash (`n:<key>`, its kind,
// due time, lead and end) by the same script that makes it due (creation, extend, cancel), and its
// progress is `sent:<key>`:
//   absent                 not tried yet
//   fly:<until>:<token>    in flight: a worker is posting it, its lease renewed while it waits
//   unsure                 an attempt claimed it and did not record the post (failed, or died): it may
//                          be in Slack, so the next poster looks in the thread first (`claimed` is the
//                          same, from releases before the lease)
//   <slack ts>             posted
//   drop:<why>             no longer relevant and never posted; the operators' alert not out yet
//   dropped                ... and the alert is out
import { randomBytes } from 'node:crypto';
import type { Redis } from '../../infra/redis.js';

export type WindowState = 'scheduled' | 'in-progress' | 'completed' | 'cancelled';
export type NoticeKind = 'announce' | 'remind' | 'start' | 'end' | 'cancel' | 'extend' | 'edit';
/** The notices that are posts of the window's thread (or, for `announce`, its root). */
export type ThreadNoticeKind = Exclude<NoticeKind, 'edit'>;

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
  /** The request that created it (a job re-creating it from its data recognises its own window). */
  requestId?: string;
  /** The announcement, once posted: every later notice is a reply in its thread. */
  channel?: string;
  ts?: string;
  /** Progress of each notice by key (see the header): a Slack ts once posted. */
  sent: Record<string, string>;
  /** The thread plan: every notice registered for this window. */
  notices: NoticeSpec[];
  version: number;
}

/** One notice of a window's thread: what it is and when it is due. */
export interface NoticeSpec {
  notice: ThreadNoticeKind;
  /** Epoch ms. */
  due: number;
  /** For a reminder: how long before the start (ms). */
  lead?: number;
  /** For end and extend: the end it is about (a moved end makes older end notices stale). */
  end?: number;
}

/** What a new window is made of (the id is chosen by the store or the caller). */
export type NewWindow = Omit<
  MaintenanceWindow,
  'id' | 'state' | 'sent' | 'notices' | 'version' | 'channel' | 'ts'
>;

export interface WindowStore {
  redis: Redis;
  prefix: string;
}

const windowKey = (s: WindowStore, id: string) => `${s.prefix}:mw:w:${id}`;
const indexKey = (s: WindowStore) => `${s.prefix}:mw:index`;
/** Windows are kept this long after their end, for list, audit and the alerts that read them. */
const KEEP_AFTER_END_MS = 30 * 86_400_000;

export const WINDOW_ID = /^mw-[0-9a-f]{4,8}$/;

/** The notice's key within its window (BullMQ job ids are made of it, so no ':'). */
export function noticeKey(d: { notice: NoticeKind; lead?: number; end?: number }): string {
  if (d.notice === 'remind') return `remind-${d.lead}`;
  if (d.notice === 'end' || d.notice === 'extend') return `${d.notice}-${d.end}`;
  return d.notice;
}

const THREAD_KINDS = new Set<string>(['announce', 'remind', 'start', 'end', 'cancel', 'extend']);

function specField(n: NoticeSpec): string {
  return `${n.notice}|${n.due}|${n.lead ?? ''}|${n.end ?? ''}`;
}

function specOf(field: string): NoticeSpec | undefined {
  const [notice, due, lead, end] = field.split('|');
  if (!notice || !THREAD_KINDS.has(notice)) return undefined;
  return {
    notice: notice as ThreadNoticeKind,
    due: Number(due),
    ...(lead ? { lead: Number(lead) } : {}),
    ...(end ? { end: Number(end) } : {}),
  };
}

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

/** Rank among notices due at the same moment (the Lua below has the same table). */
const RANK: Record<ThreadNoticeKind, number> = {
  announce: 0,
  remind: 1,
  extend: 2,
  start: 3,
  cancel: 4,
  end: 5,
};

/** The order of a window's thread: by due time, then by kind. */
export function threadOrder(a: NoticeSpec, b: NoticeSpec): number {
  return a.due - b.due || RANK[a.notice] - RANK[b.notice] || (b.lead ?? 0) - (a.lead ?? 0);
}

/** The notices every window has: its announcement, the reminders still ahead, the start and the end. */
export function standardNotices(
  w: Pick<NewWindow, 'start' | 'end' | 'createdAt'>,
  leads: number[],
): NoticeSpec[] {
  return [
    { notice: 'announce', due: w.createdAt },
    // Leads already past when the window was scheduled collapse into the announcement.
    ...leads
      .filter((lead) => w.start - lead > w.createdAt)
      .map((lead): NoticeSpec => ({ notice: 'remind', lead, due: w.start - lead })),
    { notice: 'start', due: w.start },
    { notice: 'end', due: w.end, end: w.end },
  ];
}

function noticeFields(notices: NoticeSpec[]): string[] {
  return notices.flatMap((n) => [`n:${noticeKey(n)}`, specField(n)]);
}

/**
 * KEYS[1] the window hash, KEYS[2] the index; ARGV[1] start, ARGV[2] expiry (epoch ms), ARGV[3] id,
 * ARGV[4] index entries older than this are trimmed, ARGV[5..] field/value pairs. Creates the window
 * unless the key exists. Returns 1 if created, else the existing window's requestId (or '').
 */
const CREATE_WINDOW = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGET', KEYS[1], 'requestId') or '' end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
return 1`;

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
  return (await s.redis.eval(
    CREATE_WINDOW,
    2,
    windowKey(s, id),
    indexKey(s),
    String(w.start),
    String(w.end + KEEP_AFTER_END_MS),
    id,
    String(w.createdAt - 2 * KEEP_AFTER_END_MS - 31 * 86_400_000),
    ...windowFields(id, w, leads),
  )) as 1 | string;
}

/** A fresh short window id (not checked against Redis). */
export function newWindowId(long = false): string {
  return `mw-${randomBytes(long ? 4 : 2).toString('hex')}`;
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
  await s.redis.eval(
    `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
     for i = 1, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
     return 1`,
    1,
    windowKey(s, id),
    ...noticeFields(notices),
  );
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

/**
 * KEYS[1] the window hash. ARGV[1] now, ARGV[2] the notice's key, ARGV[3] its spec
 * (`kind|due|lead|end`), ARGV[4] the claimant's token, ARGV[5] lease end (epoch ms), ARGV[6] grace
 * after the window's end (ms). Returns {status, key, spec, first, lookFirst} or {status, why}.
 *
 * Relevance, for every notice (the asked one and the earlier ones): after a cancel only the
 * cancellation goes out; a reminder only before the start; an end or extension only while its end is
 * the window's end; nothing once the window ended more than the grace ago (dropped). Order: the asked
 * notice waits while any other of the window is in flight (lease not expired; a slow edit of the
 * announcement can then never overwrite a later state), and an earlier relevant notice that is not
 * posted and not in flight (only being retried, or its worker died) is claimed instead, so the thread
 * keeps its order without waiting out another job's backoff. Claiming the start moves the window to
 * in-progress, the end to completed.
 */
const CLAIM_NOTICE = `
local k = KEYS[1]
local state = redis.call('HGET', k, 'state')
if not state then return {'gone'} end
local now = tonumber(ARGV[1])
local own = ARGV[2]
local token = ARGV[4]
local grace = tonumber(ARGV[6])
redis.call('HSETNX', k, 'n:' .. own, ARGV[3])
local h = redis.call('HGETALL', k)
local f = {}
for i = 1, #h, 2 do f[h[i]] = h[i + 1] end
local wstart = tonumber(f['start'])
local wend = tonumber(f['end'])
local RANK = {announce = 0, remind = 1, extend = 2, start = 3, cancel = 4, ['end'] = 5}
local function parse(s)
  local kind, due, lead, e = string.match(s, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  return {kind = kind, due = tonumber(due) or 0, lead = tonumber(lead) or 0, e = e}
end
local function posted(v) return v ~= nil and string.match(v, '^%d+%.%d+$') ~= nil end
local function inflight(v)
  if not v then return false end
  local untilAt, who = string.match(v, '^fly:(%d+):(.*)$')
  return untilAt ~= nil and tonumber(untilAt) > now, who
end
local function finished(v) return posted(v) or (v ~= nil and string.sub(v, 1, 4) == 'drop') end
-- nil when the notice is still to be posted; else 'skip', why or 'drop', why
local function irrelevant(key, n)
  local kind = n.kind
  local attempted = f['sent:' .. key] ~= nil
  if kind == 'cancel' then
    if state ~= 'cancelled' then return 'skip', 'not-cancelled' end
  elseif state == 'cancelled' and not (kind == 'announce' and attempted) then
    if kind == 'announce' then return 'skip', 'cancelled before it was announced' end
    return 'skip', 'cancelled'
  elseif kind == 'remind' then
    if state ~= 'scheduled' or now >= wstart then return 'skip', 'started' end
    return nil
  elseif (kind == 'end' or kind == 'extend') and n.e ~= f['end'] then
    return 'skip', 'stale'
  end
  if now > wend + grace then return 'drop', 'the window ended more than the grace time ago' end
  return nil
end
local function before(a, b)
  if a.due ~= b.due then return a.due < b.due end
  local ra, rb = RANK[a.kind] or 9, RANK[b.kind] or 9
  if ra ~= rb then return ra < rb end
  return a.lead > b.lead
end
local ownSpec = parse(f['n:' .. own])
local ownSent = f['sent:' .. own]
if posted(ownSent) then return {'sent'} end
if ownSent == 'dropped' then return {'skip', 'dropped earlier'} end
if ownSent and string.sub(ownSent, 1, 5) == 'drop:' then return {'drop', string.sub(ownSent, 6)} end
local mode, why = irrelevant(own, ownSpec)
if mode == 'drop' then
  redis.call('HSET', k, 'sent:' .. own, 'drop:' .. why)
  return {'drop', why}
end
if mode then return {mode, why} end
-- Anything of this window in flight (this notice included, held by another poster): wait for it.
for field, v in pairs(f) do
  if string.sub(field, 1, 5) == 'sent:' then
    local fly, who = inflight(v)
    if fly and who ~= token then return {'wait'} end
  end
end
-- The earliest notice before this one that is due to be posted and is not.
local best, bestKey
for field, v in pairs(f) do
  if string.sub(field, 1, 2) == 'n:' then
    local key = string.sub(field, 3)
    if key ~= own and not finished(f['sent:' .. key]) then
      local n = parse(v)
      if n.kind and RANK[n.kind] and before(n, ownSpec) and not irrelevant(key, n) then
        if not best or before(n, best) then best, bestKey = n, key end
      end
    end
  end
end
if ownSpec.kind ~= 'announce' and not posted(f['sent:announce']) and bestKey ~= 'announce' then
  -- Nothing can be posted in a thread that has no root.
  if state == 'cancelled' and ownSpec.kind == 'cancel' then return {'skip', 'cancelled before it was announced'} end
  return {'skip', 'never announced'}
end
local key, spec, first = own, ownSpec, '0'
if best then key, spec, first = bestKey, best, '1' end
local prev = f['sent:' .. key]
if spec.kind == 'start' and state == 'scheduled' then redis.call('HSET', k, 'state', 'in-progress') end
if spec.kind == 'end' then redis.call('HSET', k, 'state', 'completed') end
redis.call('HSET', k, 'sent:' .. key, 'fly:' .. ARGV[5] .. ':' .. token)
redis.call('HINCRBY', k, 'version', 1)
return {'post', key, f['n:' .. key], first, prev and '1' or '0'}`;

/** Claims the notice `spec` (or an earlier one of its thread) for posting; see CLAIM_NOTICE. */
export async function claimNotice(
  s: WindowStore,
  id: string,
  spec: NoticeSpec,
  now: number,
  opts: { token: string; leaseMs: number; graceMs: number },
): Promise<Claim> {
  const r = (await s.redis.eval(
    CLAIM_NOTICE,
    1,
    windowKey(s, id),
    String(now),
    noticeKey(spec),
    specField(spec),
    opts.token,
    String(now + opts.leaseMs),
    String(opts.graceMs),
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

/**
 * KEYS[1] the window hash; ARGV[1] the notice key, ARGV[2] the token, ARGV[3] the new lease end.
 * Extends the claim while it is still this token's; returns 1 if it was.
 */
const RENEW_CLAIM = `
local v = redis.call('HGET', KEYS[1], 'sent:' .. ARGV[1])
if not v or string.match(v, '^fly:%d+:(.*)$') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'sent:' .. ARGV[1], 'fly:' .. ARGV[3] .. ':' .. ARGV[2])
return 1`;

/** Keeps a claim in flight until `until` (a poster waiting out a rate limit). False if it is no longer ours. */
export async function renewClaim(
  s: WindowStore,
  id: string,
  key: string,
  token: string,
  until: number,
): Promise<boolean> {
  return (await s.redis.eval(RENEW_CLAIM, 1, windowKey(s, id), key, token, String(until))) === 1;
}

/** Gives up this token's claim after a failed attempt: the notice may be in Slack ('unsure'). */
export async function releaseClaim(s: WindowStore, id: string, key: string, token: string): Promise<void> {
  await s.redis.eval(
    `local v = redis.call('HGET', KEYS[1], 'sent:' .. ARGV[1])
     if v and string.match(v, '^fly:%d+:(.*)$') == ARGV[2] then
       redis.call('HSET', KEYS[1], 'sent:' .. ARGV[1], 'unsure')
       return 1
     end
     return 0`,
    1,
    windowKey(s, id),
    key,
    token,
  );
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
  const [found, cancelled] = (await s.redis.eval(
    `local state = redis.call('HGET', KEYS[1], 'state')
     if not state then return {'gone', 0} end
     if state == 'scheduled' or state == 'in-progress' then
       redis.call('HSET', KEYS[1], 'state', 'cancelled', 'cancelledBy', ARGV[1], 'cancelledFrom', state,
         'n:cancel', 'cancel|' .. ARGV[2] .. '||')
       redis.call('HINCRBY', KEYS[1], 'version', 1)
       return {state, 1}
     end
     if state == 'cancelled' and ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'cancelledBy') == ARGV[1] then
       return {redis.call('HGET', KEYS[1], 'cancelledFrom') or state, 1}
     end
     return {state, 0}`,
    1,
    windowKey(s, id),
    by,
    String(at),
  )) as [WindowState | 'gone', number];
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
  return (await s.redis.eval(
    `local state = redis.call('HGET', KEYS[1], 'state')
     if not state then return 'gone' end
     local e = redis.call('HGET', KEYS[1], 'end')
     if e == ARGV[2] and redis.call('HEXISTS', KEYS[1], 'n:extend-' .. ARGV[2]) == 1 then return 'already' end
     if state ~= 'scheduled' and state ~= 'in-progress' then return state end
     if e ~= ARGV[1] then return 'stale' end
     redis.call('HSET', KEYS[1], 'end', ARGV[2], 'n:extend-' .. ARGV[2], 'extend|' .. ARGV[4] .. '||' .. ARGV[2],
       'n:end-' .. ARGV[2], 'end|' .. ARGV[2] .. '||' .. ARGV[2])
     redis.call('HINCRBY', KEYS[1], 'version', 1)
     redis.call('PEXPIREAT', KEYS[1], ARGV[3])
     return 'applied'`,
    1,
    windowKey(s, id),
    String(move.from),
    String(move.to),
    String(move.to + KEEP_AFTER_END_MS),
    String(move.at),
  )) as ExtendResult;
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
