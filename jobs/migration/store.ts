// The migration's state in Redis: the approval-gated requests, phase 3 (`p3-…`) and the phase-5
// cleanup (`p5-…`), one small state machine with guarded Lua transitions (pending -> approved ->
// running -> done | failed; pending -> rejected | expired; phase 3 also failed -> approved (retry) |
// rolled-back), the one request of each kind that may be open at a time, the phase-4 cutovers, and
// where the status card is.
import type { Redis } from '../../infra/redis.js';
import { type CleanupPlan, kindOf, type Plan, REQUEST_ID, type RequestKind } from './plan.js';

export type RequestState =
  | 'pending'
  | 'approved'
  | 'running'
  | 'done'
  | 'failed'
  | 'rejected'
  | 'expired'
  | 'rolled-back';

export interface Approval {
  user: string;
  at: number;
  hash: string;
}

/** What every approval-gated request has: the approvals, the state, the card. */
interface RequestBase {
  id: string;
  requester: string;
  requestId: string;
  state: RequestState;
  planHash: string;
  approvals: Approval[];
  needed: number;
  expiresAt: number;
  createdAt: number;
  rejectedBy?: string;
  reason?: string;
  error?: string;
  runJob?: string;
  retries: number;
  cardChannel?: string;
  cardTs?: string;
  version: number;
}

export interface Phase3Request extends RequestBase {
  kind: 'phase3';
  plan: Plan;
  instanceName?: string;
  windowId: string;
  windowCreated: boolean;
  /** Index of the next step to run (steps before it are done). */
  step: number;
  failedStep?: number;
  /** The parallel-testing streak the request was checked with (shown on the card). */
  streak?: number;
}

/** Phase 5's one AWS step: delete the listed objects under the test prefix. */
export interface CleanupRequest extends RequestBase {
  kind: 'cleanup';
  plan: CleanupPlan;
  /** Objects of the approved listing that are gone (deleted by the run). */
  deleted: number;
}

export type MigrationRequest = Phase3Request | CleanupRequest;

export interface MigrationStore {
  redis: Redis;
  prefix: string;
}

const reqKey = (s: MigrationStore, id: string) => `${s.prefix}:mig:req:${id}`;
const currentKey = (s: MigrationStore, kind: RequestKind) =>
  kind === 'phase3' ? `${s.prefix}:mig:current` : `${s.prefix}:mig:current:${kind}`;
const latestKey = (s: MigrationStore, kind: RequestKind) => `${s.prefix}:mig:latest:${kind}`;
const cutoverKey = (s: MigrationStore) => `${s.prefix}:mig:cutovers`;
const statusKey = (s: MigrationStore) => `${s.prefix}:mig:status`;
const KEEP_MS = 90 * 86_400_000;

/** States after which a request never changes again (phase 3 can still be retried after `failed`). */
export function isFinal(kind: RequestKind, state: string): boolean {
  return (
    ['done', 'rejected', 'expired', 'rolled-back'].includes(state) ||
    (kind === 'cleanup' && state === 'failed')
  );
}

function fromHash(h: Record<string, string>): MigrationRequest | undefined {
  if (!h.id || !h.state || !h.plan) return undefined;
  const base: RequestBase = {
    id: h.id,
    requester: h.requester ?? '',
    requestId: h.requestId ?? '',
    state: h.state as RequestState,
    planHash: h.planHash ?? '',
    approvals: JSON.parse(h.approvals ?? '[]') as Approval[],
    needed: Number(h.needed ?? 2),
    expiresAt: Number(h.expiresAt),
    createdAt: Number(h.createdAt),
    rejectedBy: h.rejectedBy || undefined,
    reason: h.reason || undefined,
    error: h.error || undefined,
    runJob: h.runJob || undefined,
    retries: Number(h.retries ?? 0),
    cardChannel: h.cardChannel || undefined,
    cardTs: h.cardTs || undefined,
    version: Number(h.version ?? 0),
  };
  if (kindOf(h.id) === 'cleanup') {
    return {
      ...base,
      kind: 'cleanup',
      plan: JSON.parse(h.plan) as CleanupPlan,
      deleted: Number(h.deleted ?? 0),
    };
  }
  return {
    ...base,
    kind: 'phase3',
    plan: JSON.parse(h.plan) as Plan,
    instanceName: h.instanceName || undefined,
    windowId: h.windowId ?? '',
    windowCreated: h.windowCreated === '1',
    step: Number(h.step ?? 0),
    failedStep: h.failedStep ? Number(h.failedStep) : undefined,
    streak: h.streak ? Number(h.streak) : undefined,
  };
}

export async function getRequest(s: MigrationStore, id: string): Promise<MigrationRequest | undefined> {
  if (!REQUEST_ID.test(id)) return undefined;
  return fromHash(await s.redis.hgetall(reqKey(s, id)));
}

/** The id of the request of `kind` that is open (not in a final state), if any. */
export async function currentRequest(
  s: MigrationStore,
  kind: RequestKind = 'phase3',
): Promise<string | undefined> {
  return (await s.redis.get(currentKey(s, kind))) ?? undefined;
}

/** The id of the latest request of `kind`, open or not, while it is kept. */
export async function latestRequest(s: MigrationStore, kind: RequestKind): Promise<string | undefined> {
  return (await s.redis.get(latestKey(s, kind))) ?? undefined;
}

/** The keys of a cleanup request's approved listing. */
export async function approvedKeys(s: MigrationStore, id: string): Promise<string[]> {
  return JSON.parse((await s.redis.hget(reqKey(s, id), 'keys')) ?? '[]') as string[];
}

function toHash(r: MigrationRequest): Record<string, string> {
  const base = {
    id: r.id,
    requester: r.requester,
    requestId: r.requestId,
    state: r.state,
    plan: JSON.stringify(r.plan),
    planHash: r.planHash,
    approvals: '[]',
    needed: String(r.needed),
    expiresAt: String(r.expiresAt),
    createdAt: String(r.createdAt),
    retries: '0',
    version: '1',
  };
  if (r.kind === 'cleanup') return { ...base, deleted: '0' };
  return {
    ...base,
    instanceName: r.instanceName ?? '',
    windowId: r.windowId,
    windowCreated: r.windowCreated ? '1' : '0',
    step: '0',
    ...(r.streak !== undefined ? { streak: String(r.streak) } : {}),
  };
}

/**
 * Stores a new pending request (plus `extra` fields, e.g. a cleanup's listed keys) if no other of
 * its kind is open; returns false when one is.
 */
export async function createRequest(
  s: MigrationStore,
  r: MigrationRequest,
  extra: Record<string, string> = {},
): Promise<boolean> {
  const fields = { ...toHash(r), ...extra };
  const ok = await s.redis.eval(
    `local cur = redis.call('GET', KEYS[2])
     if cur and cur ~= ARGV[1] then return 0 end
     if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
     redis.call('SET', KEYS[2], ARGV[1])
     redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
     redis.call('HSET', KEYS[1], unpack(ARGV, 3))
     redis.call('PEXPIRE', KEYS[1], ARGV[2])
     return 1`,
    3,
    reqKey(s, r.id),
    currentKey(s, r.kind),
    latestKey(s, r.kind),
    r.id,
    String(KEEP_MS),
    ...Object.entries(fields).flat(),
  );
  return ok === 1;
}

/** Stores where the approval card is. */
export async function setCard(s: MigrationStore, id: string, channel: string, ts: string): Promise<void> {
  await s.redis.hset(reqKey(s, id), 'cardChannel', channel, 'cardTs', ts);
}

export type ApproveResult =
  | { result: 'counted' | 'approved' | 'already'; count: number }
  | { result: 'own' | 'expired' | 'plan' }
  | { result: 'state'; state: string };

/** Counts an approval by `user` bound to `hash`; the request becomes approved at `needed` distinct approvers. */
export async function approve(
  s: MigrationStore,
  id: string,
  user: string,
  hash: string,
  now: number,
  needed: number,
): Promise<ApproveResult> {
  const [result, value] = (await s.redis.eval(
    `local state = redis.call('HGET', KEYS[1], 'state')
     if not state then return {'state', 'gone'} end
     if state ~= 'pending' then return {'state', state} end
     if redis.call('HGET', KEYS[1], 'requester') == ARGV[1] then return {'own', ''} end
     if tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) <= tonumber(ARGV[3]) then return {'expired', ''} end
     if redis.call('HGET', KEYS[1], 'planHash') ~= ARGV[2] then return {'plan', ''} end
     local list = cjson.decode(redis.call('HGET', KEYS[1], 'approvals') or '[]')
     local kept, count = {}, 0
     for _, a in ipairs(list) do
       if a.user == ARGV[1] and a.hash == ARGV[2] then
         for _, b in ipairs(list) do if b.hash == ARGV[2] then count = count + 1 end end
         return {'already', tostring(count)}
       end
       if a.user ~= ARGV[1] then table.insert(kept, a) end
     end
     table.insert(kept, {user = ARGV[1], at = tonumber(ARGV[3]), hash = ARGV[2]})
     for _, a in ipairs(kept) do if a.hash == ARGV[2] then count = count + 1 end end
     redis.call('HSET', KEYS[1], 'approvals', cjson.encode(kept))
     redis.call('HINCRBY', KEYS[1], 'version', 1)
     if count >= tonumber(ARGV[4]) then
       local runJob = 'mig-run-' .. redis.call('HGET', KEYS[1], 'id') .. '-' .. (redis.call('HGET', KEYS[1], 'retries') or '0')
       redis.call('HSET', KEYS[1], 'state', 'approved', 'runJob', runJob)
       return {'approved', tostring(count)}
     end
     return {'counted', tostring(count)}`,
    1,
    reqKey(s, id),
    user,
    hash,
    String(now),
    String(needed),
  )) as [string, string];
  if (result === 'state') return { result, state: value };
  if (result === 'own' || result === 'expired' || result === 'plan') return { result };
  return { result: result as 'counted' | 'approved' | 'already', count: Number(value) };
}

/**
 * Moves a request from one of `from` to `to` (with extra fields); the open-request slot of its kind
 * is freed when `to` is final. Returns the state found.
 */
export async function transition(
  s: MigrationStore,
  id: string,
  from: RequestState[],
  to: RequestState,
  fields: Record<string, string> = {},
): Promise<{ ok: boolean; state: string }> {
  const terminal = isFinal(kindOf(id), to) ? '1' : '0';
  const [ok, state] = (await s.redis.eval(
    `local state = redis.call('HGET', KEYS[1], 'state')
     if not state then return {0, 'gone'} end
     local allowed = false
     for f in string.gmatch(ARGV[1], '[^,]+') do if f == state then allowed = true end end
     if not allowed then return {0, state} end
     redis.call('HSET', KEYS[1], 'state', ARGV[2])
     if #ARGV > 3 then redis.call('HSET', KEYS[1], unpack(ARGV, 4)) end
     redis.call('HINCRBY', KEYS[1], 'version', 1)
     if ARGV[3] == '1' and redis.call('GET', KEYS[2]) == redis.call('HGET', KEYS[1], 'id') then
       redis.call('DEL', KEYS[2])
     end
     return {1, state}`,
    2,
    reqKey(s, id),
    currentKey(s, kindOf(id)),
    from.join(','),
    to,
    terminal,
    ...Object.entries(fields).flat(),
  )) as [number, string];
  return { ok: ok === 1, state };
}

/**
 * The run's claim: approved -> running for `job`, or a resume of a run this same job started (a
 * retried or restarted job). Anything else: the request was already used, or is not approved.
 */
export async function claimRun(
  s: MigrationStore,
  id: string,
  job: string,
): Promise<{ ok: boolean; state: string }> {
  const [ok, state] = (await s.redis.eval(
    `local state = redis.call('HGET', KEYS[1], 'state')
     if not state then return {0, 'gone'} end
     if state == 'approved' and redis.call('HGET', KEYS[1], 'runJob') == ARGV[1] then
       redis.call('HSET', KEYS[1], 'state', 'running')
       redis.call('HINCRBY', KEYS[1], 'version', 1)
       return {1, state}
     end
     if state == 'running' and redis.call('HGET', KEYS[1], 'runJob') == ARGV[1] then return {1, state} end
     return {0, state}`,
    1,
    reqKey(s, id),
    job,
  )) as [number, string];
  return { ok: ok === 1, state };
}

/** Saves that steps before `step` are done. */
export async function saveStep(s: MigrationStore, id: string, step: number): Promise<void> {
  await s.redis.hset(reqKey(s, id), 'step', String(step));
}

export async function saveFields(
  s: MigrationStore,
  id: string,
  fields: Record<string, string>,
): Promise<void> {
  await s.redis.hset(reqKey(s, id), fields);
}

export interface WatchResult {
  /** 1 or 2: the first or second upload after the cutover. */
  n: number;
  /** YYYY-MM-DD in the configured zone. */
  day: string;
  ok: boolean;
  detail: string;
}

export interface Cutover {
  cron: string;
  at: number;
  by: string;
  forced: boolean;
  /** The next two uploads under dumps/, as the watch saw them. */
  watch?: WatchResult[];
}

export async function cutovers(s: MigrationStore): Promise<Cutover[]> {
  const h = await s.redis.hgetall(cutoverKey(s));
  return Object.values(h).map((v) => JSON.parse(v) as Cutover);
}

export async function recordCutover(s: MigrationStore, c: Cutover): Promise<boolean> {
  return (await s.redis.hsetnx(cutoverKey(s), c.cron, JSON.stringify(c))) === 1;
}

/** Records what a watch saw of an upload after the cutover (kept only while the cutover stands). */
export async function recordWatch(
  s: MigrationStore,
  cron: string,
  at: number,
  result: WatchResult,
): Promise<boolean> {
  const raw = await s.redis.hget(cutoverKey(s), cron);
  if (!raw) return false;
  const c = JSON.parse(raw) as Cutover;
  if (c.at !== at) return false; // a later cutover of the same cron has its own watch
  c.watch = [...(c.watch ?? []).filter((w) => w.n !== result.n), result].sort((a, b) => a.n - b.n);
  await s.redis.hset(cutoverKey(s), cron, JSON.stringify(c));
  return true;
}

export async function removeCutover(s: MigrationStore, cron: string): Promise<boolean> {
  return (await s.redis.hdel(cutoverKey(s), cron)) === 1;
}

export async function statusCardRef(s: MigrationStore): Promise<{ channel: string; ts: string } | undefined> {
  const h = await s.redis.hgetall(statusKey(s));
  return h.channel && h.ts ? { channel: h.channel, ts: h.ts } : undefined;
}

export async function setStatusCard(s: MigrationStore, channel: string, ts: string): Promise<void> {
  await s.redis.hset(statusKey(s), 'channel', channel, 'ts', ts);
}
