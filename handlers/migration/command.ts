// /migration itself: status, checks, the phase-3 request, rollback 3, cutover and rollback 4, and
// check 5 (the cleanup gate). Parse, authorise, enqueue, answer; the work is in jobs/migration.
import type { BotDeps, CommandSpec, Outcome } from '../../bot/listeners.js';
import type { RequestContext } from '../../bot/middleware.js';
import { UserError } from '../../infra/errors.js';
import { formatLocal } from '../../infra/times.js';
import { formatBytes } from '../../jobs/dumps/index.js';
import {
  CRON_ORDER,
  cleanupSteps,
  cutovers,
  cutoverWithFollowUps,
  MIGRATION_QUEUE,
  type MigrationData,
  migrationConfig,
  openRequest,
  readCleanupGate,
  requestIdFor,
  rollbackCommand,
  uncutWithFollowUps,
} from '../../jobs/migration/index.js';
import { rollbackAnswer } from './approval.js';
import { coreFor, mstore } from './core.js';
import { type MigrationArgs, parseMigrationArgs, USAGE } from './parse.js';

/**
 * Queues the job that makes a request (phase 3, cleanup): while another with the same dedup key is
 * queued or running, answers `busy` instead.
 */
async function enqueueRequest(
  deps: BotDeps,
  req: RequestContext,
  data: MigrationData,
  jobId: string,
  dedupKey: string,
  busy: string,
): Promise<Outcome | undefined> {
  const res = await enqueue(deps, req, data, jobId, { dedupKey });
  return res.status === 'duplicate'
    ? { outcome: 'invalid', detail: 'duplicate', reply: { text: busy } }
    : undefined;
}

async function enqueue(
  deps: BotDeps,
  req: RequestContext,
  data: MigrationData,
  jobId: string,
  extra: { runAt?: number; attempts?: number; dedupKey?: string } = {},
) {
  return deps.queues.enqueue(MIGRATION_QUEUE, data.op, data, { jobId, confirmBy: req.confirmBy, ...extra });
}

/** The day (YYYY-MM-DD in the configured zone) of an instant. */
function dayOf(at: number, zone: string): string {
  return formatLocal(at, zone).slice(0, 10);
}

async function cutover(
  a: { cron: string; force: boolean },
  req: RequestContext,
  deps: BotDeps,
): Promise<Outcome> {
  const zone = deps.config.timezone;
  const jobs = (deps.config.dumps?.jobs ?? []).map((j) => j.name);
  const order = CRON_ORDER.filter((c) => jobs.includes(c)).concat(
    jobs.filter((j) => !CRON_ORDER.includes(j)),
  );
  if (!order.includes(a.cron))
    throw new UserError('unknown_cron', `"${a.cron}" is not a configured dump job (${order.join(', ')})`);
  const done = await cutovers(mstore(deps));
  if (done.some((c) => c.cron === a.cron)) throw new UserError('already', `${a.cron} is already cut over`);
  const today = dayOf(deps.clock.now(), zone);
  const expected = order.find((c) => !done.some((x) => x.cron === c));
  const problems: string[] = [];
  if (done.some((c) => dayOf(c.at, zone) === today))
    problems.push('one cron was already cut over today (one a day)');
  if (expected !== a.cron)
    problems.push(`the runbook's order says ${expected} comes next (lowest risk first)`);
  if (problems.length && !a.force) {
    throw new UserError(
      'cutover_refused',
      `not cut over: ${problems.join('; ')}. Add --force to do it anyway (audited).`,
    );
  }
  // The cutover and what follows it (its two watches, the status card) are written in one step;
  // the follow-ups are queued now, or by the watchdog if this process dies first.
  const recorded = await cutoverWithFollowUps(
    coreFor(deps, req),
    { cron: a.cron, at: deps.clock.now(), by: req.userId, forced: problems.length > 0 },
    { requestId: req.requestId, user: req.userId },
  );
  if (!recorded) throw new UserError('already', `${a.cron} is already cut over`);
  return {
    outcome: 'succeeded',
    target: a.cron,
    detail: problems.length ? `forced: ${problems.join('; ')}` : undefined,
    reply: {
      text: `:arrows_clockwise: Recorded: \`${a.cron}\` now runs the new script (phase 4)${problems.length ? ` — forced past: ${problems.join('; ')}` : ''}. The next two uploads under dumps/ are watched and shown on the status card.`,
    },
  };
}

/**
 * `check 5`: the cleanup gate from Redis (no AWS call before the ack). Closed: the reasons, nothing
 * posted. Open: the cleanup steps, and a job that lists the test dumps and posts the approval card.
 */
async function checkCleanup(req: RequestContext, deps: BotDeps): Promise<Outcome> {
  const m = migrationConfig(deps.config);
  const s = mstore(deps);
  const gate = await readCleanupGate(s, deps.config, deps.clock.now());
  if (!gate.open) {
    return {
      outcome: 'succeeded',
      detail: 'gate closed',
      reply: { text: `:hourglass: Phase 5 may not start yet: ${gate.reasons.join('; ')}.` },
    };
  }
  const approvals = deps.config.channels.approvals;
  const steps = cleanupSteps(m.bucket, m.testPrefix)
    .map((line, i) => `${i + 1}. ${line}`)
    .join('\n');
  const head = `:white_check_mark: Phase 5 may start: every cron is cut over, ${gate.days} days since the last cutover, no failed dump check since. The cleanup steps:\n${steps}`;
  const r = await openRequest(s, 'cleanup');
  if (r) {
    return {
      outcome: 'succeeded',
      target: r.id,
      detail: `gate open; ${r.id} ${r.state}`,
      reply: {
        text: `${head}\nThe deletion is already requested: \`${r.id}\` is ${r.state} (${r.plan.objects} objects, ${formatBytes(r.plan.bytes)}), its card is in <#${r.cardChannel ?? approvals ?? '?'}>.`,
      },
    };
  }
  const busy = await enqueueRequest(
    deps,
    req,
    { requestId: req.requestId, requester: req.userId, op: 'cleanup' },
    `mig-clean-${req.requestId}`,
    'cleanup-request',
    `${head}\n:hourglass: Another cleanup request is being prepared right now; its card comes in a minute.`,
  );
  if (busy) return busy;
  return {
    outcome: 'queued',
    detail: 'gate open',
    target: requestIdFor(req.requestId, 'cleanup'),
    reply: {
      text: `${head}\nQueued: listing \`s3://${m.bucket}/${m.testPrefix}\`; the approval card for deleting it goes to <#${approvals ?? '?'}>, or I tell you in our DM why not. (request ${req.requestId})`,
    },
  };
}

export const migrationCommand: CommandSpec<MigrationArgs> = {
  command: '/migration',
  usage: USAGE,
  help: [
    {
      action: 'migration',
      line: '`/migration …`: drive the EC2 cron-host migration runbook (status, checks, phase-3 approvals, cutover, rollback)',
    },
  ],
  parse: (text, _req, deps) =>
    parseMigrationArgs(text, deps.config.timezone, deps.clock.now(), deps.config.migration?.maxLeadDays),
  permission: () => 'migration',
  async execute(a, req, deps) {
    const m = migrationConfig(deps.config);
    const base = { requestId: req.requestId, requester: req.userId };
    const queued = (text: string, detail?: string): Outcome => ({
      outcome: 'queued',
      detail,
      reply: { text: `${text} (request ${req.requestId})` },
    });
    switch (a.sub) {
      case 'status':
        await enqueue(deps, req, { ...base, op: 'status' }, `mig-status-${req.requestId}`);
        return queued(
          `:clipboard: Queued: updating the migration status card${deps.config.channels.approvals ? ` in <#${deps.config.channels.approvals}>` : ''}.`,
        );
      case 'check':
        if (a.phase === 5) return checkCleanup(req, deps);
        await enqueue(deps, req, { ...base, op: 'check', phase: a.phase }, `mig-check-${req.requestId}`);
        return queued(`:mag: Queued: phase ${a.phase} check; the result comes in our DM.`);
      case 'phase3': {
        const end = a.start + (a.durationMs ?? m.windowMinutes * 60_000);
        const busy = await enqueueRequest(
          deps,
          req,
          { ...base, op: 'request', start: a.start, end },
          `mig-req-${req.requestId}`,
          'phase3-request',
          ':hourglass: Another phase-3 request is being checked right now; try again in a minute.',
        );
        if (busy) return busy;
        return queued(
          `:memo: Queued: checking the phase-3 prerequisites for ${formatLocal(a.start, deps.config.timezone)} – ${formatLocal(end, deps.config.timezone)}. The approval card goes to <#${deps.config.channels.approvals ?? '?'}>, or I tell you in our DM why not.`,
          requestIdFor(req.requestId),
        );
      }
      case 'rollback3': {
        // One operation at a time: the open failed request's own rollback, or the instance's; never
        // while a run is approved or in progress, or another rollback holds the instance.
        const out = rollbackAnswer(
          await rollbackCommand(coreFor(deps, req), { requestId: req.requestId, user: req.userId }),
        );
        return out.outcome === 'queued'
          ? { ...out, reply: { text: `${out.reply.text} (request ${req.requestId})` } }
          : out;
      }
      case 'cutover':
        return cutover(a, req, deps);
      case 'rollback4': {
        // The removal and its follow-up (the status card) in one step, as for a cutover.
        if (
          !(await uncutWithFollowUps(coreFor(deps, req), a.cron, {
            requestId: req.requestId,
            user: req.userId,
          }))
        )
          throw new UserError('not_cut_over', `${a.cron} is not cut over`);
        return {
          outcome: 'succeeded',
          target: a.cron,
          reply: {
            text: `:leftwards_arrow_with_hook: Recorded: \`${a.cron}\` runs the old script again (phase 4 rolled back for it).`,
          },
        };
      }
    }
  },
};
