// The Lua scripts behind every guarded transition of a maintenance window (jobs/maintenance/store.ts is
// their only caller). Each is registered once per connection with ioredis defineCommand, and each says,
// as BullMQ's scripts do, what its KEYS and ARGV are and what it returns.
//
// A window is one hash. Fields the scripts use: id, state, start, end, requestId, channel, ts,
// impact, purpose, rollback, contact, cancelledBy, cancelledFrom, version; `n:<key>` the thread plan
// (each notice the window will post: `kind|due|lead|end`, window.ts's specField), and `sent:<key>`
// the progress of each notice:
//   absent                 not tried yet
//   fly:<until>:<token>    in flight: a worker is posting it, its lease renewed while it waits
//   unsure                 an attempt claimed it and did not record the post (failed, or died): it may
//                          be in Slack, so the next poster looks in the thread first (`claimed` is the
//                          same, from releases before the lease)
//   <slack ts>             posted
//   drop:<why>             no longer relevant and never posted; the operators' alert not out yet
//   dropped                ... and the alert is out
// jobs/migration/scripts.ts reads this hash's `state` and `end` too: the field names are shared.
import { scriptRunner } from '../../infra/redis.js';

export const SCRIPTS = {
  /**
   * Stores a new window under its id unless that key exists, and indexes it by start time.
   * KEYS[1] the window, KEYS[2] the index (sorted set by start)
   * ARGV[1] start, ARGV[2] when the window expires (epoch ms), ARGV[3] the id, ARGV[4] index entries
   * scored at or below this are trimmed, ARGV[5..] field, value pairs
   * Returns 1 when created; else the existing window's requestId ('' when it has none).
   * Atomic: two creators of one id (a command and its job) cannot both write it.
   */
  mwCreate: {
    keys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGET', KEYS[1], 'requestId') or '' end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
return 1`,
  },

  /**
   * Registers notices the window lacks; existing registrations are kept as they are.
   * KEYS[1] the window
   * ARGV[1..] `n:<key>`, spec pairs
   * Returns 1 when the window exists (registered), 0 when it does not (nothing written).
   * Atomic: a window that expired or was never made is not brought back as a hash of notices only.
   */
  mwRegisterNotices: {
    keys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1`,
  },

  /**
   * Records where the announcement is, and the announcement as posted; the first writer wins.
   * KEYS[1] the window
   * ARGV[1] the channel, ARGV[2] the announcement's ts
   * Returns 1 when recorded, 0 when the window already has an announcement (nothing changed).
   * Atomic: a retried announce job cannot move the thread's root once another post set it.
   */
  mwSetAnnouncement: {
    keys: 1,
    lua: `
if redis.call('HGET', KEYS[1], 'ts') then return 0 end
redis.call('HSET', KEYS[1], 'channel', ARGV[1], 'ts', ARGV[2], 'sent:announce', ARGV[2])
return 1`,
  },

  /**
   * Claims a notice for posting, or an earlier notice of its thread that must go first.
   * KEYS[1] the window
   * ARGV[1] now, ARGV[2] the notice's key, ARGV[3] its spec (`kind|due|lead|end`, registered if the
   * window lacks it), ARGV[4] the claimant's token, ARGV[5] the lease's end (epoch ms), ARGV[6] grace
   * after the window's end (ms)
   * Returns {'post', key, spec, first ('1' when an earlier notice than the asked one), lookFirst ('1'
   * when an attempt before may have posted it)}; {'wait'} (another notice of the window is in flight);
   * {'sent'} (already posted); {'skip', why} (not to be posted); {'drop', why} (can no longer be
   * posted in time: tell the operators); {'gone'} (no such window).
   * Atomic: the state, the end and every notice's progress are read and the claim written in one step,
   * so two posters (or a cancel and a poster) never both win.
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
  mwClaim: {
    keys: 1,
    lua: `
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
return {'post', key, f['n:' .. key], first, prev and '1' or '0'}`,
  },

  /**
   * Extends a claim in flight while it is still this token's (a poster waiting out a rate limit).
   * KEYS[1] the window
   * ARGV[1] the notice's key, ARGV[2] the token, ARGV[3] the new lease end (epoch ms)
   * Returns 1 when renewed, 0 when the claim is no longer this token's (nothing changed).
   * Atomic: a claim another poster took over once the lease lapsed is not taken back.
   */
  mwRenewClaim: {
    keys: 1,
    lua: `
local v = redis.call('HGET', KEYS[1], 'sent:' .. ARGV[1])
if not v or string.match(v, '^fly:%d+:(.*)$') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'sent:' .. ARGV[1], 'fly:' .. ARGV[3] .. ':' .. ARGV[2])
return 1`,
  },

  /**
   * Gives up this token's claim after a failed attempt: the notice may be in Slack ('unsure').
   * KEYS[1] the window
   * ARGV[1] the notice's key, ARGV[2] the token
   * Returns 1 when released, 0 when the claim is no longer this token's (nothing changed).
   * Atomic: a poster whose lease lapsed cannot release the claim of the one that took it over.
   */
  mwReleaseClaim: {
    keys: 1,
    lua: `
local v = redis.call('HGET', KEYS[1], 'sent:' .. ARGV[1])
if v and string.match(v, '^fly:%d+:(.*)$') == ARGV[2] then
  redis.call('HSET', KEYS[1], 'sent:' .. ARGV[1], 'unsure')
  return 1
end
return 0`,
  },

  /**
   * scheduled / in-progress -> cancelled, registering the cancellation notice in the same step, and
   * recording which request cancelled it (and from which state).
   * KEYS[1] the window
   * ARGV[1] the request id ('' none), ARGV[2] when the cancellation notice is due (epoch ms)
   * Returns {found, cancelled}: {state, 1} when it moved now; {the state it moved from, 1} when this
   * request had already cancelled it (its command or its job, whichever came first); {state, 0}
   * otherwise; {'gone', 0} when there is no such window.
   * Atomic: a cancel cannot interleave with a claim, an extension or another cancel.
   */
  mwCancel: {
    keys: 1,
    lua: `
local state = redis.call('HGET', KEYS[1], 'state')
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
  },

  /**
   * Moves the end of a scheduled or running window, registering the extension notice and the new end
   * notice in the same step, and keeps the window for as long after its new end.
   * KEYS[1] the window
   * ARGV[1] the end it moves from, ARGV[2] the new end, ARGV[3] when the window now expires, ARGV[4]
   * when the extension notice is due (epoch ms)
   * Returns 'applied'; 'already' (this very move was made); 'stale' (the end is neither); the state
   * when the window is completed or cancelled; 'gone' (no such window).
   * Atomic: the end is compared and moved in one step, so two moves from one end cannot both apply.
   */
  mwExtend: {
    keys: 1,
    lua: `
local state = redis.call('HGET', KEYS[1], 'state')
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
  },

  /**
   * Changes the texts of a window that has not ended.
   * KEYS[1] the window
   * ARGV[1] impact, ARGV[2] purpose, ARGV[3] rollback, ARGV[4] contact
   * Returns the state it found (changed only when 'scheduled' or 'in-progress'); 'gone' (no window).
   * Atomic: a window that completed or was cancelled meanwhile keeps the texts it ended with.
   */
  mwEdit: {
    keys: 1,
    lua: `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'gone' end
if state == 'scheduled' or state == 'in-progress' then
  redis.call('HSET', KEYS[1], 'impact', ARGV[1], 'purpose', ARGV[2], 'rollback', ARGV[3], 'contact', ARGV[4])
  redis.call('HINCRBY', KEYS[1], 'version', 1)
end
return state`,
  },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** Runs a script by name, registering all of them on this connection the first time. */
export const runScript = scriptRunner(SCRIPTS);
