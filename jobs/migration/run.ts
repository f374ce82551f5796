// Phase 3's run: the stored plan's steps, each checking the real state first and saving its progress
// (fenced), with the check of approvals, plan and window right before every change. A crash resumes
// from the saved step; a runner that lost the request stops without writing; every other way out
// ends the request (done, failed with Retry and Roll back, or expired / cancelled when nothing was
// changed yet) with the card edited and the failure posted.
import { DelayedError, UnrecoverableError } from 'bullmq';
import { UserError, userMessage } from '../../infra/errors.js';
import { quoteSlack } from '../../infra/slack-text.js';
import { getWindow } from '../maintenance/index.js';
import { isOurProfile } from './aws.js';
import { postFailure, refreshCard } from './card-sync.js';
import type { MigrationResult } from './data.js';
import type { MigrationDeps } from './deps.js';
import { migrationConfig, STEP } from './plan.js';
import { cancelCreatedWindow } from './requests.js';
import {
  armWatchdog,
  checkBeforeChange,
  endOp,
  Fenced,
  type RunCtx,
  runAlive,
  StopRun,
  stepBudgetMs,
  waitFor,
} from './runner.js';
import { claim, getRequest, type Owner, type Phase3Request, saveProgress } from './store.js';

/** Posts into the window's thread (the announcement), or the card's thread when it has none. */
async function postInWindow(md: MigrationDeps, r: Phase3Request, key: 'start' | 'done', text: string) {
  const w = await getWindow(md.store, r.windowId);
  const [channel, threadTs] = w?.channel && w.ts ? [w.channel, w.ts] : [r.cardChannel, r.cardTs];
  if (!channel) return;
  // A resumed or retried step may follow an attempt that posted it already: look in the thread first.
  await md.notifier.postOnce({ channel, text, threadTs }, { key: `${r.id}/${key}`, lookFirst: true });
}

/** Runs phase 3 for request `id` as the job `ctx.jobId`. */
export async function runPhase3(md: MigrationDeps, id: string, ctx: RunCtx): Promise<MigrationResult> {
  const s = md.store;
  const first = await getRequest(s, id, 'phase3');
  const c = await claim(s, first, ctx.jobId, 'run', md.clock.now());
  if (c.result === 'skip') {
    ctx.log.info({ id, state: c.state }, 'phase-3 run not started: the request is not approved for this run');
    return { op: 'run', outcome: `skipped (${c.state})` };
  }
  if (c.result === 'busy') {
    // A rollback holds the instance: wait for it (the window's budget is checked before any change).
    ctx.log.info({ id, holder: c.holder }, 'phase-3 run waits: another operation holds the instance');
    if (ctx.delayUntil) await ctx.delayUntil(md.clock.now() + migrationConfig(md.config).pollSeconds * 1000);
    return { op: 'run', outcome: `waiting for ${c.holder}` };
  }
  await armWatchdog(md);
  const owner: Owner = { job: ctx.jobId, fence: c.fence, token: ctx.token };
  let r = await getRequest(s, id, 'phase3');
  const user = r.requester;
  const plan = r.plan;
  const target = { account: plan.account, instanceId: plan.instanceId };
  const alive = runAlive(md, id, owner);
  let at: number = r.step;
  const save = async (step: number) => {
    if (!(await saveProgress(s, id, owner, { step }))) throw new Fenced('another run owns the request');
    await md.audit.record({
      requestId: r.requestId,
      user,
      action: 'migration.phase3.step',
      target: `${id} step ${step}`,
      outcome: 'succeeded',
      detail: plan.steps[step - 1],
    });
    r = await getRequest(s, id, 'phase3');
    await refreshCard(md, id);
  };
  // Stop or start: asked for (after the check before every change) only when the instance is not
  // already there or on its way, then waited for.
  const bringTo = async (want: 'stopped' | 'running', step: number) => {
    const onItsWay = want === 'stopped' ? ['stopped', 'stopping'] : ['running', 'pending'];
    if (!onItsWay.includes((await md.aws.describeInstance(user, target)).state)) {
      await checkBeforeChange(md, r, owner, stepBudgetMs(md, step));
      await (want === 'stopped' ? md.aws.stopInstance(user, target) : md.aws.startInstance(user, target));
    }
    await waitFor(
      md,
      `${plan.instanceId} to ${want === 'stopped' ? 'stop' : 'run'}`,
      async () => (await md.aws.describeInstance(user, target)).state === want,
      alive,
    );
  };
  try {
    await refreshCard(md, id);
    if (r.step <= STEP.notice) {
      at = STEP.notice;
      // Before anything: the approvals, the plan and the window as they are now, and the streak.
      await checkBeforeChange(md, r, owner, stepBudgetMs(md, STEP.stop), false);
      const m = migrationConfig(md.config);
      const phase2 = await md.aws.checkPhase2(user, md.clock.now());
      if (phase2.streak < m.streakDays)
        throw new UserError('streak', `the parallel-testing streak fell to ${phase2.streak} days`);
      await postInWindow(
        md,
        r,
        'start',
        `:construction: Phase 3 (\`${id}\`) starts: stopping \`${plan.instanceId}\` to attach \`${plan.instanceProfile}\`.`,
      );
      await save(STEP.stop);
    }
    if (r.step <= STEP.stop) {
      at = STEP.stop;
      await bringTo('stopped', STEP.stop);
      await save(STEP.associate);
    }
    if (r.step <= STEP.associate) {
      at = STEP.associate;
      await alive();
      const found = await md.aws.associations(user, target);
      const other = found.find((a) => !isOurProfile(a.profileArn, plan.instanceProfile));
      if (other)
        throw new UserError(
          'other_profile',
          `${plan.instanceId} already has another instance profile (${other.profileArn}); roll back or fix it by hand`,
        );
      if (!found.length) {
        await checkBeforeChange(md, r, owner, stepBudgetMs(md, STEP.associate));
        await md.aws.associateProfile(user, { ...target, instanceProfile: plan.instanceProfile });
      }
      await save(STEP.start);
    }
    if (r.step <= STEP.start) {
      at = STEP.start;
      await alive();
      await bringTo('running', STEP.start);
      await save(STEP.verify);
    }
    if (r.step <= STEP.verify) {
      at = STEP.verify;
      await waitFor(
        md,
        `the association of ${plan.instanceProfile}`,
        async () =>
          (await md.aws.associations(user, target)).some(
            (a) => a.state === 'associated' && isOurProfile(a.profileArn, plan.instanceProfile),
          ),
        runAlive(md, id, owner, false),
      );
      await save(STEP.done);
    }
    if (r.step <= STEP.done) {
      at = STEP.done;
      await postInWindow(
        md,
        r,
        'done',
        `:white_check_mark: Phase 3 (\`${id}\`) is done: \`${plan.instanceId}\` runs with \`${plan.instanceProfile}\`.`,
      );
      await save(STEP.done + 1);
    }
    if (!(await endOp(md, r, owner.job, owner.fence, 'done')))
      throw new Fenced('the run was ended by another');
  } catch (err) {
    if (err instanceof DelayedError) throw err;
    if (err instanceof Fenced) {
      ctx.log.warn({ id, why: err.message }, 'phase-3 run stopped: it no longer owns the request');
      return { op: 'run', outcome: `stopped (${err.message})` };
    }
    const to = await endFailedRun(md, id, owner, at, err);
    throw new UnrecoverableError(
      `phase 3 ${to === 'failed' ? 'failed' : `stopped (${to})`} at step ${at + 1}: ${userMessage(err)}`,
    );
  }
  await refreshCard(md, id);
  return { op: 'run', outcome: 'done' };
}

/**
 * Ends a run that cannot go on. Nothing changed yet and the approvals, the plan or the window no
 * longer allow it: expired (or cancelled, with its window), final. Otherwise failed at the step,
 * with Retry and Roll back on the card and the failure posted.
 */
async function endFailedRun(
  md: MigrationDeps,
  id: string,
  owner: Owner,
  at: number,
  err: unknown,
): Promise<'failed' | 'expired' | 'cancelled' | 'fenced'> {
  const r = await getRequest(md.store, id, 'phase3');
  const why = userMessage(err);
  const unchanged = !r.touched && r.step <= STEP.stop;
  const stopped = err instanceof StopRun;
  const cancelled = stopped && (err.why === 'stop' || err.windowState === 'cancelled');
  const to = stopped && unchanged ? (cancelled ? 'cancelled' : 'expired') : 'failed';
  const fields: Record<string, string | number> =
    to === 'failed' ? { failedStep: at, error: why } : { reason: why };
  if (!(await endOp(md, r, owner.job, owner.fence, to, fields))) return 'fenced'; // another owns it now
  await md.audit.record({
    requestId: r.requestId,
    user: r.requester,
    action: 'migration.phase3.step',
    target: `${id} step ${at + 1}`,
    outcome: 'failed',
    detail: why.slice(0, 300),
  });
  if (to === 'expired') await cancelCreatedWindow(md, r, r).catch(() => undefined);
  await refreshCard(md, id);
  if (to === 'failed') await postFailure(md, id);
  md.log.warn({ id, step: at + 1, to, why: quoteSlack(why, 200) }, 'phase 3 stopped');
  return to;
}
