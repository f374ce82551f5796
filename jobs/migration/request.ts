// Making a request: phase 3's job checks the prerequisites, links or schedules the window, stores
// the request with its full plan and posts the approval card (its expiry queued first). The expiry
// job ends a request not approved or run in time, reading the window as it is then (an extended
// window moves it).
import { UserError } from '../../infra/errors.js';
import { formatLocal } from '../../infra/times.js';
import { getWindow, scheduleWithNotice, windowsEndingAfter } from '../maintenance/index.js';
import { isOurProfile } from './aws.js';
import { refreshCard } from './card-sync.js';
import { approvalCardOf } from './cards.js';
import { expireJobId, type MigrationData, type MigrationResult } from './data.js';
import type { MigrationCore, MigrationDeps } from './deps.js';
import { type CleanupPlan, migrationConfig, type Plan, planHash, planOf, requestIdFor } from './plan.js';
import { cancelCreatedWindow } from './requests.js';
import type { RunCtx } from './runner.js';
import { runBudgetMs } from './runner.js';
import {
  createRequest,
  expireIfDue,
  getRequest,
  type NewRequestFields,
  openRequest,
  readRequest,
  setCard,
} from './store.js';

/** The channel approval cards go to; a UserError saying what to configure when there is none. */
export function approvalsChannel(core: Pick<MigrationCore, 'config'>): string {
  const channel = core.config.channels.approvals;
  if (!channel)
    throw new UserError(
      'not_configured',
      "no approvals channel is configured: add channels.approvals to the bot's config",
    );
  return channel;
}

/**
 * Queues a new request's expiry, then posts its approval card (unless a retry already did): a card
 * on screen always has its expiry queued.
 */
export async function postCardAndExpiry(md: MigrationDeps, channel: string, id: string): Promise<void> {
  const r = await readRequest(md.store, id);
  if (!r) throw new Error(`request ${id} vanished`);
  // Phase 3's expiry job re-reads its window when it fires (an extension moves it further).
  await md.jobs.add(
    expireJobId(id),
    { requestId: r.requestId, requester: r.requester, op: 'expire', id },
    { runAt: r.expiresAt },
  );
  if (!r.cardTs) {
    const window = r.kind === 'phase3' ? await getWindow(md.store, r.windowId) : undefined;
    const card = approvalCardOf(md.config, md.clock.now(), r, window);
    // An earlier attempt may have posted it and died before recording it: look in the channel first.
    const ref = await md.notifier.postOnce(
      { channel, text: card.text, blocks: card.blocks },
      { key: `${id}/card`, lookFirst: true },
    );
    await setCard(md.store, id, ref.channel, ref.ts);
  }
}

/** What a new request stores of who asked and what is to be approved: the plan, its hash, the quorum now. */
export function requestFields<P extends Plan | CleanupPlan>(
  core: Pick<MigrationCore, 'config'>,
  d: { requestId: string; requester: string },
  id: string,
  plan: P,
): Pick<NewRequestFields, 'id' | 'requester' | 'requestId' | 'planHash' | 'needed'> & { plan: P } {
  return {
    id,
    requester: d.requester,
    requestId: d.requestId,
    plan,
    planHash: planHash(plan),
    needed: migrationConfig(core.config).approvals,
  };
}

export type RequestData = MigrationData & { op: 'request' };

/** `/migration phase3 request`: the checks, the window, the request and its card. */
export async function requestPhase3(
  md: MigrationDeps,
  d: RequestData,
  ctx: RunCtx & { save(patch: Partial<RequestData>): Promise<void> },
): Promise<MigrationResult> {
  const m = migrationConfig(md.config);
  const s = md.store;
  const zone = md.config.timezone;
  const approvals = approvalsChannel(md);
  const id = requestIdFor(d.requestId);
  const now = md.clock.now();
  // A retried job whose request is stored already (its card post failed): the checks were made then,
  // and the world may have moved on since (the run may even have begun); only the card is missing.
  if (await readRequest(s, id)) {
    await postCardAndExpiry(md, approvals, id);
    return { op: 'request', outcome: id };
  }
  const open = await openRequest(s, 'phase3');
  if (open && open.id !== id) {
    throw new UserError(
      'request_open',
      `phase-3 request \`${open.id}\` is ${open.state}: only one may be open (pending, approved, running or failed)`,
    );
  }
  if (d.start - now > m.maxLeadDays * 86_400_000) {
    throw new UserError(
      'too_far',
      `${formatLocal(d.start, zone)} is more than ${m.maxLeadDays} days ahead: give a start within ${m.maxLeadDays} days (migration.maxLeadDays)`,
    );
  }
  if (d.end - d.start < runBudgetMs(md)) {
    throw new UserError(
      'window_short',
      `the window is shorter than the ${m.runMinutes} minutes the run needs (migration.runMinutes)`,
    );
  }
  const user = d.requester;
  const phase1 = await md.aws.checkPhase1(user);
  const bad = phase1.filter((i) => !i.ok);
  if (bad.length)
    throw new UserError(
      'phase1',
      `phase 1 is not complete: ${bad.map((i) => `${i.name} ${i.detail}`).join('; ')}`,
    );
  const phase2 = await md.aws.checkPhase2(user, now);
  if (phase2.streak < m.streakDays) {
    const broke = phase2.days.find((x, i) => !x.good && i > 0) ?? phase2.days.find((x) => !x.good);
    throw new UserError(
      'streak',
      `parallel testing has ${phase2.streak} good days in a row, phase 3 needs ${m.streakDays}${broke ? `: ${broke.date}: ${broke.detail}` : ''}`,
    );
  }
  const target = { account: m.account, instanceId: m.instanceId };
  const instance = await md.aws.describeInstance(user, target);
  if ((await md.aws.associations(user, target)).some((a) => isOurProfile(a.profileArn, m.instanceProfile))) {
    throw new UserError(
      'already_done',
      `${m.instanceId} already runs with ${m.instanceProfile}: phase 3 is done (\`/migration rollback 3\` undoes it)`,
    );
  }
  // The window: one that covers the period, or a new one (remembered, so a retry makes no second).
  let windowId = d.windowId;
  let windowCreated = d.windowCreated ?? false;
  if (!windowId) {
    const covering = (await windowsEndingAfter(s, d.start)).find(
      (w) => (w.state === 'scheduled' || w.state === 'in-progress') && w.start <= d.start && w.end >= d.end,
    );
    if (covering) windowId = covering.id;
    else {
      const made = await scheduleWithNotice(
        {
          redis: s.redis,
          prefix: s.prefix,
          queues: md.queues,
          clock: md.clock,
          config: md.config,
          logger: md.log,
        },
        {
          title: `EC2 cron host: IAM instance profile (${m.instanceId})`,
          start: d.start,
          end: d.end,
          createdBy: d.requester,
          createdAt: now,
          requestId: d.requestId,
          ...md.config.maintenance.defaults,
          // The seed's communication template for this window.
          impact:
            '5-10 minutes interruption of the data export cron jobs (the instance restarts); dashboards keep their cached data',
          purpose:
            'Upgrading the EC2 cron jobs from static credentials to an IAM role and AWS Secrets Manager',
          rollback:
            'Detach the instance profile (/migration rollback 3): the host falls back to its old credentials in under 5 minutes',
        },
        { dedupKey: `mig-window-${d.requestId}` },
      );
      windowId = made.windowId;
      windowCreated = true;
    }
    await ctx.save({ windowId, windowCreated });
  }
  const window = await getWindow(s, windowId);
  if (!window) throw new Error(`window ${windowId} is not stored yet`); // retried: its job stores it
  const plan = planOf(md.config, window);
  const created = await createRequest(s, {
    kind: 'phase3',
    ...requestFields(md, d, id, plan),
    expiresAt: window.end - runBudgetMs(md),
    createdAt: now,
    windowId,
    windowCreated,
    instanceName: instance.name,
    streak: phase2.streak,
  });
  if (created === 'open') {
    throw new UserError('request_open', 'another phase-3 request was made meanwhile: only one may be open');
  }
  await postCardAndExpiry(md, approvals, id);
  await ctx.report?.(
    `:memo: Phase-3 request \`${id}\` is waiting for ${m.approvals} approvals in <#${approvals}>. Window \`${windowId}\` ${formatLocal(window.start, zone)} – ${formatLocal(window.end, zone)}${windowCreated ? ' (scheduled, with its notices)' : ' (the existing window that covers it)'}.`,
  );
  return { op: 'request', outcome: id };
}

/** The expiry of a pending or approved request: when its time is up as things are now, else later. */
export async function expireRequest(md: MigrationDeps, id: string, ctx: RunCtx): Promise<MigrationResult> {
  const r = await readRequest(md.store, id);
  if (!r) return { op: 'expire', outcome: 'gone' };
  const reason =
    r.kind === 'phase3'
      ? 'the run can no longer finish in its window'
      : 'not approved in time: run `/migration check 5` again for a new listing';
  const res = await expireIfDue(
    md.store,
    r,
    md.clock.now(),
    r.kind === 'phase3' ? runBudgetMs(md) : 0,
    reason,
  );
  if (res.result === 'later') {
    // Its window was extended: expire at the new time instead.
    if (ctx.delayUntil) await ctx.delayUntil(res.at);
    return { op: 'expire', outcome: 'later' };
  }
  if (res.result !== 'expired') return { op: 'expire', outcome: `not expired (${res.state})` };
  await refreshCard(md, id);
  const after = await getRequest(md.store, id, r.kind);
  if (after.kind === 'phase3')
    await cancelCreatedWindow(md, after, { requestId: after.requestId, requester: after.requester });
  return { op: 'expire', outcome: 'expired' };
}
