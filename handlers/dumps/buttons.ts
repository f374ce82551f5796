// The dump alert's buttons: Acknowledge (records who; a worker edits the message) and Re-check (runs
// the alert's check now). Button values are alert ids; the state is in Redis.
import type { App } from '@slack/bolt';
import { type BotDeps, type Outcome, registerAction } from '../../bot/listeners.js';
import type { RequestContext } from '../../bot/middleware.js';
import { UserError } from '../../infra/errors.js';
import { quoteSlack } from '../../infra/slack-text.js';
import { ALERT_ID, ackAlert, DUMPS_QUEUE, dumpJob, getAlert } from '../../jobs/dumps/index.js';
import { dumpStore } from './command.js';

function alertIdOf(value: string): string {
  if (!ALERT_ID.test(value)) throw new UserError('unknown_alert', 'that button does not name a dump alert');
  return value;
}

/** Acknowledge: records who, drops the mention; the message is edited by a worker. */
export async function acknowledge(value: string, req: RequestContext, deps: BotDeps): Promise<Outcome> {
  const id = alertIdOf(value);
  const r = await ackAlert(dumpStore(deps), id, req.userId, deps.clock.now());
  if (r.result === 'already') {
    return {
      outcome: 'invalid',
      target: id,
      detail: 'already acknowledged',
      reply: {
        text: `:information_source: This alert was already acknowledged by <@${r.by}>; nothing changed.`,
      },
    };
  }
  if (r.result !== 'ok') {
    const why = r.result === 'resolved' ? 'is already resolved' : 'no longer exists';
    return {
      outcome: 'invalid',
      target: id,
      detail: r.result,
      reply: { text: `:information_source: This alert ${why}; nothing changed.` },
    };
  }
  const jobId = `dref-${id}-${req.requestId}`;
  await deps.queues.enqueue(
    DUMPS_QUEUE,
    'refresh',
    { kind: 'refresh', alertId: id, requestId: req.requestId, requester: req.userId },
    { jobId, confirmBy: req.confirmBy },
  );
  return {
    outcome: 'succeeded',
    target: id,
    reply: { text: `:eyes: Acknowledged \`${id}\`: the alert no longer mentions anyone.` },
  };
}

/** Re-check: runs the alert's check now; the alert message shows the outcome. */
export async function recheck(value: string, req: RequestContext, deps: BotDeps): Promise<Outcome> {
  const id = alertIdOf(value);
  const a = await getAlert(dumpStore(deps), id);
  if (!a)
    return {
      outcome: 'invalid',
      target: id,
      detail: 'gone',
      reply: { text: ':information_source: This alert no longer exists; nothing was checked.' },
    };
  if (!dumpJob(deps.config, a.job)) {
    throw new UserError('unknown_job', `the dump job "${quoteSlack(a.job, 100)}" is no longer configured`);
  }
  const res = await deps.queues.enqueue(
    DUMPS_QUEUE,
    'check',
    {
      kind: 'check',
      jobs: [a.job],
      reason: 'recheck',
      fireAt: a.fireAt,
      requestId: req.requestId,
      requester: req.userId,
    },
    { jobId: `drc-${id}-${req.requestId}`, dedupKey: `drc-${id}`, confirmBy: req.confirmBy },
  );
  if (res.status !== 'queued') {
    return {
      outcome: 'invalid',
      target: id,
      detail: res.status,
      reply: {
        text:
          res.status === 'finished'
            ? ':information_source: This re-check already ran; the alert message shows its result.'
            : ':hourglass: A re-check of this alert is already queued or running.',
      },
    };
  }
  return {
    outcome: 'queued',
    target: id,
    reply: {
      text: `:mag: Re-checking *${quoteSlack(a.job, 100)}* for ${a.day}; the alert message shows the result.`,
    },
  };
}

/** Registers the alert's Acknowledge and Re-check buttons. */
export function registerAlertButtons(app: App, deps: BotDeps): void {
  registerAction(app, deps, {
    actionId: 'dump_ack',
    permission: () => 'dumps.ack',
    handle: (click, req, d) => acknowledge(click.value, req, d),
  });
  registerAction(app, deps, {
    actionId: 'dump_recheck',
    permission: () => 'dumps',
    handle: (click, req, d) => recheck(click.value, req, d),
  });
}
