// The status card (phases 1-5, edited in place) and the checks of phases 1 and 2. AWS is asked as
// the person who asked (their user in the session), never as someone else.
import { UserError, userMessage } from '../../infra/errors.js';
import { isOurProfile } from './aws.js';
import { statusCard } from './cards.js';
import type { MigrationResult } from './data.js';
import type { MigrationDeps } from './deps.js';
import { readCleanupGate } from './gate.js';
import { CRON_ORDER } from './phase4.js';
import { migrationConfig } from './plan.js';
import type { RunCtx } from './runner.js';
import { cutovers, latestRequest, openRequest, setStatusCard, statusCardRef } from './store.js';

/** Posts or edits the one status card, with AWS asked as `requester`. */
export async function updateStatus(md: MigrationDeps, requester: string): Promise<MigrationResult> {
  const m = migrationConfig(md.config);
  const s = md.store;
  const now = md.clock.now();
  const phase1 = await md.aws.checkPhase1(requester);
  const phase2 = await md.aws.checkPhase2(requester, now).catch((err) => ({ error: userMessage(err) }));
  const associated = (
    await md.aws.associations(requester, { account: m.account, instanceId: m.instanceId })
  ).some((a) => isOurProfile(a.profileArn, m.instanceProfile));
  const card = statusCard({
    phase1,
    phase2,
    streakNeeded: m.streakDays,
    associated,
    request: (await openRequest(s, 'phase3')) ?? (await latestRequest(s, 'phase3')),
    cutovers: await cutovers(s),
    cronOrder: CRON_ORDER.filter((c) => (md.config.dumps?.jobs ?? []).some((j) => j.name === c)),
    gate: await readCleanupGate(s, md.config, now),
    cleanup: await latestRequest(s, 'cleanup'),
    zone: md.config.timezone,
    now,
  });
  const existing = await statusCardRef(s);
  if (existing) await md.notifier.update(existing, card.text, card.blocks);
  else {
    const channel = md.config.channels.approvals;
    if (!channel)
      throw new UserError('not_configured', 'add channels.approvals: the status card lives there');
    const ref = await md.notifier.post(channel, card.text, card.blocks);
    await setStatusCard(s, ref.channel, ref.ts);
  }
  return { op: 'status', outcome: 'updated' };
}

/** Re-renders the status card, when there is one, after a change it shows. */
export async function refreshStatus(
  md: MigrationDeps,
  requester: string,
  ctx: Pick<RunCtx, 'log'>,
): Promise<void> {
  if (await statusCardRef(md.store))
    await updateStatus(md, requester).catch((err) =>
      ctx.log.warn({ err: String(err) }, 'could not refresh the status card'),
    );
}

/** `check 1` and `check 2`, reported to the requester. */
export async function checkPhase(
  md: MigrationDeps,
  phase: 1 | 2,
  requester: string,
  ctx: RunCtx,
): Promise<MigrationResult> {
  if (phase === 1) {
    const items = await md.aws.checkPhase1(requester);
    const ok = items.every((i) => i.ok);
    await ctx.report?.(
      `${ok ? ':white_check_mark: Phase 1 check passed' : ':x: Phase 1 check failed'}\n${items.map((i) => `${i.ok ? '•' : ':x:'} ${i.name}: ${i.detail}`).join('\n')}`,
    );
    return { op: 'check 1', outcome: ok ? 'passed' : 'failed' };
  }
  const m = migrationConfig(md.config);
  const r = await md.aws.checkPhase2(requester, md.clock.now());
  const ok = r.streak >= m.streakDays;
  await ctx.report?.(
    `${ok ? ':white_check_mark:' : ':hourglass:'} Phase 2: streak ${r.streak} of ${m.streakDays} good days\n${r.days.map((x) => `${x.good ? '•' : ':x:'} ${x.date}: ${x.detail}`).join('\n')}`,
  );
  return { op: 'check 2', outcome: `streak ${r.streak}` };
}
