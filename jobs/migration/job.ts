// /migration's long work: the phase-3 request (checks, window, approval card), the run (guarded,
// resumable steps), expiry, the phase-3 rollback, the checks and the status card; and phase 5's
// cleanup request (gate, listing, approval card) and its run (delete the listed test dumps).
import { UnrecoverableError } from 'bullmq';
import type { Config } from '../../infra/config.js';
import { nextFire } from '../../infra/cron.js';
import { UserError, userMessage } from '../../infra/errors.js';
import type { Blocks } from '../../infra/notifier.js';
import { formatLocal } from '../../infra/times.js';
import type { BaseJobData, JobContext, JobKind, WorkerDeps } from '../common.js';
import { formatBytes } from '../dump-alert-card.js';
import { dumpJob, renderKey } from '../dump-check.js';
import { cancelWithNotice, MAINTENANCE_QUEUE, noticeJobId } from '../maintenance.js';
import { createWindow, getWindow, windowsEndingAfter } from '../maintenance-store.js';
import {
  associateProfile,
  associations,
  checkPhase1,
  checkPhase2,
  deleteObjects,
  deletionBatches,
  describeInstance,
  disassociate,
  isOurProfile,
  listObjects,
  startInstance,
  stopInstance,
  waitFor,
} from './aws.js';
import { approvalCard, cleanupCard, statusCard } from './cards.js';
import { readCleanupGate, testPrefixProblem } from './gate.js';
import {
  cleanupPlanOf,
  keysDigest,
  kindOf,
  migrationConfig,
  planHash,
  planOf,
  requestIdFor,
} from './plan.js';
import {
  approvedKeys,
  type CleanupRequest,
  claimRun,
  createRequest,
  currentRequest,
  cutovers,
  getRequest,
  isFinal,
  latestRequest,
  type MigrationRequest,
  type MigrationStore,
  type Phase3Request,
  type RequestState,
  recordWatch,
  saveFields,
  saveStep,
  setCard,
  setStatusCard,
  statusCardRef as storedStatusCard,
  transition,
} from './store.js';

export const MIGRATION_QUEUE = 'migration';

/** The seed's cutover order: lowest risk first, the full dump last. */
export const CRON_ORDER = [
  'ggh_contractstatus',
  'ggh_contractstatusALL',
  'TenantsALL',
  'MovingsALL',
  'ggh_datatransit',
];

export type MigrationData = BaseJobData &
  (
    | { op: 'request'; start: number; end: number; windowId?: string; windowCreated?: boolean }
    | { op: 'run'; id: string }
    | { op: 'expire'; id: string }
    | { op: 'rollback3'; id?: string }
    | { op: 'status' }
    | { op: 'check'; phase: 1 | 2 }
    | { op: 'watch'; cron: string; cutoverAt: number; n: number; day: string }
    | { op: 'cleanup' }
  );

export interface MigrationResult {
  op: string;
  outcome: string;
}

function store(deps: WorkerDeps): MigrationStore {
  return { redis: deps.redis, prefix: deps.prefix };
}

/** Approvals that still count: bound to the plan as the config describes it now. */
export function countingApprovals(r: MigrationRequest, currentHash: string): string[] {
  return r.approvals.filter((a) => a.hash === currentHash && r.planHash === currentHash).map((a) => a.user);
}

/**
 * The hash the approvals of `r` must carry under the config now: phase 3's plan for its window; the
 * cleanup's account, bucket and prefix with the listing it was approved for.
 */
export function currentPlanHash(config: Config, r: MigrationRequest): string {
  return r.kind === 'phase3'
    ? planHash(planOf(config, r.plan.windowStart, r.plan.windowEnd))
    : planHash(cleanupPlanOf(config, r.plan));
}

/**
 * How the run of an approved request is queued: phase 3 at its window start with one attempt (a human
 * decides on a retry); the cleanup at once, with the usual retries (deleting is idempotent).
 */
export function runJobOptions(r: MigrationRequest): { runAt?: number; attempts?: number } {
  return r.kind === 'phase3' ? { runAt: r.plan.windowStart, attempts: 1 } : {};
}

/** The approval card of a request as it stands, with the approvals that count under the config now. */
export function approvalCardOf(
  config: Config,
  now: number,
  r: MigrationRequest,
): { text: string; blocks: Blocks } {
  const current = countingApprovals(r, currentPlanHash(config, r));
  if (r.kind === 'cleanup') return cleanupCard(r, { zone: config.timezone, now, current });
  return approvalCard(r, {
    zone: config.timezone,
    now,
    streak: r.streak,
    streakNeeded: config.migration?.streakDays ?? 7,
    current,
  });
}

/** The deterministic id of a request's expiry job. */
export const expireJobId = (id: string) => `mig-expire-${id}`;

/**
 * Moves a request to `to`; when that state is final, also removes the request's expiry job, which
 * has nothing left to do (otherwise it would stay delayed in the queue until its time).
 */
export async function endRequest(
  deps: { queues: WorkerDeps['queues'] },
  s: MigrationStore,
  id: string,
  from: RequestState[],
  to: RequestState,
  fields: Record<string, string> = {},
): Promise<{ ok: boolean; state: string }> {
  const t = await transition(s, id, from, to, fields);
  if (t.ok && isFinal(kindOf(id), to)) {
    await deps.queues
      .queue(MIGRATION_QUEUE)
      .remove(expireJobId(id))
      .catch(() => 0); // a lingering expiry is a no-op once the request is over
  }
  return t;
}

/** The channel approval cards go to; a UserError saying what to configure when there is none. */
function approvalsChannel(config: Config): string {
  const channel = config.channels.approvals;
  if (!channel)
    throw new UserError(
      'not_configured',
      "no approvals channel is configured: add channels.approvals to the bot's config",
    );
  return channel;
}

/** Re-renders the approval card from the stored state. */
export async function refreshApprovalCard(deps: WorkerDeps, id: string): Promise<void> {
  const r = await getRequest(store(deps), id);
  if (!r?.cardChannel || !r.cardTs) return;
  const card = approvalCardOf(deps.config, deps.clock.now(), r);
  await deps.notifier.update({ channel: r.cardChannel, ts: r.cardTs }, card.text, card.blocks);
}

/** Cancels the window a request created (and posts its cancellation), when the request ends unrun. */
async function cancelCreatedWindow(ctx: JobContext<MigrationData>, r: Phase3Request): Promise<void> {
  if (r.windowCreated) await cancelWithNotice(ctx.deps, r.windowId, r);
}

/** Posts into the window's thread (the announcement), or the approvals channel when it has none. */
async function postInWindow(
  ctx: JobContext<MigrationData>,
  r: Phase3Request,
  key: 'start' | 'done',
  text: string,
): Promise<void> {
  const w = await getWindow({ redis: ctx.deps.redis, prefix: ctx.deps.prefix }, r.windowId);
  const [channel, threadTs] = w?.channel && w.ts ? [w.channel, w.ts] : [r.cardChannel, r.cardTs];
  if (!channel) return;
  // A resumed or retried step may follow an attempt that posted it already: look in the thread first.
  await ctx.deps.notifier.postOnce({ channel, text, threadTs }, { key: `${r.id}/${key}`, lookFirst: true });
}

async function request(
  ctx: JobContext<MigrationData & { op: 'request' }>,
  d: MigrationData & { op: 'request' },
): Promise<MigrationResult> {
  const { deps } = ctx;
  const m = migrationConfig(deps.config);
  const s = store(deps);
  const zone = deps.config.timezone;
  const approvals = approvalsChannel(deps.config);
  const id = requestIdFor(d.requestId);
  const open = await currentRequest(s);
  if (open && open !== id) {
    const other = await getRequest(s, open);
    throw new UserError(
      'request_open',
      `phase-3 request \`${open}\` is ${other?.state ?? 'open'}: only one may be pending or running`,
    );
  }
  if (d.end - d.start < m.runMinutes * 60_000) {
    throw new UserError(
      'window_short',
      `the window is shorter than the ${m.runMinutes} minutes the run needs (migration.runMinutes)`,
    );
  }
  const phase1 = await checkPhase1(deps, d.requester);
  const bad = phase1.filter((i) => !i.ok);
  if (bad.length)
    throw new UserError(
      'phase1',
      `phase 1 is not complete: ${bad.map((i) => `${i.name} ${i.detail}`).join('; ')}`,
    );
  const phase2 = await checkPhase2(deps, d.requester, deps.clock.now());
  if (phase2.streak < m.streakDays) {
    const broke = phase2.days.find((x, i) => !x.good && i > 0) ?? phase2.days.find((x) => !x.good);
    throw new UserError(
      'streak',
      `parallel testing has ${phase2.streak} good days in a row, phase 3 needs ${m.streakDays}${broke ? `: ${broke.date}: ${broke.detail}` : ''}`,
    );
  }
  const instance = await describeInstance(deps, d.requester);
  if ((await associations(deps, d.requester)).some((a) => isOurProfile(a.profileArn, m.instanceProfile))) {
    throw new UserError(
      'already_done',
      `${m.instanceId} already runs with ${m.instanceProfile}: phase 3 is done (\`/migration rollback 3\` undoes it)`,
    );
  }
  // The window: one that covers the period, or a new one (remembered, so a retry makes no second).
  const ws = { redis: deps.redis, prefix: deps.prefix };
  let windowId = d.windowId;
  let windowCreated = d.windowCreated ?? false;
  if (!windowId) {
    const covering = (await windowsEndingAfter(ws, d.start)).find(
      (w) => (w.state === 'scheduled' || w.state === 'in-progress') && w.start <= d.start && w.end >= d.end,
    );
    if (covering) windowId = covering.id;
    else {
      const w = await createWindow(ws, {
        title: `EC2 cron host: IAM instance profile (${m.instanceId})`,
        start: d.start,
        end: d.end,
        createdBy: d.requester,
        createdAt: deps.clock.now(),
        ...deps.config.maintenance.defaults,
        // The seed's communication template for this window.
        impact:
          '5-10 minutes interruption of the data export cron jobs (the instance restarts); dashboards keep their cached data',
        purpose: 'Upgrading the EC2 cron jobs from static credentials to an IAM role and AWS Secrets Manager',
        rollback:
          'Detach the instance profile (/migration rollback 3): the host falls back to its old credentials in under 5 minutes',
      });
      windowId = w.id;
      windowCreated = true;
      const jobId = noticeJobId(w.id, { notice: 'announce' });
      await deps.queues.enqueue(
        MAINTENANCE_QUEUE,
        jobId,
        {
          requestId: d.requestId,
          requester: d.requester,
          windowId: w.id,
          notice: 'announce',
          due: deps.clock.now(),
        },
        { jobId },
      );
    }
    await ctx.save({ windowId, windowCreated });
  }
  const window = await getWindow(ws, windowId);
  if (!window) throw new Error(`window ${windowId} vanished`);
  const plan = planOf(deps.config, window.start, window.end);
  const r: Phase3Request = {
    kind: 'phase3',
    id,
    requester: d.requester,
    requestId: d.requestId,
    state: 'pending',
    plan,
    planHash: planHash(plan),
    instanceName: instance.name,
    windowId,
    windowCreated,
    approvals: [],
    needed: m.approvals,
    expiresAt: window.end - m.runMinutes * 60_000,
    createdAt: deps.clock.now(),
    step: 0,
    retries: 0,
    streak: phase2.streak,
    version: 1,
  };
  if (!(await createRequest(s, r))) {
    throw new UserError(
      'request_open',
      'another phase-3 request was made meanwhile: only one may be pending or running',
    );
  }
  await postCardAndExpiry(ctx, approvals, id);
  await ctx.report(
    `:memo: Phase-3 request \`${id}\` is waiting for ${m.approvals} approvals in <#${approvals}>. Window \`${windowId}\` ${formatLocal(window.start, zone)} – ${formatLocal(window.end, zone)}${windowCreated ? ' (scheduled, with its notices)' : ' (the existing window that covers it)'}.`,
  );
  return { op: 'request', outcome: id };
}

/**
 * Ends a run that cannot go on: the request's new state, a failed audit entry, the card edited and
 * the reason posted in its thread. Never returns: the job fails for good.
 */
async function stopRun(
  ctx: JobContext<MigrationData>,
  r: MigrationRequest,
  o: {
    to: 'failed' | 'expired';
    fields: Record<string, string>;
    audit: { action: string; target: string; detail: string };
    post: string;
    error: string;
  },
): Promise<never> {
  const { deps } = ctx;
  await endRequest(deps, store(deps), r.id, ['running'], o.to, o.fields);
  await deps.audit.record({
    requestId: r.requestId,
    user: r.requester,
    ...o.audit,
    outcome: 'failed',
    detail: o.audit.detail.slice(0, 300),
  });
  await refreshApprovalCard(deps, r.id).catch((e) =>
    ctx.log.warn({ err: String(e) }, 'could not edit the card'),
  );
  if (r.cardChannel) {
    await deps.notifier
      .post(r.cardChannel, o.post, undefined, r.cardTs)
      .catch((e) => ctx.log.warn({ err: String(e) }, 'could not post the failure'));
  }
  throw new UnrecoverableError(o.error);
}

/**
 * Queues a new request's expiry, then posts its approval card (unless a retry already did): a card
 * on screen always has its expiry queued.
 */
async function postCardAndExpiry(ctx: JobContext<MigrationData>, channel: string, id: string): Promise<void> {
  const { deps } = ctx;
  const s = store(deps);
  const r = (await getRequest(s, id)) as MigrationRequest;
  const jobId = expireJobId(id);
  await deps.queues.enqueue(
    MIGRATION_QUEUE,
    jobId,
    { requestId: r.requestId, requester: r.requester, op: 'expire', id },
    { jobId, runAt: r.expiresAt },
  );
  if (!r.cardTs) {
    const card = approvalCardOf(deps.config, deps.clock.now(), r);
    // An earlier attempt may have posted it and died before recording it: look in the channel first.
    const ref = await deps.notifier.postOnce(
      { channel, text: card.text, blocks: card.blocks },
      { key: `${id}/card`, lookFirst: true },
    );
    await setCard(s, id, ref.channel, ref.ts);
  }
}

const STEP = { notice: 0, stop: 1, associate: 2, start: 3, verify: 4, done: 5 } as const;

async function run(
  ctx: JobContext<MigrationData>,
  d: MigrationData & { op: 'run' },
  jobId: string,
): Promise<MigrationResult> {
  const { deps } = ctx;
  const m = migrationConfig(deps.config);
  const s = store(deps);
  const claim = await claimRun(s, d.id, jobId);
  if (!claim.ok) {
    ctx.log.info(
      { id: d.id, state: claim.state },
      'phase-3 run not started: the request is not approved for this run',
    );
    return { op: 'run', outcome: `skipped (${claim.state})` };
  }
  let r = (await getRequest(s, d.id)) as Phase3Request;
  const now = deps.clock.now();
  const user = r.requester;
  const fail = async (step: number, err: unknown): Promise<never> => {
    const why = userMessage(err);
    return stopRun(ctx, r, {
      to: 'failed',
      fields: { failedStep: String(step), error: why },
      audit: { action: 'migration.phase3.step', target: `${d.id} step ${step + 1}`, detail: why },
      post: `:x: Phase 3 (\`${d.id}\`) failed at step ${step + 1} (${r.plan.steps[step]}): ${why}. Retry or Roll back from the card.`,
      error: `phase 3 failed at step ${step + 1}: ${why}`,
    });
  };
  if (r.step === 0) {
    // Before the first step: the approvals, the plan and the streak, all as they are now.
    const currentHash = currentPlanHash(deps.config, r);
    const counting = countingApprovals(r, currentHash);
    if (currentHash !== r.planHash || counting.length < r.needed) {
      await endRequest(deps, s, d.id, ['running'], 'expired', {
        reason: 'the plan changed after approval: approvals no longer count, request again',
      });
      await refreshApprovalCard(deps, d.id).catch(() => undefined);
      await cancelCreatedWindow(ctx, r);
      throw new UnrecoverableError(
        'the plan changed after approval (config, instance, profile or window): ask for new approvals',
      );
    }
    if (now + m.runMinutes * 60_000 > r.plan.windowEnd) {
      await endRequest(deps, s, d.id, ['running'], 'expired', {
        reason: 'too little of the window was left',
      });
      await refreshApprovalCard(deps, d.id).catch(() => undefined);
      throw new UnrecoverableError('too little of the window is left for the run');
    }
    const phase2 = await checkPhase2(deps, user, now).catch((err) => fail(0, err));
    if (phase2.streak < m.streakDays)
      await fail(0, new UserError('streak', `the parallel-testing streak fell to ${phase2.streak} days`));
  }
  const step = async (n: number, what: () => Promise<void>) => {
    if (r.step > n) return;
    await refreshApprovalCard(deps, d.id).catch(() => undefined);
    try {
      await what();
    } catch (err) {
      await fail(n, err);
    }
    await saveStep(s, d.id, n + 1);
    await deps.audit.record({
      requestId: r.requestId,
      user,
      action: 'migration.phase3.step',
      target: `${d.id} step ${n + 1}`,
      outcome: 'succeeded',
      detail: r.plan.steps[n],
    });
    r = (await getRequest(s, d.id)) as Phase3Request;
  };
  await step(STEP.notice, () =>
    postInWindow(
      ctx,
      r,
      'start',
      `:construction: Phase 3 (\`${d.id}\`) starts: stopping \`${m.instanceId}\` to attach \`${m.instanceProfile}\`.`,
    ),
  );
  await step(STEP.stop, async () => {
    const state = (await describeInstance(deps, user)).state;
    if (state !== 'stopped' && state !== 'stopping') await stopInstance(deps, user);
    await waitFor(
      deps,
      `${m.instanceId} to stop`,
      async () => (await describeInstance(deps, user)).state === 'stopped',
    );
  });
  await step(STEP.associate, async () => {
    const found = await associations(deps, user);
    const other = found.find((a) => !isOurProfile(a.profileArn, m.instanceProfile));
    if (other)
      throw new UserError(
        'other_profile',
        `${m.instanceId} already has another instance profile (${other.profileArn}); roll back or fix it by hand`,
      );
    if (!found.length) await associateProfile(deps, user);
  });
  await step(STEP.start, async () => {
    const state = (await describeInstance(deps, user)).state;
    if (state !== 'running' && state !== 'pending') await startInstance(deps, user);
    await waitFor(
      deps,
      `${m.instanceId} to run`,
      async () => (await describeInstance(deps, user)).state === 'running',
    );
  });
  await step(STEP.verify, () =>
    waitFor(deps, `the association of ${m.instanceProfile}`, async () =>
      (await associations(deps, user)).some(
        (a) => a.state === 'associated' && isOurProfile(a.profileArn, m.instanceProfile),
      ),
    ),
  );
  await step(STEP.done, () =>
    postInWindow(
      ctx,
      r,
      'done',
      `:white_check_mark: Phase 3 (\`${d.id}\`) is done: \`${m.instanceId}\` runs with \`${m.instanceProfile}\`.`,
    ),
  );
  await endRequest(deps, s, d.id, ['running'], 'done');
  await refreshApprovalCard(deps, d.id).catch(() => undefined);
  await refreshStatus(ctx);
  return { op: 'run', outcome: 'done' };
}

async function expire(
  ctx: JobContext<MigrationData>,
  d: MigrationData & { op: 'expire' },
): Promise<MigrationResult> {
  const s = store(ctx.deps);
  // This job is the expiry itself: a plain transition (endRequest would try to remove it).
  const t = await transition(s, d.id, ['pending', 'approved'], 'expired', {
    reason:
      kindOf(d.id) === 'phase3'
        ? 'the run can no longer finish in its window'
        : 'not approved in time: run `/migration check 5` again for a new listing',
  });
  if (!t.ok) return { op: 'expire', outcome: `not expired (${t.state})` };
  const r = (await getRequest(s, d.id)) as MigrationRequest;
  await refreshApprovalCard(ctx.deps, d.id);
  if (r.kind === 'phase3') await cancelCreatedWindow(ctx, r);
  return { op: 'expire', outcome: 'expired' };
}

async function rollback3(
  ctx: JobContext<MigrationData>,
  d: MigrationData & { op: 'rollback3' },
): Promise<MigrationResult> {
  const { deps } = ctx;
  const m = migrationConfig(deps.config);
  const user = d.requester;
  for (const a of await associations(deps, user)) await disassociate(deps, user, a.id);
  await waitFor(
    deps,
    `the profile to leave ${m.instanceId}`,
    async () => (await associations(deps, user)).length === 0,
  );
  const state = (await describeInstance(deps, user)).state;
  if (state === 'stopped') await startInstance(deps, user);
  if (state !== 'running') {
    await waitFor(
      deps,
      `${m.instanceId} to run`,
      async () => (await describeInstance(deps, user)).state === 'running',
    );
  }
  if (d.id) {
    await endRequest(deps, store(deps), d.id, ['failed'], 'rolled-back');
    await refreshApprovalCard(deps, d.id).catch(() => undefined);
  }
  await ctx.report(
    `:leftwards_arrow_with_hook: Phase 3 rolled back: \`${m.instanceId}\` has no instance profile and is running.`,
  );
  return { op: 'rollback3', outcome: 'rolled back' };
}

async function status(ctx: JobContext<MigrationData>): Promise<MigrationResult> {
  const { deps } = ctx;
  const m = migrationConfig(deps.config);
  const user = ctx.deps.config.roles.admin?.[0] ?? 'chatops';
  const s = store(deps);
  const phase1 = await checkPhase1(deps, user);
  const phase2 = await checkPhase2(deps, user, deps.clock.now()).catch((err) => ({
    error: userMessage(err),
  }));
  const associated = (await associations(deps, user)).some((a) =>
    isOurProfile(a.profileArn, m.instanceProfile),
  );
  const open = await currentRequest(s);
  const request = open ? await getRequest(s, open) : undefined;
  const cleanupId = await latestRequest(s, 'cleanup');
  const cleanup = cleanupId ? await getRequest(s, cleanupId) : undefined;
  const card = statusCard({
    phase1,
    phase2,
    streakNeeded: m.streakDays,
    associated,
    request: request?.kind === 'phase3' ? request : undefined,
    cutovers: await cutovers(s),
    cronOrder: CRON_ORDER.filter((c) => (deps.config.dumps?.jobs ?? []).some((j) => j.name === c)),
    gate: await readCleanupGate(s, deps.config, deps.clock.now()),
    cleanup: cleanup?.kind === 'cleanup' ? cleanup : undefined,
    zone: deps.config.timezone,
    now: deps.clock.now(),
  });
  const existing = await storedStatusCard(s);
  if (existing) await deps.notifier.update(existing, card.text, card.blocks);
  else {
    const channel = deps.config.channels.approvals ?? ctx.deps.config.roles.admin?.[0];
    if (!channel)
      throw new UserError('not_configured', 'add channels.approvals: the status card lives there');
    const ref = await deps.notifier.post(channel, card.text, card.blocks);
    await setStatusCard(s, ref.channel, ref.ts);
  }
  return { op: 'status', outcome: 'updated' };
}

async function check(
  ctx: JobContext<MigrationData>,
  d: MigrationData & { op: 'check' },
): Promise<MigrationResult> {
  const { deps } = ctx;
  if (d.phase === 1) {
    const items = await checkPhase1(deps, d.requester);
    const ok = items.every((i) => i.ok);
    await ctx.report(
      `${ok ? ':white_check_mark: Phase 1 check passed' : ':x: Phase 1 check failed'}\n${items.map((i) => `${i.ok ? '•' : ':x:'} ${i.name}: ${i.detail}`).join('\n')}`,
    );
    return { op: 'check 1', outcome: ok ? 'passed' : 'failed' };
  }
  const m = migrationConfig(deps.config);
  const r = await checkPhase2(deps, d.requester, deps.clock.now());
  const ok = r.streak >= m.streakDays;
  await ctx.report(
    `${ok ? ':white_check_mark:' : ':hourglass:'} Phase 2: streak ${r.streak} of ${m.streakDays} good days\n${r.days.map((x) => `${x.good ? '•' : ':x:'} ${x.date}: ${x.detail}`).join('\n')}`,
  );
  return { op: 'check 2', outcome: `streak ${r.streak}` };
}

/**
 * The two watches of a cutover: at the job's next two scheduled runs plus its grace time, each
 * looks for that day's upload under the job's prefix (dumps/, where the new script now writes).
 */
export function watchTimes(
  config: WorkerDeps['config'],
  cron: string,
  from: number,
): { n: number; at: number; day: string }[] {
  const job = dumpJob(config, cron);
  if (!job) return [];
  const zone = config.timezone;
  const first = nextFire(job.cron, zone, from);
  const second = nextFire(job.cron, zone, first);
  const grace = job.graceMinutes * 60_000;
  return [first, second].map((fire, i) => ({
    n: i + 1,
    at: fire + grace,
    day: formatLocal(fire, zone).slice(0, 10),
  }));
}

async function watch(
  ctx: JobContext<MigrationData>,
  d: MigrationData & { op: 'watch' },
): Promise<MigrationResult> {
  const { deps } = ctx;
  const job = dumpJob(deps.config, d.cron);
  const dumps = deps.config.dumps;
  if (!job || !dumps) return { op: 'watch', outcome: `${d.cron} is no longer configured` };
  const s3Sdk = await import('@aws-sdk/client-s3');
  const s3 = deps.aws.client(s3Sdk.S3Client, dumps.account, d.requester);
  const key = job.prefix + renderKey(job.keyPattern, job.name, d.day);
  const res = await s3.send(
    new s3Sdk.ListObjectsV2Command({ Bucket: dumps.bucket, Prefix: key, MaxKeys: 5 }),
  );
  const found = (res.Contents ?? []).find((o) => o.Key === key || o.Key?.startsWith(`${key}.`));
  const result = {
    n: d.n,
    day: d.day,
    ok: Boolean(found),
    detail: found ? `${found.Key} (${found.Size ?? 0} bytes)` : `no ${key} yet`,
  };
  const kept = await recordWatch(store(deps), d.cron, d.cutoverAt, result);
  if (kept)
    await status(ctx).catch((err) => ctx.log.warn({ err: String(err) }, 'could not refresh the status card'));
  if (!result.ok && kept && deps.config.channels.approvals) {
    await deps.notifier.post(
      deps.config.channels.approvals,
      `:warning: After the cutover of \`${d.cron}\`, upload ${d.n} of 2 (${d.day}) is missing: ${result.detail}. \`/migration rollback 4 ${d.cron}\` records going back.`,
    );
  }
  return { op: 'watch', outcome: `${d.cron} upload ${d.n}: ${result.ok ? 'seen' : 'missing'}` };
}

/** Re-renders the status card, when there is one, after a change it shows. */
async function refreshStatus(ctx: JobContext<MigrationData>): Promise<void> {
  if (await storedStatusCard(store(ctx.deps)))
    await status(ctx).catch((err) => ctx.log.warn({ err: String(err) }, 'could not refresh the status card'));
}

/**
 * Phase 5's AWS step, asked for by `/migration check 5` with the gate open: re-checks the gate, lists
 * the objects under the test prefix, and posts one approval card for deleting exactly those.
 */
async function cleanupRequest(
  ctx: JobContext<MigrationData>,
  d: MigrationData & { op: 'cleanup' },
): Promise<MigrationResult> {
  const { deps } = ctx;
  const m = migrationConfig(deps.config);
  const s = store(deps);
  const now = deps.clock.now();
  const approvals = approvalsChannel(deps.config);
  const gate = await readCleanupGate(s, deps.config, now);
  if (!gate.open) throw new UserError('gate_closed', `phase 5 may not start yet: ${gate.reasons.join('; ')}`);
  const unsafe = testPrefixProblem(deps.config);
  if (unsafe) throw new UserError('test_prefix', unsafe);
  const id = requestIdFor(d.requestId, 'cleanup');
  const open = await currentRequest(s, 'cleanup');
  if (open && open !== id) {
    const other = await getRequest(s, open);
    throw new UserError(
      'request_open',
      `cleanup request \`${open}\` is ${other?.state ?? 'open'}: only one may be pending or running`,
    );
  }
  const where = `s3://${m.bucket}/${m.testPrefix}`;
  if (!(await getRequest(s, id))) {
    const listed = await listObjects(deps, d.requester, {
      account: m.account,
      bucket: m.bucket,
      prefix: m.testPrefix,
    });
    if (!listed.size) {
      await ctx.report(
        `:white_check_mark: Nothing to delete: \`${where}\` is empty. The AWS step of phase 5 is done.`,
      );
      return { op: 'cleanup', outcome: 'nothing to delete' };
    }
    const keys = [...listed.keys()].sort();
    deletionBatches(keys, m.testPrefix); // refuses a listing with anything outside the prefix
    const plan = cleanupPlanOf(deps.config, {
      objects: keys.length,
      bytes: [...listed.values()].reduce((a, b) => a + b, 0),
      keysHash: keysDigest(keys),
    });
    const r: CleanupRequest = {
      kind: 'cleanup',
      id,
      requester: d.requester,
      requestId: d.requestId,
      state: 'pending',
      plan,
      planHash: planHash(plan),
      approvals: [],
      needed: m.approvals,
      expiresAt: now + m.cleanupExpiryHours * 3_600_000,
      createdAt: now,
      retries: 0,
      deleted: 0,
      version: 1,
    };
    if (!(await createRequest(s, r, { keys: JSON.stringify(keys) }))) {
      throw new UserError(
        'request_open',
        'another cleanup request was made meanwhile: only one may be pending or running',
      );
    }
  }
  await postCardAndExpiry(ctx, approvals, id);
  const r = (await getRequest(s, id)) as CleanupRequest;
  await ctx.report(
    `:memo: Cleanup request \`${id}\` is waiting for ${r.needed} approvals in <#${approvals}>: delete ${r.plan.objects} objects (${formatBytes(r.plan.bytes)}) under \`${where}\`.`,
  );
  return { op: 'cleanup', outcome: id };
}

/**
 * Deletes the approved listing: before the first deletion the approvals and the plan must still hold
 * and the objects under the prefix must be exactly the listed ones; a retry or a resumed run deletes
 * what is left of them (keys already gone are fine) and refuses any key that was not listed.
 */
async function runCleanup(
  ctx: JobContext<MigrationData>,
  d: MigrationData & { op: 'run' },
  jobId: string,
): Promise<MigrationResult> {
  const { deps } = ctx;
  const s = store(deps);
  const claim = await claimRun(s, d.id, jobId);
  if (!claim.ok) {
    ctx.log.info({ id: d.id, state: claim.state }, 'cleanup not started: not approved for this run');
    return { op: 'run', outcome: `skipped (${claim.state})` };
  }
  const r = (await getRequest(s, d.id)) as CleanupRequest;
  const place = { account: r.plan.account, bucket: r.plan.bucket, prefix: r.plan.prefix };
  const where = `s3://${place.bucket}/${place.prefix}`;
  const stop = (to: 'expired' | 'failed', why: string): Promise<never> =>
    stopRun(ctx, r, {
      to,
      fields: to === 'expired' ? { reason: why } : { error: why },
      audit: { action: 'migration.cleanup.delete', target: `${d.id} ${where}`, detail: why },
      post: `:x: The deletion under \`${where}\` (\`${d.id}\`) stopped: ${why}`,
      error: `cleanup ${d.id}: ${why}`,
    });
  try {
    // A fresh claim has deleted nothing yet; a resumed one (a retry, or a worker that died) may have.
    const fresh = claim.state === 'approved';
    const approved = new Set(await approvedKeys(s, d.id));
    const hash = currentPlanHash(deps.config, r);
    if (hash !== r.planHash || countingApprovals(r, hash).length < r.needed)
      await stop(
        fresh ? 'expired' : 'failed',
        'the plan changed after approval (config, bucket or prefix): ask for new approvals',
      );
    const listed = [...(await listObjects(deps, r.requester, place)).keys()];
    const unlisted = listed.filter((k) => !approved.has(k));
    if (unlisted.length) {
      await stop(
        fresh ? 'expired' : 'failed',
        `${unlisted.length} objects under ${where} were not in the approved listing (e.g. ${unlisted[0]}), so nothing more is deleted: run \`/migration check 5\` again for a new listing`,
      );
    }
    if (fresh && keysDigest(listed) !== r.plan.keysHash) {
      await stop(
        'expired',
        `the objects under ${where} changed since the listing (${listed.length} now, ${r.plan.objects} approved): run \`/migration check 5\` again`,
      );
    }
    const todo = listed.sort();
    let deleted = approved.size - todo.length;
    for (const [i, batch] of deletionBatches(todo, place.prefix).entries()) {
      await deleteObjects(deps, r.requester, place, batch);
      deleted += batch.length;
      await saveFields(s, d.id, { deleted: String(deleted) });
      await deps.audit.record({
        requestId: r.requestId,
        user: r.requester,
        action: 'migration.cleanup.delete',
        target: `${d.id} ${where}`,
        outcome: 'succeeded',
        detail: `batch ${i + 1}: ${batch.length} objects (${deleted} of ${approved.size})`,
      });
      await refreshApprovalCard(deps, d.id).catch(() => undefined);
    }
    await endRequest(deps, s, d.id, ['running'], 'done', { deleted: String(approved.size) });
  } catch (err) {
    if (err instanceof UnrecoverableError) throw err;
    if (!(err instanceof UserError) && !ctx.isLastAttempt()) throw err; // BullMQ retries; the run resumes
    await stop('failed', userMessage(err));
  }
  await refreshApprovalCard(deps, d.id).catch(() => undefined);
  if (r.cardChannel) {
    await deps.notifier
      .post(
        r.cardChannel,
        `:white_check_mark: Deleted ${r.plan.objects} objects (${formatBytes(r.plan.bytes)}) under \`${where}\` (\`${d.id}\`).`,
        undefined,
        r.cardTs,
      )
      .catch((e) => ctx.log.warn({ err: String(e) }, 'could not post the completion'));
  }
  await refreshStatus(ctx);
  return { op: 'run', outcome: `deleted ${r.plan.objects} objects` };
}

export const migrationJob: JobKind<MigrationData, MigrationResult> = {
  queue: MIGRATION_QUEUE,
  action: 'migration.job',
  describe: (d) => ('id' in d && d.id ? `${d.op} ${d.id}` : d.op),
  summarize: (r) => `${r.op}: ${r.outcome}`,
  async run(job, ctx) {
    const d = job.data;
    switch (d.op) {
      case 'request':
        return request(ctx as JobContext<MigrationData & { op: 'request' }>, d);
      case 'run':
        return kindOf(d.id) === 'cleanup' ? runCleanup(ctx, d, String(job.id)) : run(ctx, d, String(job.id));
      case 'expire':
        return expire(ctx, d);
      case 'rollback3':
        return rollback3(ctx, d);
      case 'status':
        return status(ctx);
      case 'check':
        return check(ctx, d);
      case 'watch':
        return watch(ctx, d);
      case 'cleanup':
        return cleanupRequest(ctx, d);
    }
  },
  async onFinalFailure(job, ctx, err) {
    if (job.data.op === 'run') return; // the card and the approvals channel already say so
    await ctx.report(`:x: /migration ${job.data.op} failed: ${userMessage(err)}`);
  },
};
