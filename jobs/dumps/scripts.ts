// The Lua scripts behind every transition of a dump alert (jobs/dumps/store.ts is their only caller).
// Each says, as BullMQ's scripts do, what its KEYS and ARGV are and what it returns; all are
// registered once per connection with ioredis defineCommand (scriptRunner).
//
// An alert is one hash per job per day. Fields the scripts use: id, job, day, fireAt, state ('open' |
// 'acked' | 'resolved'), count, firstAt, lastAt, last (the latest finding, JSON), windowId /
// windowTitle / windowEnd ('' outside a maintenance window), checkId (the check that last counted),
// ackedBy, ackedAt, resolvedAt, resolved (JSON), channel, ts, version (raised by every change the
// message shows), and three claims, so that of several workers exactly one talks to Slack:
//   posting      the alert message: when a worker claimed posting it (ms); absent once `ts` is set
//   mentioned    the normal alert (with the mention): '1' it went out (in the message or its thread),
//                '0' not yet, 'p:<ms>' a worker claimed posting it in the thread at <ms>
//   resolvePost  the "resolved" reply: 'claimed:<ms>' a worker claimed it at <ms>, 'claimed:0' the
//                claim was given up, or the reply's ts once posted
// A claim older than the stale time (CLAIM_STALE_MS) was left by a worker that died: the next raise or
// resolve takes it over. A worker still at it renews its claim (dumpRenewClaim).
import { type LuaScript, scriptRunner } from '../../infra/redis.js';

/** What dumpRaise takes, in ARGV order; the script names them the same (one list for both sides). */
export const RAISE_ARGV = [
  'id',
  'job',
  'day',
  'fireAt',
  'now',
  'last',
  'windowId',
  'windowTitle',
  'windowEnd',
  'keepMs',
  'staleMs',
  'checkId',
  'failedBefore',
] as const;
export type RaiseArgs = Record<(typeof RAISE_ARGV)[number], string>;

const SCRIPTS = {
  /**
   * Records a failure of the job's day and says who tells Slack.
   * KEYS[1] the alert, KEYS[2] every failure's alert id scored by when it was last seen
   * ARGV (RAISE_ARGV, all strings): id, job, day, fireAt (the alert's, for a new one); now (ms);
   * last (the finding, JSON); windowId, windowTitle, windowEnd (the active maintenance window, or ''
   * each: no window); keepMs (how long the alert lives after this change); staleMs (the claims'
   * stale time); checkId (a retry of the same check is not counted twice); failedBefore (failures last
   * seen before this time (ms) leave the failure index)
   * Returns {change, action}. change: 'new' (first failure of the day), 'reopened' (failing again
   * after it was resolved: ack and resolution cleared), 'updated' (a later failure, or the same check
   * again). action: 'post' (nobody posted the message: the caller now holds the post claim), 'wait'
   * (another worker's fresh post claim: it re-renders after its post), 'notify' (posted, open, no
   * window, the normal alert not out and not freshly claimed: the caller holds its claim, 'p:<now>'),
   * 'edit' (anything else).
   * Atomic so that two workers raising at once count once, and one posts while the other waits.
   */
  dumpRaise: {
    keys: 2,
    lua: `local ${RAISE_ARGV.join(', ')} = unpack(ARGV)
local k = KEYS[1]
local nowMs = tonumber(now)
local stale = tonumber(staleMs)
local state = redis.call('HGET', k, 'state')
local change
if not state then
  redis.call('HSET', k, 'id', id, 'job', job, 'day', day, 'fireAt', fireAt,
    'state', 'open', 'count', 1, 'firstAt', now, 'version', 0, 'mentioned', '0')
  change = 'new'
elseif redis.call('HGET', k, 'checkId') == checkId then
  change = 'updated'
elseif state == 'resolved' then
  redis.call('HSET', k, 'state', 'open', 'mentioned', '0')
  redis.call('HDEL', k, 'ackedBy', 'ackedAt', 'resolvedAt', 'resolved', 'resolvePost')
  redis.call('HINCRBY', k, 'count', 1)
  change = 'reopened'
else
  redis.call('HINCRBY', k, 'count', 1)
  change = 'updated'
end
redis.call('HSET', k, 'lastAt', now, 'last', last, 'windowId', windowId, 'windowTitle', windowTitle,
  'windowEnd', windowEnd, 'checkId', checkId)
redis.call('HINCRBY', k, 'version', 1)
redis.call('PEXPIRE', k, keepMs)
redis.call('ZADD', KEYS[2], now, id)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', failedBefore)
local action = 'edit'
if not redis.call('HGET', k, 'ts') then
  if nowMs - tonumber(redis.call('HGET', k, 'posting') or '0') > stale then
    redis.call('HSET', k, 'posting', now)
    action = 'post'
  else
    action = 'wait'
  end
elseif redis.call('HGET', k, 'state') == 'open' and windowId == '' then
  local m = redis.call('HGET', k, 'mentioned') or '0'
  local claimedAt = tonumber(string.match(m, '^p:(%d+)$') or '')
  if m ~= '1' and (not claimedAt or nowMs - claimedAt > stale) then
    redis.call('HSET', k, 'mentioned', 'p:' .. now)
    action = 'notify'
  end
end
return {change, action}`,
  },

  /**
   * Records the posted alert message and whether it carried the mention; ends the post claim.
   * KEYS[1] the alert
   * ARGV[1] channel, ARGV[2] the message ts, ARGV[3] '1' when it carried the mention, else '0'
   * Returns 1 when recorded; 0 when a message is recorded already (the first writer wins).
   * Atomic so that a second message, posted after a stale claim was taken over, never replaces the
   * first.
   */
  dumpSetMessage: {
    keys: 1,
    lua: `
if redis.call('HGET', KEYS[1], 'ts') then return 0 end
redis.call('HSET', KEYS[1], 'channel', ARGV[1], 'ts', ARGV[2], 'mentioned', ARGV[3])
redis.call('HDEL', KEYS[1], 'posting')
return 1`,
  },

  /**
   * Renews a claim its worker still holds, so it never looks stale while the worker waits on Slack.
   * KEYS[1] the alert
   * ARGV[1] 'post' | 'notify' | 'resolve', ARGV[2] now (ms)
   * Returns 1 when renewed; 0 when there is no such claim (posted already, given up, never taken).
   * Atomic so that a renewal cannot bring back a claim that was just completed or given up.
   */
  dumpRenewClaim: {
    keys: 1,
    lua: `
local k = KEYS[1]
if ARGV[1] == 'post' then
  if redis.call('HGET', k, 'ts') or not redis.call('HGET', k, 'posting') then return 0 end
  redis.call('HSET', k, 'posting', ARGV[2])
elseif ARGV[1] == 'notify' then
  if not string.match(redis.call('HGET', k, 'mentioned') or '', '^p:%d+$') then return 0 end
  redis.call('HSET', k, 'mentioned', 'p:' .. ARGV[2])
else
  local c = redis.call('HGET', k, 'resolvePost') or ''
  if c == 'claimed:0' or not string.match(c, '^claimed:%d+$') then return 0 end
  redis.call('HSET', k, 'resolvePost', 'claimed:' .. ARGV[2])
end
return 1`,
  },

  /**
   * open -> acked, recording who and when.
   * KEYS[1] the alert
   * ARGV[1] the user, ARGV[2] now (ms)
   * Returns {'ok', ''}; {'already', who acknowledged}; {'resolved', ''}; {'gone', ''} (no alert).
   * Atomic so that of two clicks one acknowledges and the other is told who did.
   */
  dumpAck: {
    keys: 1,
    lua: `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'gone', ''} end
if state == 'acked' then return {'already', redis.call('HGET', KEYS[1], 'ackedBy') or ''} end
if state ~= 'open' then return {state, ''} end
redis.call('HSET', KEYS[1], 'state', 'acked', 'ackedBy', ARGV[1], 'ackedAt', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return {'ok', ''}`,
  },

  /**
   * open / acked -> resolved, with the claim of the "resolved" reply; or takes over that claim when
   * its worker left it stale.
   * KEYS[1] the alert
   * ARGV[1] the passing finding (JSON), ARGV[2] now (ms), ARGV[3] the claims' stale time (ms)
   * Returns 'post' (the caller holds the reply's claim: edit the message, post "resolved" in its
   * thread); 'none' (no alert, or resolved with the reply posted or freshly claimed).
   * Atomic so that of several passing checks exactly one posts "resolved".
   */
  dumpResolve: {
    keys: 1,
    lua: `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'none' end
local now = tonumber(ARGV[2])
if state == 'open' or state == 'acked' then
  redis.call('HSET', KEYS[1], 'state', 'resolved', 'resolvedAt', ARGV[2], 'resolved', ARGV[1], 'resolvePost', 'claimed:' .. ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  return 'post'
end
local claim = redis.call('HGET', KEYS[1], 'resolvePost') or ''
local at = tonumber(string.match(claim, '^claimed:(%d+)$') or '')
if at and now - at > tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'resolvePost', 'claimed:' .. ARGV[2])
  return 'post'
end
return 'none'`,
  },

  /**
   * Clears the job's pointer to its open alert when it still names this alert.
   * KEYS[1] the job's last-check hash
   * ARGV[1] the alert id
   * Returns 1 when cleared; 0 when it names another alert (a newer day's) or none.
   * Atomic so that a newer day's alert, pointed to in between, stays.
   */
  dumpClearOpen: {
    keys: 1,
    lua: `
if redis.call('HGET', KEYS[1], 'alertId') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'alertId')
return 1`,
  },
} satisfies Record<string, LuaScript>;

export type ScriptName = keyof typeof SCRIPTS;

/** Runs a dump-alert script by name (registered on the connection at its first use). */
export const runScript = scriptRunner(SCRIPTS);
