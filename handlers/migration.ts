import type { App } from '@slack/bolt';
import type { View } from '@slack/types';
import {
  type BotDeps,
  type CommandSpec,
  type Outcome,
  registerAction,
  registerCommand,
  registerView,
} from '../bot/listeners.js';
import type { RequestContext } from '../bot/middleware.js';
import { UserError } from '../infra/errors.js';
import { formatLocal, parseDuration, parseStart, startWordCount } from '../infra/times.js';
import { formatBytes } from '../jobs/dump-alert-card.js';
import { cancelWithNotice } from '../jobs/maintenance.js';
import {
  approvalCardOf,
  CRON_ORDER,
  currentPlanHash,
  endRequest,
  MIGRATION_QUEUE,
  type MigrationData,
  requestIdFor,
  requestLabel,
  runJobOptions,
  watchTimes,
} from '../jobs/migration.js';
import { migrationConfig } from '../jobs/migration-aws.js';
import { cleanupSteps, readCleanupGate } from '../jobs/migration-gate.js';
import {
  approve,
  currentRequest,
  cutovers,
  getRequest,
  kindOf,
  type MigrationRequest,
  type MigrationStore,
  REQUEST_ID,
  recordCutover,
  removeCutover,
  transition,
} from '../jobs/migration-store.js';

const USAGE =
  '`/migration [status | check 1|2|5 | phase3 request <start> [<duration>] | rollback 3 | cutover <cron> [--force] | rollback 4 <cron>]`';

export type MigrationArgs =
  | { sub: 'status' }
  | { sub: 'check'; phase: 1 | 2 | 5 }
  | { sub: 'phase3'; start: number; durationMs?: number }
  | { sub: 'rollback3' }
  | { sub: 'cutover'; cron: string; force: boolean }
  | { sub: 'rollback4'; cron: string };

/** Parses `/migration` arguments (times against `now` in `zone`). */
export function parseMigrationArgs(text: string, zone: string, now: number): MigrationArgs {
  const words = text.split(/\s+/).filter(Boolean);
  const [sub = 'status', ...rest] = words;
  if (sub === 'status' && !rest.length) return { sub: 'status' };
  if (sub === 'check' && rest.length === 1 && ['1', '2', '5'].includes(rest[0] as string)) {
    return { sub: 'check', phase: Number(rest[0]) as 1 | 2 | 5 };
  }
  if (sub === 'check') throw new UserError('usage', 'check takes a phase: 1, 2 or 5');
  if (sub === 'phase3') {
    if (rest[0] !== 'request' || rest.length < 2)
      throw new UserError('usage', 'use `phase3 request <start> [<duration>]`');
    const times = rest.slice(1);
    const n = Math.max(1, startWordCount(times));
    const start = parseStart(times.slice(0, n).join(' '), zone, now);
    if (times.length > n + 1)
      throw new UserError('usage', 'phase3 request takes a start and an optional duration');
    const d = times[n];
    return { sub: 'phase3', start, ...(d ? { durationMs: parseDuration(d) } : {}) };
  }
  if (sub === 'rollback' && rest[0] === '3' && rest.length === 1) return { sub: 'rollback3' };
  const cronName = (w: string | undefined) => {
    if (!w || !/^[\w.-]{1,64}$/.test(w))
      throw new UserError('usage', 'name the cron job, e.g. `ggh_contractstatus`');
    return w;
  };
  if (sub === 'rollback' && rest[0] === '4' && rest.length === 2)
    return { sub: 'rollback4', cron: cronName(rest[1]) };
  if (sub === 'rollback') throw new UserError('usage', 'use `rollback 3` or `rollback 4 <cron>`');
  if (sub === 'cutover') {
    const force = rest.includes('--force');
    const names = rest.filter((w) => w !== '--force');
    if (names.length !== 1) throw new UserError('usage', 'use `cutover <cron> [--force]`');
    return { sub: 'cutover', cron: cronName(names[0]), force };
  }
  throw new UserError('usage', `unknown subcommand "${sub.slice(0, 40).replace(/[<>&]/g, '?')}"`);
}

function mstore(deps: BotDeps): MigrationStore {
  return { redis: deps.redis, prefix: deps.env.CHATOPS_REDIS_PREFIX };
}

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
  if (
    !(await recordCutover(mstore(deps), {
      cron: a.cron,
      at: deps.clock.now(),
      by: req.userId,
      forced: problems.length > 0,
    }))
  ) {
    throw new UserError('already', `${a.cron} is already cut over`);
  }
  const at = (await cutovers(mstore(deps))).find((c) => c.cron === a.cron)?.at ?? deps.clock.now();
  for (const w of watchTimes(deps.config, a.cron, at)) {
    const data: MigrationData = {
      requestId: req.requestId,
      requester: req.userId,
      op: 'watch',
      cron: a.cron,
      cutoverAt: at,
      n: w.n,
      day: w.day,
    };
    await enqueue(deps, req, data, `mig-watch-${a.cron}-${at}-${w.n}`, { runAt: w.at });
  }
  await enqueue(
    deps,
    req,
    { requestId: req.requestId, requester: req.userId, op: 'status' },
    `mig-status-${req.requestId}`,
  );
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
  const open = await currentRequest(s, 'cleanup');
  const r = open ? await getRequest(s, open) : undefined;
  if (r?.kind === 'cleanup') {
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
  parse: (text, _req, deps) => parseMigrationArgs(text, deps.config.timezone, deps.clock.now()),
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
      case 'rollback3':
        await enqueue(deps, req, { ...base, op: 'rollback3' }, `mig-rb3-${req.requestId}`, {
          dedupKey: 'rollback3',
        });
        return queued(
          ':leftwards_arrow_with_hook: Queued: rolling back phase 3 (disassociate the instance profile, make sure the instance runs).',
        );
      case 'cutover':
        return cutover(a, req, deps);
      case 'rollback4': {
        if (!(await removeCutover(mstore(deps), a.cron)))
          throw new UserError('not_cut_over', `${a.cron} is not cut over`);
        await enqueue(deps, req, { ...base, op: 'status' }, `mig-status-${req.requestId}`);
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

function requestId(value: string): string {
  if (!REQUEST_ID.test(value))
    throw new UserError('bad_button', 'that button does not name a migration request');
  return value;
}

/** Edits the approval card from the bot (on a click), with the same renderer the workers use. */
async function editCard(deps: BotDeps, r: MigrationRequest): Promise<void> {
  if (!r.cardChannel || !r.cardTs || !deps.slack) return;
  const card = approvalCardOf(deps.config, deps.clock.now(), r);
  await deps.slack.chat.update({
    channel: r.cardChannel,
    ts: r.cardTs,
    text: card.text,
    blocks: card.blocks,
  });
}

async function cancelCreated(deps: BotDeps, req: RequestContext, r: MigrationRequest): Promise<void> {
  if (r.kind !== 'phase3' || !r.windowCreated) return;
  const who = { requestId: req.requestId, requester: req.userId };
  await cancelWithNotice({ ...deps, prefix: deps.env.CHATOPS_REDIS_PREFIX }, r.windowId, who, req.confirmBy);
}

function rejectModal(id: string): View {
  return {
    type: 'modal',
    callback_id: 'mig_reject_submit',
    private_metadata: id,
    title: { type: 'plain_text', text: kindOf(id) === 'cleanup' ? 'Reject the cleanup' : 'Reject phase 3' },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Keep it' },
    blocks: [
      {
        type: 'input',
        block_id: 'reason',
        optional: true,
        label: { type: 'plain_text', text: 'Reason (optional)' },
        element: { type: 'plain_text_input', action_id: 'value', max_length: 300 },
      },
    ],
  };
}

/** Registers /migration, the approval card's buttons, the reject modal and the status card's refresh. */
export function register(app: App, deps: BotDeps): void {
  registerCommand(app, deps, migrationCommand);
  registerAction(app, deps, {
    actionId: 'mig_approve',
    permission: () => 'migration.approve',
    async handle(click, req, d) {
      const id = requestId(click.value);
      const s = mstore(d);
      const r = await getRequest(s, id);
      if (!r) throw new UserError('unknown_request', `request ${id} no longer exists`);
      const hash = currentPlanHash(d.config, r);
      const res = await approve(
        s,
        id,
        req.userId,
        hash,
        d.clock.now(),
        d.config.migration?.approvals ?? r.needed,
      );
      const answer = (outcome: Outcome['outcome'], text: string, detail?: string): Outcome => ({
        outcome,
        target: id,
        detail,
        reply: { text },
      });
      switch (res.result) {
        case 'own':
          return answer(
            'denied',
            ':no_entry: You requested this; someone else must approve it.',
            'own request',
          );
        case 'plan':
          return answer(
            'invalid',
            `:warning: The plan changed since this card was posted (${r.kind === 'phase3' ? 'config, instance, profile or window' : 'config, bucket or prefix'}), so approvals no longer count. Make a new request.`,
            'plan changed',
          );
        case 'expired':
          return answer('invalid', ':alarm_clock: This request has expired; nothing changed.', 'expired');
        case 'state':
          return answer(
            'invalid',
            `:information_source: This request is ${res.state}; nothing changed.`,
            res.state,
          );
        case 'already':
          return answer(
            'invalid',
            `:information_source: You already approved it (${res.count} of ${r.needed}); nothing changed.`,
            'already approved',
          );
        default:
          break;
      }
      const fresh = (await getRequest(s, id)) as MigrationRequest;
      if (res.result === 'approved' && fresh.runJob) {
        await d.queues.enqueue(
          MIGRATION_QUEUE,
          'run',
          { requestId: r.requestId, requester: r.requester, op: 'run', id },
          { jobId: fresh.runJob, ...runJobOptions(fresh), confirmBy: req.confirmBy },
        );
      }
      await editCard(d, fresh).catch((err) =>
        req.log.warn({ err: String(err) }, 'could not edit the approval card'),
      );
      return answer(
        'succeeded',
        res.result !== 'approved'
          ? `:ballot_box_with_check: Counted: ${res.count} of ${r.needed} approvals.`
          : r.kind === 'phase3'
            ? `:white_check_mark: Approved (${res.count} of ${r.needed}): phase 3 runs at the window start${d.clock.now() >= r.plan.windowStart ? ', which is now' : ''}.`
            : `:white_check_mark: Approved (${res.count} of ${r.needed}): deleting the ${r.plan.objects} objects under \`s3://${r.plan.bucket}/${r.plan.prefix}\` now; the card shows the progress.`,
        `${res.count} of ${r.needed}`,
      );
    },
  });
  registerAction(app, deps, {
    actionId: 'mig_reject',
    permission: () => 'migration.approve',
    async handle(click, _req, d) {
      const id = requestId(click.value);
      const r = await getRequest(mstore(d), id);
      if (!r || (r.state !== 'pending' && r.state !== 'approved')) {
        return {
          outcome: 'invalid',
          target: id,
          reply: { text: `:information_source: This request is ${r?.state ?? 'gone'}; nothing changed.` },
        };
      }
      await d.slack?.views.open({ trigger_id: click.triggerId, view: rejectModal(id) });
      return {
        outcome: 'requested',
        target: id,
        detail: 'reject modal opened',
        reply: { text: 'Give a reason (optional) and press Reject.' },
      };
    },
  });
  registerView(app, deps, {
    callbackId: 'mig_reject_submit',
    permission: () => 'migration.approve',
    async handle(view, req, d) {
      const id = requestId(view.private_metadata);
      const reason = (view.state.values.reason?.value?.value ?? '').trim().slice(0, 300);
      const t = await endRequest(d, mstore(d), id, ['pending', 'approved'], 'rejected', {
        rejectedBy: req.userId,
        reason,
      });
      if (!t.ok)
        return {
          outcome: 'invalid',
          target: id,
          reply: { text: `Request \`${id}\` is ${t.state}; nothing changed.` },
        };
      const r = (await getRequest(mstore(d), id)) as MigrationRequest;
      await d.queues
        .queue(MIGRATION_QUEUE)
        .remove(r.runJob ?? '')
        .catch(() => 0);
      await cancelCreated(d, req, r);
      await editCard(d, r).catch((err) =>
        req.log.warn({ err: String(err) }, 'could not edit the approval card'),
      );
      return {
        outcome: 'succeeded',
        target: id,
        detail: reason || undefined,
        reply: { text: `:no_entry: Rejected ${requestLabel(r)} \`${id}\`.` },
      };
    },
  });
  registerAction(app, deps, {
    actionId: 'mig_retry',
    permission: () => 'migration.recover',
    async handle(click, req, d) {
      const id = requestId(click.value);
      const s = mstore(d);
      const r = await getRequest(s, id);
      if (r?.kind !== 'phase3')
        throw new UserError('unknown_request', `phase-3 request ${id} no longer exists`);
      if (d.clock.now() >= r.plan.windowEnd) {
        return {
          outcome: 'invalid',
          target: id,
          reply: { text: ':alarm_clock: The window is over: roll back, or make a new request.' },
        };
      }
      const runJob = `mig-run-${id}-${r.retries + 1}`;
      const t = await transition(s, id, ['failed'], 'approved', { runJob, retries: String(r.retries + 1) });
      if (!t.ok)
        return {
          outcome: 'invalid',
          target: id,
          reply: { text: `:information_source: This request is ${t.state}; nothing changed.` },
        };
      await d.queues.enqueue(
        MIGRATION_QUEUE,
        'run',
        { requestId: r.requestId, requester: r.requester, op: 'run', id },
        { jobId: runJob, attempts: 1, confirmBy: req.confirmBy },
      );
      await editCard(d, (await getRequest(s, id)) as MigrationRequest).catch(() => undefined);
      return {
        outcome: 'queued',
        target: id,
        detail: `retry from step ${(r.failedStep ?? 0) + 1}`,
        reply: { text: `:repeat: Retrying phase 3 from step ${(r.failedStep ?? 0) + 1}.` },
      };
    },
  });
  registerAction(app, deps, {
    actionId: 'mig_rollback',
    permission: () => 'migration.recover',
    async handle(click, req, d) {
      const id = requestId(click.value);
      const r = await getRequest(mstore(d), id);
      if (r?.kind !== 'phase3' || r.state !== 'failed')
        return {
          outcome: 'invalid',
          target: id,
          reply: {
            text: `:information_source: This request is ${r?.state ?? 'gone'}; nothing to roll back from here.`,
          },
        };
      await d.queues.enqueue(
        MIGRATION_QUEUE,
        'rollback3',
        { requestId: req.requestId, requester: req.userId, op: 'rollback3', id },
        { jobId: `mig-rb3-${id}`, confirmBy: req.confirmBy },
      );
      return {
        outcome: 'queued',
        target: id,
        reply: { text: ':leftwards_arrow_with_hook: Queued: rolling back phase 3.' },
      };
    },
  });
  registerAction(app, deps, {
    actionId: 'mig_refresh',
    permission: () => 'migration',
    async handle(_click, req, d) {
      await d.queues.enqueue(
        MIGRATION_QUEUE,
        'status',
        { requestId: req.requestId, requester: req.userId, op: 'status' },
        { jobId: `mig-status-${req.requestId}`, confirmBy: req.confirmBy },
      );
      return { outcome: 'queued', reply: { text: 'Refreshing the status card.' } };
    },
  });
}
