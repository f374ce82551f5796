// The migration's state in Redis, and the only writer of it: the approval-gated requests, phase 3
// (`p3-…`) and the phase-5 cleanup (`p5-…`), the operation slot of the instance, the phase-4
// cutovers and their outbox, and where the status card is. Every transition is one Lua script
// (jobs/migration/scripts.ts):
//
//   phase 3:  pending -> approved -> running -> done | failed | expired | cancelled
//             pending | approved -> rejected | expired | cancelled (its window cancelled)
//             failed -> approved (retry) | rolling-back -> rolled-back | failed
//   cleanup:  pending -> approved -> running -> done | failed | expired;  pending -> rejected | expired
//
// A request and every pointer to it (the open one of its kind, the latest) share one lifetime, and
// a pointer whose record is gone or over is cleared when read, never trusted.
import { z } from 'zod';
import { UserError } from '../../infra/errors.js';
import { REQUEST_STATES } from '../../infra/metrics.js';
import type { Redis } from '../../infra/redis.js';
import type { CleanupPlan, Plan, RequestKind } from './plan.js';
import { kindOf, REQUEST_ID } from './plan.js';
import { runScript } from './scripts.js';

/** A request's state; the list is infra/metrics.ts's (the metrics label each), which imports nothing of jobs/. */
export type RequestState = (typeof REQUEST_STATES)[number];

export interface Approval {
  user: string;
  at: number;
  hash: string;
}

/** What every approval-gated request has: the approvals, the state, the operation, the card. */
interface RequestBase {
  id: string;
  requester: string;
  /** The Slack request id of the command that asked for it. */
  requestId: string;
  state: RequestState;
  planHash: string;
  approvals: Approval[];
  /** The quorum when it was made (the live config's quorum is what counts). */
  needed: number;
  /** The cleanup's expiry; for phase 3 the expiry at creation (the window's live end decides). */
  expiresAt: number;
  createdAt: number;
  /** When the record and its pointers expire (epoch ms). */
  keepUntil: number;
  rejectedBy?: string;
  cancelledBy?: string;
  /** Why it was rejected (typed by a person), expired or cancelled. */
  reason?: string;
  /** Why it failed. */
  error?: string;
  /** The run job of an approved request. */
  runJob?: string;
  /** The operation that owns the request (running: 'run'; rolling-back: 'rollback'), and its job. */
  op?: 'run' | 'rollback';
  opJob?: string;
  opSince?: number;
  fence: number;
  /** Why a running request must stop before its next change (its window was cancelled). */
  stop?: string;
  /** A change may have been made: a check before a change passed (so the request cannot just expire). */
  touched: boolean;
  /** How many times it failed, and which failure was posted in the approvals channel. */
  failures: number;
  failPosted: number;
  /** Run and rollback jobs handed out so far (numbers the next job id). */
  retries: number;
  cardChannel?: string;
  cardTs?: string;
  /** The version the card last showed. */
  cardVersion: number;
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
export type RequestOf<K extends RequestKind> = K extends 'phase3' ? Phase3Request : CleanupRequest;

export interface MigrationStore {
  redis: Redis;
  prefix: string;
}

export const reqKey = (s: MigrationStore, id: string) => `${s.prefix}:mig:req:${id}`;
const currentKey = (s: MigrationStore, kind: RequestKind) =>
  kind === 'phase3' ? `${s.prefix}:mig:current` : `${s.prefix}:mig:current:${kind}`;
const latestKey = (s: MigrationStore, kind: RequestKind) => `${s.prefix}:mig:latest:${kind}`;
/** One operation at a time on an instance: the job that holds it. */
export const slotKey = (s: MigrationStore, instanceId: string) => `${s.prefix}:mig:op:${instanceId}`;
const cutoverKey = (s: MigrationStore) => `${s.prefix}:mig:cutovers`;
const watchKey = (s: MigrationStore) => `${s.prefix}:mig:watches`;
const outboxKey = (s: MigrationStore) => `${s.prefix}:mig:outbox`;
const statusKey = (s: MigrationStore) => `${s.prefix}:mig:status`;
/**
 * The maintenance window's record (jobs/maintenance/store.ts keeps it there; the scripts read its
 * `state` and `end` in the same step as the request's, so a cancel or an extension cannot slip
 * between a check and the change it allows). test/unit/jobs/migration/store.test.ts holds the two
 * in step.
 */
export const windowRecordKey = (s: MigrationStore, windowId: string) => `${s.prefix}:mw:w:${windowId}`;
/** The lock BullMQ keeps for an active job of the migration queue (value: the worker's token). */
export const jobLockKey = (s: MigrationStore, jobId: string) => `${s.prefix}:migration:${jobId}:lock`;

/** A request is kept this long after its window's end (phase 3) or its expiry (the cleanup). */
export const KEEP_MS = 90 * 86_400_000;

/** States after which a request never changes again (phase 3 can be retried or rolled back after `failed`). */
export function isFinal(kind: RequestKind, state: string): boolean {
  return (
    ['done', 'rejected', 'expired', 'cancelled', 'rolled-back'].includes(state) ||
    (kind === 'cleanup' && state === 'failed')
  );
}

// ---- reading a record: parsed and checked, never cast --------------------------------------------

const num = (v: string | undefined, fallback = 0) => {
  const n = Number(v);
  return v === undefined || v === '' || !Number.isFinite(n) ? fallback : n;
};
const opt = (v: string | undefined) => (v ? v : undefined);
const optNum = (v: string | undefined) => (v ? num(v) : undefined);

const approvalsSchema = z.array(z.object({ user: z.string(), at: z.number(), hash: z.string() }));
const planSchema = z.object({
  account: z.string(),
  accountId: z.string(),
  region: z.string(),
  instanceId: z.string(),
  instanceProfile: z.string(),
  role: z.string(),
  windowId: z.string().optional(),
  windowStart: z.number(),
  windowEnd: z.number(),
  steps: z.array(z.string()),
});
const cleanupPlanSchema = z.object({
  account: z.string(),
  accountId: z.string(),
  region: z.string(),
  bucket: z.string(),
  prefix: z.string(),
  objects: z.number(),
  bytes: z.number(),
  keysHash: z.string(),
});

function json(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? 'null');
  } catch {
    return null;
  }
}

function stateOf(v: string | undefined): RequestState | undefined {
  return REQUEST_STATES.find((s) => s === v);
}

/** A record as the hash holds it; undefined when it is missing or not a request this code can read. */
function fromHash(h: Record<string, string>): MigrationRequest | undefined {
  const state = stateOf(h.state);
  if (!h.id || !state || !REQUEST_ID.test(h.id)) return undefined;
  const approvals = approvalsSchema.safeParse(json(h.approvals ?? '[]'));
  const base: RequestBase = {
    id: h.id,
    requester: h.requester ?? '',
    requestId: h.requestId ?? '',
    state,
    planHash: h.planHash ?? '',
    approvals: approvals.success ? approvals.data : [],
    needed: num(h.needed, 2),
    expiresAt: num(h.expiresAt),
    createdAt: num(h.createdAt),
    keepUntil: num(h.keepUntil),
    rejectedBy: opt(h.rejectedBy),
    cancelledBy: opt(h.cancelledBy),
    reason: opt(h.reason),
    error: opt(h.error),
    runJob: opt(h.runJob),
    op: h.op === 'run' || h.op === 'rollback' ? h.op : undefined,
    opJob: opt(h.opJob),
    opSince: optNum(h.opSince),
    fence: num(h.fence),
    stop: opt(h.stop),
    touched: h.touched === '1',
    failures: num(h.failures),
    failPosted: num(h.failPosted),
    retries: num(h.retries),
    cardChannel: opt(h.cardChannel),
    cardTs: opt(h.cardTs),
    cardVersion: num(h.cardVersion, -1),
    version: num(h.version),
  };
  if (kindOf(h.id) === 'cleanup') {
    const plan = cleanupPlanSchema.safeParse(json(h.plan));
    if (!plan.success) return undefined;
    return { ...base, kind: 'cleanup', plan: plan.data, deleted: num(h.deleted) };
  }
  const plan = planSchema.safeParse(json(h.plan));
  if (!plan.success) return undefined;
  const windowId = h.windowId ?? plan.data.windowId ?? '';
  return {
    ...base,
    kind: 'phase3',
    plan: { ...plan.data, windowId },
    instanceName: opt(h.instanceName),
    windowId,
    windowCreated: h.windowCreated === '1',
    step: num(h.step),
    failedStep: optNum(h.failedStep),
    streak: optNum(h.streak),
  };
}

/** The request `id`, of either kind, or undefined when there is none (expired, never made, bad id). */
export async function readRequest(s: MigrationStore, id: string): Promise<MigrationRequest | undefined> {
  if (!REQUEST_ID.test(id)) return undefined;
  return fromHash(await s.redis.hgetall(reqKey(s, id)));
}

function isKind<K extends RequestKind>(r: MigrationRequest, kind: K): r is RequestOf<K> {
  return r.kind === kind;
}

/** The request `id` of `kind`; a UserError that says why when there is no such request. */
export async function getRequest<K extends RequestKind>(
  s: MigrationStore,
  id: string,
  kind: K,
): Promise<RequestOf<K>> {
  if (!REQUEST_ID.test(id)) throw new UserError('bad_request_id', 'that does not name a migration request');
  const r = await readRequest(s, id);
  const label = kind === 'phase3' ? 'phase-3 request' : 'cleanup request';
  if (!r) throw new UserError('unknown_request', `${label} ${id} does not exist (any more)`);
  if (!isKind(r, kind)) throw new UserError('unknown_request', `${id} is not a ${label}`);
  return r;
}

// ---- script results, read without casts ---------------------------------------------------------

function strings(x: unknown): string[] {
  return Array.isArray(x) ? x.map((v) => (v === null || v === undefined ? '' : String(v))) : [];
}

function pick<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw new Error(`${what}: unexpected answer ${String(value)}`);
  return found;
}

function pairs(fields: Record<string, string | number>): string[] {
  return Object.entries(fields).flatMap(([k, v]) => [k, String(v)]);
}

/** The window record key a script reads for `r` (the record itself for the cleanup). */
function windowKeyOf(s: MigrationStore, r: { kind: RequestKind; id: string; windowId?: string }): string {
  return r.kind === 'phase3' && r.windowId ? windowRecordKey(s, r.windowId) : reqKey(s, r.id);
}

// ---- pointers -----------------------------------------------------------------------------------

/** The id of the open request of `kind`, if any; a pointer to a missing or finished record is cleared. */
export async function currentRequest(
  s: MigrationStore,
  kind: RequestKind = 'phase3',
): Promise<string | undefined> {
  const id = await s.redis.get(currentKey(s, kind));
  if (!id) return undefined;
  const kept = await runScript(s.redis, 'migCurrent', [currentKey(s, kind), reqKey(s, id)], [id]);
  return typeof kept === 'string' ? kept : undefined;
}

/** The open request of `kind`, if any. */
export async function openRequest<K extends RequestKind>(
  s: MigrationStore,
  kind: K,
): Promise<RequestOf<K> | undefined> {
  const id = await currentRequest(s, kind);
  const r = id ? await readRequest(s, id) : undefined;
  return r && isKind(r, kind) ? r : undefined;
}

/** The latest request of `kind`, open or not, while it is kept (a pointer outlives nothing). */
export async function latestRequest<K extends RequestKind>(
  s: MigrationStore,
  kind: K,
): Promise<RequestOf<K> | undefined> {
  const id = await s.redis.get(latestKey(s, kind));
  const r = id ? await readRequest(s, id) : undefined;
  if (id && !r) await s.redis.del(latestKey(s, kind));
  return r && isKind(r, kind) ? r : undefined;
}

/** The keys of a cleanup request's approved listing. */
export async function approvedKeys(s: MigrationStore, id: string): Promise<string[]> {
  const parsed = z.array(z.string()).safeParse(json((await s.redis.hget(reqKey(s, id), 'keys')) ?? '[]'));
  return parsed.success ? parsed.data : [];
}

// ---- transitions --------------------------------------------------------------------------------

export interface NewRequestFields {
  kind: RequestKind;
  id: string;
  requester: string;
  requestId: string;
  plan: Plan | CleanupPlan;
  planHash: string;
  needed: number;
  expiresAt: number;
  createdAt: number;
  /** Phase 3. */
  windowId?: string;
  windowCreated?: boolean;
  instanceName?: string;
  streak?: number;
  /** The cleanup's approved listing. */
  keys?: string[];
}

/**
 * Stores a new pending request unless another of its kind is open: 'created', 'exists' (this id is
 * stored already: a retried job), or 'open'.
 */
export async function createRequest(
  s: MigrationStore,
  r: NewRequestFields,
): Promise<'created' | 'exists' | 'open'> {
  const end = 'windowEnd' in r.plan ? r.plan.windowEnd : r.expiresAt;
  const keepUntil = Math.max(r.createdAt, end) + KEEP_MS;
  const fields: Record<string, string | number> = {
    id: r.id,
    kind: r.kind,
    requester: r.requester,
    requestId: r.requestId,
    state: 'pending',
    plan: JSON.stringify(r.plan),
    planHash: r.planHash,
    approvals: '[]',
    needed: r.needed,
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    keepUntil,
    retries: 0,
    fence: 0,
    failures: 0,
    failPosted: 0,
    version: 1,
    ...(r.kind === 'cleanup'
      ? { deleted: 0, keys: JSON.stringify(r.keys ?? []) }
      : {
          step: 0,
          windowId: r.windowId ?? '',
          windowCreated: r.windowCreated ? '1' : '0',
          instanceName: r.instanceName ?? '',
          ...(r.streak !== undefined ? { streak: r.streak } : {}),
        }),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    const seen = (await s.redis.get(currentKey(s, r.kind))) ?? '';
    const res = await runScript(
      s.redis,
      'migCreate',
      [reqKey(s, r.id), currentKey(s, r.kind), latestKey(s, r.kind), reqKey(s, seen || r.id)],
      [r.id, seen, keepUntil, ...pairs(fields)],
    );
    const out = pick(String(res), ['created', 'exists', 'open', 'moved'] as const, 'migCreate');
    if (out !== 'moved') return out;
  }
  return 'open';
}

/** Where the approval card is. */
export async function setCard(s: MigrationStore, id: string, channel: string, ts: string): Promise<void> {
  await s.redis.hset(reqKey(s, id), 'cardChannel', channel, 'cardTs', ts);
}

/** Records that the card shows `version` (never goes back). */
export async function cardShown(s: MigrationStore, id: string, version: number): Promise<void> {
  await runScript(s.redis, 'migRaise', [reqKey(s, id)], ['cardVersion', version]);
}

/** Records that failure number `n` was posted in the approvals channel. */
export async function failurePosted(s: MigrationStore, id: string, n: number): Promise<void> {
  await runScript(s.redis, 'migRaise', [reqKey(s, id)], ['failPosted', n]);
}

/** What the approvals that count are checked against: the live config's view. */
export interface ApprovalRule {
  /** The hash of the plan the config describes now. */
  hash: string;
  approvers: '*' | string[];
  quorum: number;
  /** How much of its window a phase-3 run needs (ms). */
  budgetMs: number;
}

export type ApproveResult =
  | { result: 'counted' | 'already'; count: number }
  | { result: 'approved'; count: number; runJob: string }
  | { result: 'own' | 'not-approver' | 'expired' | 'plan' | 'window-cancelled' }
  | { result: 'state'; state: string };

/** Counts an approval by `user`; at the quorum the request is approved (and names its run job). */
export async function approve(
  s: MigrationStore,
  r: Pick<MigrationRequest, 'id' | 'kind'> & { windowId?: string },
  user: string,
  now: number,
  rule: ApprovalRule,
): Promise<ApproveResult> {
  const [result, detail, runJob] = strings(
    await runScript(
      s.redis,
      'migApprove',
      [reqKey(s, r.id), windowKeyOf(s, r)],
      [
        user,
        rule.hash,
        now,
        rule.quorum,
        rule.approvers === '*' ? '*' : JSON.stringify(rule.approvers),
        rule.budgetMs,
      ],
    ),
  );
  const res = pick(
    result,
    [
      'counted',
      'approved',
      'already',
      'own',
      'not-approver',
      'expired',
      'plan',
      'window-cancelled',
      'state',
    ] as const,
    'migApprove',
  );
  if (res === 'state') return { result: res, state: detail ?? '' };
  if (res === 'approved') return { result: res, count: num(detail), runJob: runJob ?? '' };
  if (res === 'counted' || res === 'already') return { result: res, count: num(detail) };
  return { result: res };
}

/**
 * Moves a request that no operation owns from one of `from` to `to` (with extra fields); a final
 * state frees the open-request pointer. Returns the state found.
 */
export async function transition(
  s: MigrationStore,
  id: string,
  from: RequestState[],
  to: RequestState,
  fields: Record<string, string | number> = {},
): Promise<{ ok: boolean; state: string }> {
  if (from.some((f) => f === 'running' || f === 'rolling-back'))
    throw new Error('a running operation ends through endOperation');
  const [ok, state] = strings(
    await runScript(
      s.redis,
      'migTransition',
      [reqKey(s, id), currentKey(s, kindOf(id))],
      [from.join(','), to, ...pairs(fields)],
    ),
  );
  return { ok: ok === '1', state: state ?? 'gone' };
}

/** Expires a pending or approved request once its time is up; otherwise says when it will be. */
export async function expireIfDue(
  s: MigrationStore,
  r: Pick<MigrationRequest, 'id' | 'kind'> & { windowId?: string },
  now: number,
  budgetMs: number,
  reason: string,
): Promise<
  { result: 'expired'; state: string } | { result: 'later'; at: number } | { result: 'state'; state: string }
> {
  const [result, detail] = strings(
    await runScript(
      s.redis,
      'migExpire',
      [reqKey(s, r.id), currentKey(s, r.kind), windowKeyOf(s, r)],
      [now, budgetMs, reason],
    ),
  );
  const res = pick(result, ['expired', 'later', 'state'] as const, 'migExpire');
  if (res === 'later') return { result: res, at: num(detail) };
  return { result: res, state: detail ?? '' };
}

/** Retry: failed -> approved with a new run job, while the window is open. */
export async function retry(
  s: MigrationStore,
  r: Phase3Request,
  now: number,
): Promise<{ result: 'ok'; runJob: string } | { result: 'state' | 'window'; detail: string }> {
  const [result, detail] = strings(
    await runScript(s.redis, 'migRetry', [reqKey(s, r.id), windowRecordKey(s, r.windowId)], [now]),
  );
  const res = pick(result, ['ok', 'state', 'window'] as const, 'migRetry');
  return res === 'ok' ? { result: res, runJob: detail ?? '' } : { result: res, detail: detail ?? '' };
}

/** Roll back a failed request: failed -> rolling-back, owned by a new rollback job holding the instance. */
export async function startRollback(
  s: MigrationStore,
  r: Phase3Request,
  now: number,
): Promise<{ result: 'ok'; job: string } | { result: 'state' | 'busy'; detail: string }> {
  const [result, detail] = strings(
    await runScript(s.redis, 'migRollback', [reqKey(s, r.id), slotKey(s, r.plan.instanceId)], [now]),
  );
  const res = pick(result, ['ok', 'state', 'busy'] as const, 'migRollback');
  return res === 'ok' ? { result: res, job: detail ?? '' } : { result: res, detail: detail ?? '' };
}

/**
 * Takes the instance for a rollback no request owns: refused while a phase-3 request is approved,
 * running or rolling back (a failed one is rolled back as its own operation: 'request' says so), or
 * while another operation holds the instance.
 */
export async function takeInstance(
  s: MigrationStore,
  instanceId: string,
  job: string,
  now: number,
): Promise<
  { result: 'ok' } | { result: 'request'; id: string; state: string } | { result: 'busy'; holder: string }
> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const seen = (await s.redis.get(currentKey(s, 'phase3'))) ?? '';
    const [result, detail] = strings(
      await runScript(
        s.redis,
        'migTakeInstance',
        [slotKey(s, instanceId), currentKey(s, 'phase3'), seen ? reqKey(s, seen) : slotKey(s, instanceId)],
        [job, seen, now],
      ),
    );
    const res = pick(result, ['ok', 'moved', 'request', 'busy'] as const, 'migTakeInstance');
    if (res === 'ok') return { result: res };
    if (res === 'request') return { result: res, id: seen, state: detail ?? '' };
    if (res === 'busy') return { result: res, holder: detail ?? '' };
  }
  return { result: 'busy', holder: 'another command' };
}

/** The job holding the instance, if any. */
export async function instanceHolder(
  s: MigrationStore,
  instanceId: string,
): Promise<{ job: string; since: number } | undefined> {
  const h = await s.redis.hgetall(slotKey(s, instanceId));
  return h.job ? { job: h.job, since: num(h.since) } : undefined;
}

export type Claim =
  | { result: 'fresh' | 'resume'; fence: number; state: string }
  | { result: 'busy'; holder: string; state: string }
  | { result: 'skip'; state: string };

/** A job takes its request (see migClaim): every take advances the fence. */
export async function claim(
  s: MigrationStore,
  r: MigrationRequest,
  job: string,
  op: 'run' | 'rollback',
  now: number,
): Promise<Claim> {
  // A phase-3 operation holds its instance; the cleanup has no instance (KEYS[2] is then unused).
  const slot = r.kind === 'phase3' ? slotKey(s, r.plan.instanceId) : undefined;
  const [result, detail, state] = strings(
    await runScript(
      s.redis,
      'migClaim',
      [reqKey(s, r.id), slot ?? reqKey(s, r.id)],
      [job, op, now, slot ? '1' : '0'],
    ),
  );
  const res = pick(result, ['fresh', 'resume', 'busy', 'skip'] as const, 'migClaim');
  if (res === 'busy') return { result: res, holder: detail ?? '', state: state ?? '' };
  if (res === 'skip') return { result: res, state: state ?? '' };
  return { result: res, fence: num(detail), state: state ?? '' };
}

/** A rollback job that no request owns takes its instance slot; its fence, or undefined. */
export async function claimInstance(
  s: MigrationStore,
  instanceId: string,
  job: string,
): Promise<number | undefined> {
  const fence = await runScript(s.redis, 'migClaimInstance', [slotKey(s, instanceId)], [job]);
  return typeof fence === 'string' ? num(fence) : undefined;
}

/** Frees an instance slot held by `job` (with its fence; without one: the watchdog). */
export async function freeInstance(
  s: MigrationStore,
  instanceId: string,
  job: string,
  fence?: number,
): Promise<boolean> {
  return (await runScript(s.redis, 'migFreeInstance', [slotKey(s, instanceId)], [job, fence ?? ''])) === 1;
}

/** Who is acting, with which fence, under which BullMQ lock. */
export interface Owner {
  job: string;
  fence: number;
  /** The worker's lock token on the job; unset where there is no BullMQ lock to check. */
  token?: string;
}

export type GuardResult =
  | { result: 'ok' }
  | { result: 'fenced' | 'stop' | 'window'; detail: string }
  | { result: 'plan' }
  | { result: 'quorum'; count: number };

/** The check right before a mutating AWS call (see migGuard). */
export async function guard(
  s: MigrationStore,
  target: { request: MigrationRequest; state: 'running' | 'rolling-back' } | { instanceId: string },
  owner: Owner,
  check: { mode: 'own' } | ({ mode: 'full'; now: number; change: boolean } & ApprovalRule),
): Promise<GuardResult> {
  const keys =
    'request' in target
      ? [reqKey(s, target.request.id), windowKeyOf(s, target.request), jobLockKey(s, owner.job)]
      : [slotKey(s, target.instanceId), slotKey(s, target.instanceId), jobLockKey(s, owner.job)];
  const full = check.mode === 'full' ? check : undefined;
  const [result, detail] = strings(
    await runScript(s.redis, 'migGuard', keys, [
      owner.fence,
      'request' in target ? target.state : '',
      check.mode,
      full?.hash ?? '',
      full ? (full.approvers === '*' ? '*' : JSON.stringify(full.approvers)) : '[]',
      full?.quorum ?? 0,
      full?.now ?? 0,
      full?.budgetMs ?? 0,
      owner.token ?? '',
      owner.job,
      full?.change ? '1' : '0',
    ]),
  );
  const res = pick(result, ['ok', 'fenced', 'stop', 'plan', 'quorum', 'window'] as const, 'migGuard');
  if (res === 'ok' || res === 'plan') return { result: res };
  if (res === 'quorum') return { result: res, count: num(detail) };
  return { result: res, detail: detail ?? '' };
}

/** A runner's progress, written only while it owns the request; false when it no longer does. */
export async function saveProgress(
  s: MigrationStore,
  id: string,
  owner: Owner,
  fields: Record<string, string | number>,
): Promise<boolean> {
  return (
    (await runScript(s.redis, 'migProgress', [reqKey(s, id)], [owner.fence, owner.job, ...pairs(fields)])) ===
    1
  );
}

/** Which operation ends how: the request, its job, the runner's fence (none: the watchdog), the new state and fields. */
export type OperationEnd = [
  r: MigrationRequest,
  job: string,
  fence: number | undefined,
  to: RequestState,
  fields?: Record<string, string | number>,
];

/**
 * Ends the operation that owns a running or rolling-back request: by its runner (`fence`), or by the
 * watchdog (no fence: the runner, if still alive, is fenced out). Frees the instance the job holds.
 */
export async function endOperation(
  s: MigrationStore,
  ...[r, job, fence, to, fields = {}]: OperationEnd
): Promise<boolean> {
  const slot = r.kind === 'phase3' ? slotKey(s, r.plan.instanceId) : reqKey(s, r.id);
  return (
    (await runScript(
      s.redis,
      'migEnd',
      [reqKey(s, r.id), currentKey(s, r.kind), slot],
      [fence ?? '', job, to, ...pairs(fields)],
    )) === 1
  );
}

/** The stop flag and ownership of a running request, as a runner polling in a wait sees them. */
export async function runnerView(
  s: MigrationStore,
  id: string,
): Promise<{ state: string; fence: number; opJob?: string; stop?: string }> {
  const [state, fence, opJob, stop] = await s.redis.hmget(reqKey(s, id), 'state', 'fence', 'opJob', 'stop');
  return {
    state: state ?? 'gone',
    fence: num(fence ?? undefined),
    opJob: opt(opJob ?? undefined),
    stop: opt(stop ?? undefined),
  };
}

/** Its window was cancelled: a pending or approved request is cancelled, a running one must stop. */
export async function windowCancelled(
  s: MigrationStore,
  r: Phase3Request,
  reason: string,
  by: string,
): Promise<
  { result: 'cancelled'; state: string; runJob: string } | { result: 'stopping' | 'none'; state: string }
> {
  const [result, state, runJob] = strings(
    await runScript(
      s.redis,
      'migWindowCancelled',
      [reqKey(s, r.id), currentKey(s, 'phase3')],
      [r.windowId, reason, by],
    ),
  );
  const res = pick(result, ['cancelled', 'stopping', 'none'] as const, 'migWindowCancelled');
  return res === 'cancelled'
    ? { result: res, state: state ?? '', runJob: runJob ?? '' }
    : { result: res, state: state ?? '' };
}

/** A new run job for an approved request whose run job is gone; undefined when it moved on. */
export async function redriveRun(
  s: MigrationStore,
  id: string,
  runJob: string,
  now: number,
): Promise<string | undefined> {
  const out = await runScript(s.redis, 'migRedrive', [reqKey(s, id)], [runJob, now]);
  return typeof out === 'string' ? out : undefined;
}

// ---- phase 4: cutovers, with their follow-ups in an outbox ---------------------------------------

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

const cutoverSchema = z.object({ cron: z.string(), at: z.number(), by: z.string(), forced: z.boolean() });
const watchSchema = z.object({ n: z.number(), day: z.string(), ok: z.boolean(), detail: z.string() });

export async function cutovers(s: MigrationStore): Promise<Cutover[]> {
  const [h, w] = await Promise.all([s.redis.hgetall(cutoverKey(s)), s.redis.hgetall(watchKey(s))]);
  const out: Cutover[] = [];
  for (const v of Object.values(h)) {
    const c = cutoverSchema.safeParse(json(v));
    if (!c.success) continue;
    const watch = Object.entries(w)
      .filter(([k]) => k.startsWith(`${c.data.cron}|${c.data.at}|`))
      .map(([, raw]) => watchSchema.safeParse(json(raw)))
      .flatMap((p) => (p.success ? [p.data] : []))
      .sort((a, b) => a.n - b.n);
    out.push(watch.length ? { ...c.data, watch } : c.data);
  }
  return out;
}

/** A follow-up of a recorded state: queued by whoever recorded it, and by the watchdog if they died. */
export type OutboxEntry =
  | {
      id: string;
      at: number;
      kind: 'cutover';
      cron: string;
      cutoverAt: number;
      requestId: string;
      requester: string;
    }
  | { id: string; at: number; kind: 'status'; requestId: string; requester: string };

const outboxSchema = z.discriminatedUnion('kind', [
  z.object({
    id: z.string(),
    at: z.number(),
    kind: z.literal('cutover'),
    cron: z.string(),
    cutoverAt: z.number(),
    requestId: z.string(),
    requester: z.string(),
  }),
  z.object({
    id: z.string(),
    at: z.number(),
    kind: z.literal('status'),
    requestId: z.string(),
    requester: z.string(),
  }),
]);

/** Records a cutover and its follow-up in one step; false when the cron is already cut over. */
export async function recordCutover(s: MigrationStore, c: Cutover, follow: OutboxEntry): Promise<boolean> {
  const out = await runScript(
    s.redis,
    'migCutover',
    [cutoverKey(s), outboxKey(s)],
    [
      'add',
      c.cron,
      JSON.stringify({ cron: c.cron, at: c.at, by: c.by, forced: c.forced }),
      follow.id,
      JSON.stringify(follow),
    ],
  );
  return out === 1;
}

/** Removes a cutover (rollback 4) and records its follow-up in one step; false when not cut over. */
export async function removeCutover(s: MigrationStore, cron: string, follow: OutboxEntry): Promise<boolean> {
  const out = await runScript(
    s.redis,
    'migCutover',
    [cutoverKey(s), outboxKey(s)],
    ['remove', cron, '', follow.id, JSON.stringify(follow)],
  );
  return out === 1;
}

/** The follow-ups not yet done. */
export async function outbox(s: MigrationStore): Promise<OutboxEntry[]> {
  const h = await s.redis.hgetall(outboxKey(s));
  return Object.values(h).flatMap((v) => {
    const p = outboxSchema.safeParse(json(v));
    return p.success ? [p.data] : [];
  });
}

export async function outboxDone(s: MigrationStore, id: string): Promise<void> {
  await s.redis.hdel(outboxKey(s), id);
}

/** Records what a watch saw of an upload after the cutover (kept only while that cutover stands). */
export async function recordWatch(
  s: MigrationStore,
  cron: string,
  at: number,
  result: WatchResult,
): Promise<boolean> {
  const out = await runScript(
    s.redis,
    'migWatchSeen',
    [cutoverKey(s), watchKey(s)],
    [cron, String(at), result.n, JSON.stringify(result)],
  );
  return out === 1;
}

export async function statusCardRef(s: MigrationStore): Promise<{ channel: string; ts: string } | undefined> {
  const h = await s.redis.hgetall(statusKey(s));
  return h.channel && h.ts ? { channel: h.channel, ts: h.ts } : undefined;
}

export async function setStatusCard(s: MigrationStore, channel: string, ts: string): Promise<void> {
  await s.redis.hset(statusKey(s), 'channel', channel, 'ts', ts);
}
