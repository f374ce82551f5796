// Phase 3's rollback: disassociate the instance profile and make sure the instance runs. Either a
// failed request's rollback (its stored instance; the request ends rolled-back, or failed again with
// Retry and Roll back), or `/migration rollback 3` with no failed request open (the instance the
// command named). Each holds the instance, so it never overlaps a run; each call is fenced.
import { DelayedError, UnrecoverableError } from 'bullmq';
import { UserError, userMessage } from '../../infra/errors.js';
import { postFailure, refreshCard } from './card-sync.js';
import type { MigrationResult } from './data.js';
import type { MigrationDeps } from './deps.js';
import { armWatchdog, checkOwnership, endOp, Fenced, type RunCtx, waitFor } from './runner.js';
import {
  claim,
  claimInstance,
  freeInstance,
  getRequest,
  type Owner,
  readRequest,
  runnerView,
  saveProgress,
  slotKey,
} from './store.js';

export interface RollbackTarget {
  /** The failed request being rolled back. */
  id?: string;
  /** Without one: the instance the command named. */
  account?: string;
  instanceId?: string;
}

export async function rollbackPhase3(
  md: MigrationDeps,
  t: RollbackTarget,
  requester: string,
  ctx: RunCtx,
): Promise<MigrationResult> {
  const s = md.store;
  let owner: Owner;
  let target: { account: string; instanceId: string };
  let alive: () => Promise<void>;
  let check: () => Promise<void>;
  let user = requester;
  if (t.id) {
    const first = await getRequest(s, t.id, 'phase3');
    const c = await claim(s, first, ctx.jobId, 'rollback', md.clock.now());
    if (c.result === 'skip' || c.result === 'busy') {
      ctx.log.info(
        { id: t.id, state: c.state },
        'rollback not started: the request is not rolling back for this job',
      );
      return { op: 'rollback3', outcome: `skipped (${c.state})` };
    }
    owner = { job: ctx.jobId, fence: c.fence, token: ctx.token };
    // A retry after this rollback redoes every step, checking the real state first.
    if (c.result === 'fresh' && !(await saveProgress(s, t.id, owner, { step: 0 }))) {
      return { op: 'rollback3', outcome: 'skipped (not the owner)' };
    }
    const r = await getRequest(s, t.id, 'phase3');
    target = { account: r.plan.account, instanceId: r.plan.instanceId };
    user = requester;
    const id = t.id;
    alive = async () => {
      const v = await runnerView(s, id);
      if (v.opJob !== owner.job || v.fence !== owner.fence)
        throw new Fenced('another operation owns the request');
    };
    check = () => checkOwnership(md, { request: r }, owner);
  } else {
    if (!t.account || !t.instanceId) throw new Error('rollback3 names neither a request nor an instance');
    const fence = await claimInstance(s, t.instanceId, ctx.jobId);
    if (fence === undefined) return { op: 'rollback3', outcome: 'skipped (the instance is not held for it)' };
    owner = { job: ctx.jobId, fence, token: ctx.token };
    target = { account: t.account, instanceId: t.instanceId };
    const slot = slotKey(s, t.instanceId);
    alive = async () => {
      const [job, fenceNow] = await s.redis.hmget(slot, 'job', 'fence');
      if (job !== owner.job || Number(fenceNow) !== owner.fence)
        throw new Fenced('another operation holds the instance');
    };
    const instanceId = t.instanceId;
    check = () => checkOwnership(md, { instanceId }, owner);
  }
  await armWatchdog(md);
  try {
    for (const a of await md.aws.associations(user, target)) {
      await check();
      await md.aws.disassociate(user, target, a.id);
    }
    await waitFor(
      md,
      `the profile to leave ${target.instanceId}`,
      async () => (await md.aws.associations(user, target)).length === 0,
      alive,
    );
    const state = (await md.aws.describeInstance(user, target)).state;
    if (state === 'stopped') {
      await check();
      await md.aws.startInstance(user, target);
    }
    if (state !== 'running') {
      await waitFor(
        md,
        `${target.instanceId} to run`,
        async () => (await md.aws.describeInstance(user, target)).state === 'running',
        alive,
      );
    }
    if (t.id) {
      const r = await getRequest(s, t.id, 'phase3');
      if (!(await endOp(md, r, owner.job, owner.fence, 'rolled-back'))) throw new Fenced('ended by another');
      await refreshCard(md, t.id);
    } else if (t.instanceId) {
      await freeInstance(s, t.instanceId, owner.job, owner.fence);
    }
  } catch (err) {
    if (err instanceof DelayedError) throw err;
    if (err instanceof Fenced) {
      ctx.log.warn({ id: t.id, why: err.message }, 'rollback stopped: it no longer owns the request');
      return { op: 'rollback3', outcome: `stopped (${err.message})` };
    }
    const final = ctx.isLastAttempt() || err instanceof UnrecoverableError || err instanceof UserError;
    if (!final) throw err; // BullMQ retries the job: it resumes
    const why = userMessage(err);
    if (t.id) {
      const r = await readRequest(s, t.id);
      if (
        r?.kind === 'phase3' &&
        (await endOp(md, r, owner.job, owner.fence, 'failed', { error: `the rollback failed: ${why}` }))
      ) {
        await refreshCard(md, t.id);
        await postFailure(md, t.id);
      }
    } else if (t.instanceId) {
      await freeInstance(s, t.instanceId, owner.job, owner.fence);
    }
    throw new UnrecoverableError(`rollback of phase 3 failed: ${why}`);
  }
  await ctx.report?.(
    `:leftwards_arrow_with_hook: Phase 3 rolled back: \`${target.instanceId}\` has no instance profile and is running.`,
  );
  return { op: 'rollback3', outcome: 'rolled back' };
}
