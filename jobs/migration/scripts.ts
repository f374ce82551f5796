// The Lua scripts behind every transition of a /migration request (jobs/migration/store.ts is their
// only caller). Each is registered once per connection with ioredis defineCommand, and each says,
// as BullMQ's scripts do, what its KEYS and ARGV are and what it returns.
//
// A request is one hash. Fields the scripts use: kind, state, requester, planHash, approvals (JSON
// [{user, at, hash}]), retries (how many run or rollback jobs were handed out: the next job id's
// number), runJob (the run job of an approved request), op / opJob / opSince (the operation that owns
// the request and its job), fence (advanced by every claim: a runner holding an older one may no
// longer act or write), stop (why a running request must stop), failures (how many times it failed),
// windowId, expiresAt, version. The phase-3 window is the maintenance window's own hash, read here
// (state, end) so a check and a cancel or extend cannot interleave.
import { scriptRunner } from '../../infra/redis.js';

/** Lua helpers shared by the scripts below (inlined into each). */
const HELPERS = `
local function isFinal(kind, state)
  return state == 'done' or state == 'rejected' or state == 'expired' or state == 'cancelled'
    or state == 'rolled-back' or (kind == 'cleanup' and state == 'failed')
end
local function mayApprove(approvers, user)
  if approvers == '*' then return true end
  for _, u in ipairs(cjson.decode(approvers)) do if u == user then return true end end
  return false
end
-- distinct approvers on hash h who may approve now and are not the requester
local function counting(list, h, requester, approvers)
  local seen, n = {}, 0
  for _, a in ipairs(list) do
    if a.hash == h and a.user ~= requester and not seen[a.user] and mayApprove(approvers, a.user) then
      seen[a.user] = true
      n = n + 1
    end
  end
  return n
end
local function bump(key)
  redis.call('HINCRBY', key, 'version', 1)
end
`;

export const SCRIPTS = {
  /**
   * Whether the open-request pointer may be trusted: it names a record that exists and is open.
   * KEYS[1] the kind's open-request pointer, KEYS[2] the record of the id read from it
   * ARGV[1] that id
   * Returns the id; or false after clearing the pointer (record gone or final).
   */
  migCurrent: {
    keys: 2,
    lua: `${HELPERS}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local state = redis.call('HGET', KEYS[2], 'state')
if state and not isFinal(redis.call('HGET', KEYS[2], 'kind'), state) then return ARGV[1] end
redis.call('DEL', KEYS[1])
return false`,
  },

  /**
   * Stores a new pending request unless another of its kind is open.
   * KEYS[1] the new record, KEYS[2] the kind's open-request pointer, KEYS[3] the kind's latest
   * pointer, KEYS[4] the record the pointer named when read (KEYS[1] when it named none)
   * ARGV[1] the new id, ARGV[2] the id the pointer named when read ('' none), ARGV[3] when the record
   * and both pointers expire (epoch ms: one lifetime), ARGV[4..] field, value pairs
   * Returns 'created'; 'exists' (this id is stored already); 'open' (another is open); 'moved' (the
   * pointer changed since it was read: read it again).
   */
  migCreate: {
    keys: 4,
    lua: `${HELPERS}
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
local cur = redis.call('GET', KEYS[2])
if (cur or '') ~= ARGV[2] then return 'moved' end
if cur and cur ~= ARGV[1] then
  local state = redis.call('HGET', KEYS[4], 'state')
  if state and not isFinal(redis.call('HGET', KEYS[4], 'kind'), state) then return 'open' end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'PXAT', ARGV[3])
redis.call('SET', KEYS[3], ARGV[1], 'PXAT', ARGV[3])
return 'created'`,
  },

  /**
   * Counts an approval by ARGV[1], bound to the plan hash the config gives now; at the quorum the
   * request becomes approved and gets its run job's id.
   * KEYS[1] the record, KEYS[2] the phase-3 window's record (KEYS[1] for the cleanup)
   * ARGV[1] user, ARGV[2] current plan hash, ARGV[3] now, ARGV[4] quorum, ARGV[5] approvers (JSON
   * list, or '*'), ARGV[6] how much of the window a run needs (ms)
   * Returns {result, detail, runJob}: 'counted' | 'approved' | 'already' (detail: the count);
   * 'own' | 'not-approver' | 'expired' | 'plan' | 'window-cancelled'; 'state' (detail: the state).
   */
  migApprove: {
    keys: 2,
    lua: `${HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'state', 'gone', ''} end
if state ~= 'pending' then return {'state', state, ''} end
local requester = redis.call('HGET', KEYS[1], 'requester')
if requester == ARGV[1] then return {'own', '', ''} end
if not mayApprove(ARGV[5], ARGV[1]) then return {'not-approver', '', ''} end
local now = tonumber(ARGV[3])
if redis.call('HGET', KEYS[1], 'kind') == 'phase3' then
  local ws = redis.call('HGET', KEYS[2], 'state')
  if ws == 'cancelled' then return {'window-cancelled', '', ''} end
  if not ws or ws == 'completed' then return {'expired', '', ''} end
  if tonumber(redis.call('HGET', KEYS[2], 'end')) - tonumber(ARGV[6]) <= now then return {'expired', '', ''} end
elseif tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) <= now then
  return {'expired', '', ''}
end
if redis.call('HGET', KEYS[1], 'planHash') ~= ARGV[2] then return {'plan', '', ''} end
local list = cjson.decode(redis.call('HGET', KEYS[1], 'approvals') or '[]')
local kept, already = {}, false
for _, a in ipairs(list) do
  if a.user == ARGV[1] and a.hash == ARGV[2] then already = true end
  if a.user ~= ARGV[1] or a.hash == ARGV[2] then table.insert(kept, a) end
end
if not already then
  table.insert(kept, {user = ARGV[1], at = now, hash = ARGV[2]})
  redis.call('HSET', KEYS[1], 'approvals', cjson.encode(kept))
  bump(KEYS[1])
end
local n = counting(kept, ARGV[2], requester, ARGV[5])
if already and n < tonumber(ARGV[4]) then return {'already', tostring(n), ''} end
if n >= tonumber(ARGV[4]) then
  local k = redis.call('HINCRBY', KEYS[1], 'retries', 1)
  local runJob = 'mig-run-' .. redis.call('HGET', KEYS[1], 'id') .. '-' .. k
  redis.call('HSET', KEYS[1], 'state', 'approved', 'runJob', runJob, 'approvedAt', ARGV[3])
  return {'approved', tostring(n), runJob}
end
return {'counted', tostring(n), ''}`,
  },

  /**
   * Moves a request that no operation owns from one of ARGV[1] to ARGV[2]; a final state frees the
   * kind's open-request pointer.
   * KEYS[1] the record, KEYS[2] the kind's open-request pointer
   * ARGV[1] allowed states (comma-separated), ARGV[2] the new state, ARGV[3..] field, value pairs
   * Returns {1, state found} when moved, {0, state found ('gone' without a record)} otherwise.
   */
  migTransition: {
    keys: 2,
    lua: `${HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {0, 'gone'} end
local allowed = false
for f in string.gmatch(ARGV[1], '[^,]+') do if f == state then allowed = true end end
if not allowed then return {0, state} end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
bump(KEYS[1])
if isFinal(redis.call('HGET', KEYS[1], 'kind'), ARGV[2]) and redis.call('GET', KEYS[2]) == redis.call('HGET', KEYS[1], 'id') then
  redis.call('DEL', KEYS[2])
end
return {1, state}`,
  },

  /**
   * Expires a pending or approved request once its time is up: phase 3 when less than the run's
   * budget is left of its window as the window is now (or the window is gone, cancelled or over), the
   * cleanup at its expiresAt.
   * KEYS[1] the record, KEYS[2] the kind's open-request pointer, KEYS[3] the window's record (KEYS[1]
   * for the cleanup)
   * ARGV[1] now, ARGV[2] the run's budget (ms), ARGV[3] the reason
   * Returns {'expired', state found}; {'later', when it is due (ms)}; {'state', state found}.
   */
  migExpire: {
    keys: 3,
    lua: `${HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'state', 'gone'} end
if state ~= 'pending' and state ~= 'approved' then return {'state', state} end
local now = tonumber(ARGV[1])
local due
if redis.call('HGET', KEYS[1], 'kind') == 'phase3' then
  local ws = redis.call('HGET', KEYS[3], 'state')
  if ws and ws ~= 'cancelled' and ws ~= 'completed' then
    due = tonumber(redis.call('HGET', KEYS[3], 'end')) - tonumber(ARGV[2])
  end
else
  due = tonumber(redis.call('HGET', KEYS[1], 'expiresAt'))
end
if due and due > now then return {'later', tostring(due)} end
redis.call('HSET', KEYS[1], 'state', 'expired', 'reason', ARGV[3])
bump(KEYS[1])
if redis.call('GET', KEYS[2]) == redis.call('HGET', KEYS[1], 'id') then redis.call('DEL', KEYS[2]) end
return {'expired', state}`,
  },

  /**
   * Retry of a failed phase-3 run: failed -> approved with a new run job, while its window is open.
   * KEYS[1] the record, KEYS[2] the window's record
   * ARGV[1] now
   * Returns {'ok', runJob}; {'state', state found}; {'window', 'cancelled' | 'over' | 'gone'}.
   */
  migRetry: {
    keys: 2,
    lua: `${HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'state', 'gone'} end
if state ~= 'failed' or redis.call('HGET', KEYS[1], 'kind') ~= 'phase3' then return {'state', state} end
local ws = redis.call('HGET', KEYS[2], 'state')
if not ws then return {'window', 'gone'} end
if ws == 'cancelled' then return {'window', 'cancelled'} end
if ws == 'completed' or tonumber(redis.call('HGET', KEYS[2], 'end')) <= tonumber(ARGV[1]) then return {'window', 'over'} end
local k = redis.call('HINCRBY', KEYS[1], 'retries', 1)
local runJob = 'mig-run-' .. redis.call('HGET', KEYS[1], 'id') .. '-' .. k
redis.call('HSET', KEYS[1], 'state', 'approved', 'runJob', runJob, 'approvedAt', ARGV[1])
bump(KEYS[1])
return {'ok', runJob}`,
  },

  /**
   * Roll back of a failed phase-3 request: failed -> rolling-back, owned by a new rollback job, which
   * also takes the instance (one operation at a time on it).
   * KEYS[1] the record, KEYS[2] the instance's operation slot
   * ARGV[1] now
   * Returns {'ok', job}; {'state', state found}; {'busy', the job holding the instance}.
   */
  migRollback: {
    keys: 2,
    lua: `${HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'state', 'gone'} end
if state ~= 'failed' or redis.call('HGET', KEYS[1], 'kind') ~= 'phase3' then return {'state', state} end
local holder = redis.call('HGET', KEYS[2], 'job')
if holder then return {'busy', holder} end
local k = redis.call('HINCRBY', KEYS[1], 'retries', 1)
local job = 'mig-rb-' .. redis.call('HGET', KEYS[1], 'id') .. '-' .. k
redis.call('HSET', KEYS[1], 'state', 'rolling-back', 'op', 'rollback', 'opJob', job, 'opSince', ARGV[1])
bump(KEYS[1])
redis.call('HSET', KEYS[2], 'job', job, 'since', ARGV[1], 'fence', '0')
return {'ok', job}`,
  },

  /**
   * Takes the instance for a rollback that no request owns (\`/migration rollback 3\` with no failed
   * request open), unless a phase-3 request is approved, running or rolling back, or another
   * operation holds the instance.
   * KEYS[1] the instance's operation slot, KEYS[2] the phase-3 open-request pointer, KEYS[3] the record
   * the pointer named when read (KEYS[1] when none)
   * ARGV[1] the rollback job id, ARGV[2] the id the pointer named when read ('' none), ARGV[3] now
   * Returns {'ok', ''}; {'moved', ''} (read the pointer again); {'request', state} (the open request
   * is in that state: a failed one is rolled back as its own operation); {'busy', holder}.
   */
  migTakeInstance: {
    keys: 3,
    lua: `${HELPERS}
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then return {'moved', ''} end
if ARGV[2] ~= '' then
  local state = redis.call('HGET', KEYS[3], 'state')
  if state == 'approved' or state == 'running' or state == 'rolling-back' or state == 'failed' then
    return {'request', state}
  end
end
local holder = redis.call('HGET', KEYS[1], 'job')
if holder then return {'busy', holder} end
redis.call('HSET', KEYS[1], 'job', ARGV[1], 'since', ARGV[3], 'fence', '0')
return {'ok', ''}`,
  },

  /**
   * A job takes the request it was queued for: a run (approved -> running, or the same job resumed
   * after a crash or a retry) or a rollback (rolling-back). Every take advances the fence, so a
   * runner that lost its lock can no longer act. A phase-3 operation also holds the instance.
   * KEYS[1] the record, KEYS[2] the instance's operation slot (KEYS[1] for the cleanup)
   * ARGV[1] the job id, ARGV[2] 'run' or 'rollback', ARGV[3] now, ARGV[4] '1' to hold the slot
   * Returns {'fresh' | 'resume', fence, state found}; {'busy', holder, state}; {'skip', '', state}.
   */
  migClaim: {
    keys: 2,
    lua: `${HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'skip', '', 'gone'} end
local job = ARGV[1]
local result
if ARGV[2] == 'run' then
  if state == 'approved' and redis.call('HGET', KEYS[1], 'runJob') == job then result = 'fresh'
  elseif state == 'running' and redis.call('HGET', KEYS[1], 'opJob') == job then result = 'resume'
  else return {'skip', '', state} end
else
  if state ~= 'rolling-back' or redis.call('HGET', KEYS[1], 'opJob') ~= job then return {'skip', '', state} end
  result = redis.call('HGET', KEYS[1], 'rbJob') == job and 'resume' or 'fresh'
end
if ARGV[4] == '1' then
  local holder = redis.call('HGET', KEYS[2], 'job')
  if holder and holder ~= job then return {'busy', holder, state} end
  if not holder then redis.call('HSET', KEYS[2], 'job', job, 'since', ARGV[3], 'fence', '0') end
end
local fence = redis.call('HINCRBY', KEYS[1], 'fence', 1)
if result == 'fresh' and ARGV[2] == 'run' then
  redis.call('HSET', KEYS[1], 'state', 'running', 'op', 'run', 'opJob', job, 'opSince', ARGV[3])
  redis.call('HDEL', KEYS[1], 'stop')
  bump(KEYS[1])
end
if ARGV[2] == 'rollback' then redis.call('HSET', KEYS[1], 'rbJob', job) end
return {result, tostring(fence), state}`,
  },

  /**
   * A rollback job that no request owns takes its instance slot: advances the slot's fence.
   * KEYS[1] the instance's operation slot
   * ARGV[1] the job id
   * Returns the fence, or false when the slot is not this job's.
   */
  migClaimInstance: {
    keys: 1,
    lua: `
if redis.call('HGET', KEYS[1], 'job') ~= ARGV[1] then return false end
return tostring(redis.call('HINCRBY', KEYS[1], 'fence', 1))`,
  },

  /**
   * The check right before a mutating AWS call. 'own': the request is in ARGV[2], owned by this job
   * with this fence, and (when ARGV[9] is set) the job still holds its BullMQ lock. 'full' also: no
   * stop was asked for (a cancelled window), the config's plan hashes to the approved one, the
   * approvals that count now reach the quorum, and (phase 3) the window is neither cancelled nor over
   * with at least ARGV[8] ms of it left.
   * KEYS[1] the record (or the instance slot, for a rollback no request owns), KEYS[2] the window's
   * record (KEYS[1] for the cleanup), KEYS[3] the job's BullMQ lock key
   * ARGV[1] fence, ARGV[2] the state the step needs ('' for an instance slot), ARGV[3] 'own' or
   * 'full', ARGV[4] the current plan hash, ARGV[5] approvers (JSON list or '*'), ARGV[6] quorum,
   * ARGV[7] now, ARGV[8] how much of the window must be left (ms), ARGV[9] the lock token ('' not
   * checked), ARGV[10] the job id, ARGV[11] '1' when a change follows (the request is then marked
   * touched: it can no longer just expire)
   * Returns {'ok', ''};
   * {'fenced', why}; {'stop', reason}; {'plan', ''}; {'quorum', count};
   * {'window', 'gone' | 'cancelled' | 'over' | 'short'}.
   */
  migGuard: {
    keys: 3,
    lua: `${HELPERS}
if ARGV[9] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[9] then return {'fenced', 'this run lost its lock'} end
if ARGV[2] == '' then
  if redis.call('HGET', KEYS[1], 'job') ~= ARGV[10] or redis.call('HGET', KEYS[1], 'fence') ~= ARGV[1] then
    return {'fenced', 'another operation holds the instance'}
  end
  return {'ok', ''}
end
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'fenced', 'the request is gone'} end
if redis.call('HGET', KEYS[1], 'opJob') ~= ARGV[10] or redis.call('HGET', KEYS[1], 'fence') ~= ARGV[1] then
  return {'fenced', 'another run owns the request'}
end
if state ~= ARGV[2] then return {'fenced', 'the request is ' .. state} end
if ARGV[3] == 'own' then return {'ok', ''} end
local stop = redis.call('HGET', KEYS[1], 'stop')
if stop and stop ~= '' then return {'stop', stop} end
if redis.call('HGET', KEYS[1], 'planHash') ~= ARGV[4] then return {'plan', ''} end
local list = cjson.decode(redis.call('HGET', KEYS[1], 'approvals') or '[]')
local n = counting(list, ARGV[4], redis.call('HGET', KEYS[1], 'requester'), ARGV[5])
if n < tonumber(ARGV[6]) then return {'quorum', tostring(n)} end
if redis.call('HGET', KEYS[1], 'kind') == 'phase3' then
  local ws = redis.call('HGET', KEYS[2], 'state')
  if not ws then return {'window', 'gone'} end
  if ws == 'cancelled' then return {'window', 'cancelled'} end
  local wend = tonumber(redis.call('HGET', KEYS[2], 'end'))
  local now = tonumber(ARGV[7])
  if ws == 'completed' or now >= wend then return {'window', 'over'} end
  if now + tonumber(ARGV[8]) > wend then return {'window', 'short'} end
end
if ARGV[11] == '1' then redis.call('HSET', KEYS[1], 'touched', '1') end
return {'ok', ''}`,
  },

  /**
   * A runner's progress (fenced): fields written only while this job, with this fence, owns the
   * running or rolling-back request.
   * KEYS[1] the record
   * ARGV[1] fence, ARGV[2] the job id, ARGV[3..] field, value pairs
   * Returns 1 when written, 0 when the runner no longer owns the request.
   */
  migProgress: {
    keys: 1,
    lua: `${HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' and state ~= 'rolling-back' then return 0 end
if redis.call('HGET', KEYS[1], 'opJob') ~= ARGV[2] or redis.call('HGET', KEYS[1], 'fence') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
bump(KEYS[1])
return 1`,
  },

  /**
   * Ends the operation that owns a running or rolling-back request: by its runner (fenced), or by
   * the watchdog (ARGV[1] = '': the job only; the fence is advanced so a runner still alive can no
   * longer act). Frees the instance slot the job holds, and the open-request pointer when final.
   * KEYS[1] the record, KEYS[2] the kind's open-request pointer, KEYS[3] the instance's slot
   * (KEYS[1] for the cleanup)
   * ARGV[1] fence ('' for the watchdog), ARGV[2] the job id, ARGV[3] the new state, ARGV[4..] field,
   * value pairs
   * Returns 1 when ended, 0 when this job does not own the request (any more).
   */
  migEnd: {
    keys: 3,
    lua: `${HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' and state ~= 'rolling-back' then return 0 end
if redis.call('HGET', KEYS[1], 'opJob') ~= ARGV[2] then return 0 end
if ARGV[1] == '' then redis.call('HINCRBY', KEYS[1], 'fence', 1)
elseif redis.call('HGET', KEYS[1], 'fence') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[3])
if #ARGV > 3 then redis.call('HSET', KEYS[1], unpack(ARGV, 4)) end
redis.call('HDEL', KEYS[1], 'op', 'opJob', 'opSince', 'stop')
if ARGV[3] == 'failed' then redis.call('HINCRBY', KEYS[1], 'failures', 1) end
bump(KEYS[1])
if KEYS[3] ~= KEYS[1] and redis.call('HGET', KEYS[3], 'job') == ARGV[2] then redis.call('DEL', KEYS[3]) end
if isFinal(redis.call('HGET', KEYS[1], 'kind'), ARGV[3]) and redis.call('GET', KEYS[2]) == redis.call('HGET', KEYS[1], 'id') then
  redis.call('DEL', KEYS[2])
end
return 1`,
  },

  /**
   * Frees an instance slot held by ARGV[1] (a rollback no request owns, finished or found dead).
   * KEYS[1] the instance's operation slot
   * ARGV[1] the job id, ARGV[2] its fence ('' for the watchdog)
   * Returns 1 when freed.
   */
  migFreeInstance: {
    keys: 1,
    lua: `
if redis.call('HGET', KEYS[1], 'job') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'fence') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1`,
  },

  /**
   * A window's fate is its request's: a pending or approved request linked to the window is
   * cancelled; a running one is asked to stop before its next change.
   * KEYS[1] the record, KEYS[2] the kind's open-request pointer
   * ARGV[1] the window id, ARGV[2] the reason, ARGV[3] who cancelled it
   * Returns {'cancelled', state found, run job}; {'stopping', 'running', ''}; {'none', state found, ''}.
   */
  migWindowCancelled: {
    keys: 2,
    lua: `${HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state or redis.call('HGET', KEYS[1], 'windowId') ~= ARGV[1] then return {'none', state or 'gone', ''} end
if state == 'pending' or state == 'approved' then
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'reason', ARGV[2], 'cancelledBy', ARGV[3])
  bump(KEYS[1])
  if redis.call('GET', KEYS[2]) == redis.call('HGET', KEYS[1], 'id') then redis.call('DEL', KEYS[2]) end
  return {'cancelled', state, redis.call('HGET', KEYS[1], 'runJob') or ''}
end
if state == 'running' then
  redis.call('HSET', KEYS[1], 'stop', ARGV[2])
  bump(KEYS[1])
  return {'stopping', state, ''}
end
return {'none', state, ''}`,
  },

  /**
   * The watchdog's re-drive of an approved request whose run job is gone or ended without running:
   * a new run job id (never an id BullMQ already finished).
   * KEYS[1] the record
   * ARGV[1] the run job found, ARGV[2] now
   * Returns the new run job id, or false when the request moved on.
   */
  migRedrive: {
    keys: 1,
    lua: `${HELPERS}
if redis.call('HGET', KEYS[1], 'state') ~= 'approved' or redis.call('HGET', KEYS[1], 'runJob') ~= ARGV[1] then return false end
local k = redis.call('HINCRBY', KEYS[1], 'retries', 1)
local runJob = 'mig-run-' .. redis.call('HGET', KEYS[1], 'id') .. '-' .. k
redis.call('HSET', KEYS[1], 'runJob', runJob, 'approvedAt', ARGV[2])
bump(KEYS[1])
return runJob`,
  },

  /**
   * Raises a counter field of an existing hash to ARGV[2] (never lowers it): what the card shows,
   * which failure was posted.
   * KEYS[1] the hash
   * ARGV[1] the field, ARGV[2] the value
   * Returns 1 when raised.
   */
  migRaise: {
    keys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1') >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`,
  },

  /**
   * Records a cutover (phase 4) and, in the same step, what must follow it (its watches, the
   * status card) in the outbox; or removes one (rollback 4) with its follow-up.
   * KEYS[1] the cutovers hash, KEYS[2] the outbox
   * ARGV[1] 'add' or 'remove', ARGV[2] the cron, ARGV[3] the cutover (JSON, for 'add'), ARGV[4] the
   * outbox entry id, ARGV[5] the entry (JSON)
   * Returns 1 when changed, 0 when already cut over ('add') or not cut over ('remove').
   */
  migCutover: {
    keys: 2,
    lua: `
if ARGV[1] == 'add' then
  if redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3]) == 0 then return 0 end
elseif redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
return 1`,
  },

  /**
   * What a watch saw of an upload after a cutover, kept only while that same cutover stands.
   * KEYS[1] the cutovers hash, KEYS[2] the watches hash
   * ARGV[1] the cron, ARGV[2] the cutover's time (ms, as in its record), ARGV[3] the watch number,
   * ARGV[4] the result (JSON)
   * Returns 1 when kept.
   */
  migWatchSeen: {
    keys: 2,
    lua: `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
if string.format('%d', cjson.decode(raw).at) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[3], ARGV[4])
return 1`,
  },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** Runs a script by name, registering all of them on this connection the first time. */
export const runScript = scriptRunner(SCRIPTS);
