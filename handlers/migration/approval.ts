// The approval card's buttons (Approve, Reject and its reason modal, Retry, Roll back) and the
// status card's Refresh: each click authorised at the moment of the click, answered and audited.
import type { App } from '@slack/bolt';
import type { View } from '@slack/types';
import { type BotDeps, type Outcome, registerAction, registerView } from '../../bot/listeners.js';
import type { RequestContext } from '../../bot/middleware.js';
import { UserError } from '../../infra/errors.js';
import { cancelWithNotice } from '../../jobs/maintenance.js';
import {
  approvalCardOf,
  approve,
  currentPlanHash,
  endRequest,
  getRequest,
  kindOf,
  MIGRATION_QUEUE,
  type MigrationRequest,
  REQUEST_ID,
  requestLabel,
  runJobOptions,
  transition,
} from '../../jobs/migration/index.js';
import { mstore } from './command.js';

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
export function registerApprovals(app: App, deps: BotDeps): void {
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
