// The approval card's buttons (Approve, Reject and its reason modal, Retry, Roll back) and the
// status card's Refresh: each click authorised at the moment of the click, answered and audited.
// Every change goes through jobs/migration's request operations (a store transition, then its
// follow-up); a click that would start a second operation on a request is answered and changes nothing.
import type { App } from '@slack/bolt';
import type { View } from '@slack/types';
import { type BotDeps, type Outcome, registerAction, registerView } from '../../bot/listeners.js';
import { UserError } from '../../infra/errors.js';
import {
  approveRequest,
  getRequest,
  kindOf,
  MIGRATION_QUEUE,
  REQUEST_ID,
  type RollbackOutcome,
  readRequest,
  rejectRequest,
  requestLabel,
  retryRequest,
  rollbackRequest,
} from '../../jobs/migration/index.js';
import { coreFor, mstore } from './core.js';

function requestId(value: string): string {
  if (!REQUEST_ID.test(value))
    throw new UserError('bad_button', 'that button does not name a migration request');
  return value;
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

const answer = (id: string, outcome: Outcome['outcome'], text: string, detail?: string): Outcome => ({
  outcome,
  target: id,
  detail,
  reply: { text },
});

/** A click on a request whose state it does not apply to. */
const stateAnswer = (id: string, state: string): Outcome =>
  answer(id, 'invalid', `:information_source: This request is ${state}; nothing changed.`, state);

/** The answer to a Roll back (button or command). */
export function rollbackAnswer(res: RollbackOutcome, target?: string): Outcome {
  switch (res.result) {
    case 'queued':
      return {
        outcome: 'queued',
        target: res.id ?? target,
        reply: {
          text: `:leftwards_arrow_with_hook: Queued: rolling back phase 3 (disassociate the instance profile from \`${res.instanceId}\`, make sure it runs).`,
        },
      };
    case 'state':
      return answer(
        res.id,
        'invalid',
        res.state === 'failed' || res.state === 'rolling-back'
          ? `:information_source: Phase-3 request \`${res.id}\` is ${res.state}; nothing changed.`
          : `:information_source: Phase-3 request \`${res.id}\` is ${res.state}: one operation at a time, so nothing is rolled back from here (nothing changed).`,
        res.state,
      );
    case 'busy':
      return {
        outcome: 'invalid',
        target,
        detail: `busy: ${res.holder}`,
        reply: {
          text: `:hourglass: Another operation (\`${res.holder}\`) holds the instance right now; nothing changed. Try again when it is over.`,
        },
      };
  }
}

/** Registers the approval card's buttons, the reject modal and the status card's refresh. */
export function registerApprovals(app: App, deps: BotDeps): void {
  registerAction(app, deps, {
    actionId: 'mig_approve',
    permission: () => 'migration.approve',
    async handle(click, req, d) {
      const id = requestId(click.value);
      const res = await approveRequest(coreFor(d, req), id, { requestId: req.requestId, user: req.userId });
      if (res.result === 'gone') throw new UserError('unknown_request', `request ${id} no longer exists`);
      const r = res.request;
      const quorum = d.config.migration?.approvals ?? r.needed;
      switch (res.result) {
        case 'own':
          return answer(
            id,
            'denied',
            ':no_entry: You requested this; someone else must approve it.',
            'own request',
          );
        case 'not-approver':
          return answer(
            id,
            'denied',
            ':no_entry: Only people who hold approver now can approve this.',
            'not an approver',
          );
        case 'plan':
          return answer(
            id,
            'invalid',
            `:warning: The plan changed since this card was posted (${r.kind === 'phase3' ? 'config, instance, profile or window' : 'config, bucket or prefix'}), so approvals no longer count. Make a new request.`,
            'plan changed',
          );
        case 'expired':
          return answer(id, 'invalid', ':alarm_clock: This request has expired; nothing changed.', 'expired');
        case 'window-cancelled':
          return answer(
            id,
            'invalid',
            ':no_entry_sign: Its maintenance window was cancelled; nothing changed.',
            'window cancelled',
          );
        case 'state':
          return stateAnswer(id, res.state);
        case 'already':
          return answer(
            id,
            'invalid',
            `:information_source: You already approved it (${res.count} of ${quorum}); nothing changed.`,
            'already approved',
          );
        case 'counted':
          return answer(
            id,
            'succeeded',
            `:ballot_box_with_check: Counted: ${res.count} of ${quorum} approvals.`,
            `${res.count} of ${quorum}`,
          );
        case 'approved':
          return answer(
            id,
            'succeeded',
            r.kind === 'phase3'
              ? `:white_check_mark: Approved (${res.count} of ${quorum}): phase 3 runs at the window start${d.clock.now() >= r.plan.windowStart ? ', which is now' : ''}.`
              : `:white_check_mark: Approved (${res.count} of ${quorum}): deleting the ${r.plan.objects} objects under \`s3://${r.plan.bucket}/${r.plan.prefix}\` now; the card shows the progress.`,
            `${res.count} of ${quorum}`,
          );
      }
    },
  });
  registerAction(app, deps, {
    actionId: 'mig_reject',
    permission: () => 'migration.approve',
    async handle(click, _req, d) {
      const id = requestId(click.value);
      const r = await readRequest(mstore(d), id);
      if (!r || (r.state !== 'pending' && r.state !== 'approved')) {
        return answer(
          id,
          'invalid',
          `:information_source: This request is ${r?.state ?? 'gone'}; nothing changed.`,
        );
      }
      await d.slack?.views.open({ trigger_id: click.triggerId, view: rejectModal(id) });
      return answer(id, 'requested', 'Give a reason (optional) and press Reject.', 'reject modal opened');
    },
  });
  registerView(app, deps, {
    callbackId: 'mig_reject_submit',
    permission: () => 'migration.approve',
    async handle(view, req, d) {
      const id = requestId(view.private_metadata);
      const reason = (view.state.values.reason?.value?.value ?? '').trim().slice(0, 300);
      const res = await rejectRequest(
        coreFor(d, req),
        id,
        { requestId: req.requestId, user: req.userId },
        reason,
      );
      if (!res.ok) return answer(id, 'invalid', `Request \`${id}\` is ${res.state}; nothing changed.`);
      return {
        outcome: 'succeeded',
        target: id,
        detail: reason || undefined,
        reply: { text: `:no_entry: Rejected ${requestLabel(res.request)} \`${id}\`.` },
      };
    },
  });
  registerAction(app, deps, {
    actionId: 'mig_retry',
    permission: () => 'migration.recover',
    async handle(click, req, d) {
      const id = requestId(click.value);
      const r = await getRequest(mstore(d), id, 'phase3');
      const res = await retryRequest(coreFor(d, req), r);
      switch (res.result) {
        case 'queued':
          return answer(
            id,
            'queued',
            `:repeat: Retrying phase 3 from step ${(r.failedStep ?? 0) + 1}.`,
            `retry from step ${(r.failedStep ?? 0) + 1}`,
          );
        case 'plan':
          return answer(
            id,
            'invalid',
            `:warning: The plan changed since the approvals (${res.changes.join('; ') || 'its steps or window'}): a retry would run an unapproved plan, so nothing runs. Roll back, or make a new request.`,
            'plan changed',
          );
        case 'window':
          return answer(
            id,
            'invalid',
            res.detail === 'cancelled'
              ? ':no_entry_sign: The window was cancelled: roll back, or make a new request.'
              : ':alarm_clock: The window is over: roll back, or make a new request.',
            `window ${res.detail}`,
          );
        case 'state':
          return stateAnswer(id, res.detail);
      }
    },
  });
  registerAction(app, deps, {
    actionId: 'mig_rollback',
    permission: () => 'migration.recover',
    async handle(click, req, d) {
      const id = requestId(click.value);
      const r = await readRequest(mstore(d), id);
      if (r?.kind !== 'phase3')
        return answer(
          id,
          'invalid',
          `:information_source: This request is ${r?.state ?? 'gone'}; nothing to roll back from here.`,
        );
      return rollbackAnswer(
        await rollbackRequest(coreFor(d, req), r, { requestId: req.requestId, user: req.userId }),
        id,
      );
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
