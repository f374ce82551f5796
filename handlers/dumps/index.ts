import type { App } from '@slack/bolt';
import {
  type BotDeps,
  type CommandSpec,
  type Outcome,
  registerAction,
  registerCommand,
} from '../../bot/listeners.js';
import type { RequestContext } from '../../bot/middleware.js';
import { nextFire } from '../../infra/cron.js';
import { UserError } from '../../infra/errors.js';
import { quoteSlack } from '../../infra/slack-text.js';
import { formatLocal } from '../../infra/times.js';
import { formatBytes } from '../../jobs/dumps/alert-card.js';
import { dumpJob } from '../../jobs/dumps/check.js';
import { DUMPS_QUEUE } from '../../jobs/dumps/job.js';
import {
  ALERT_ID,
  ackAlert,
  type DumpAlert,
  type DumpStore,
  getAlert,
  getLastCheck,
} from '../../jobs/dumps/store.js';

const USAGE = '`/dumps [status | check [job]]`';
const JOB_NAME = /^[\w.-]{1,100}$/;
/** /dumps status lists at most this many jobs (a Slack message has its limits). */
const STATUS_MAX_JOBS = 40;

export type DumpsArgs = { sub: 'status' } | { sub: 'check'; job?: string };

/** Parses `/dumps` arguments (syntax only; the job is looked up in execute). */
export function parseDumpsArgs(text: string): DumpsArgs {
  const [sub = 'status', ...rest] = text.split(/\s+/).filter(Boolean);
  if (sub === 'status' && rest.length === 0) return { sub: 'status' };
  if (sub === 'check' && rest.length <= 1) {
    const job = rest[0];
    if (job !== undefined && !JOB_NAME.test(job))
      throw new UserError('usage', `"${quoteSlack(job, 40)}" is not a dump job name`);
    return job === undefined ? { sub: 'check' } : { sub: 'check', job };
  }
  throw new UserError('usage', `unknown subcommand "${quoteSlack(text.trim(), 40)}"`);
}

function store(deps: BotDeps): DumpStore {
  return { redis: deps.redis, prefix: deps.env.CHATOPS_REDIS_PREFIX };
}

function dumpsConfig(deps: BotDeps) {
  const d = deps.config.dumps;
  if (!d?.jobs.length)
    throw new UserError('not_configured', "no dump jobs are configured: add dumps.jobs to the bot's config");
  return d;
}

function alertText(a: DumpAlert, alerts: string | undefined): string {
  const where = alerts ? ` in <#${alerts}>` : '';
  const who = a.state === 'acked' && a.ackedBy ? `, acknowledged by <@${a.ackedBy}>` : '';
  const window = a.windowId ? `, during \`${a.windowId}\`` : '';
  return `open alert for ${a.day} (${a.count} failure${a.count === 1 ? '' : 's'}${who}${window})${where}`;
}

async function status(deps: BotDeps): Promise<Outcome> {
  const dumps = dumpsConfig(deps);
  const zone = deps.config.timezone;
  const now = deps.clock.now();
  const s = store(deps);
  const jobs = dumps.jobs.slice(0, STATUS_MAX_JOBS);
  const lines = await Promise.all(
    jobs.map(async (j) => {
      const last = await getLastCheck(s, j.name);
      const alert = last?.alertId ? await getAlert(s, last.alertId) : undefined;
      const grace = j.graceMinutes * 60_000;
      const next = nextFire(j.cron, zone, now - grace) + grace;
      const object =
        last?.objectDay && last.objectSize !== undefined
          ? `last object ${last.objectDay}, ${formatBytes(last.objectSize)}${
              last.median
                ? ` (${Math.round((last.objectSize / last.median) * 100)} % of the 7-day median ${formatBytes(last.median)})`
                : ''
            }`
          : 'no object seen yet';
      const checked = last?.at
        ? `last check ${formatLocal(last.at, zone)}: ${last.verdict} (${quoteSlack(last.reason, 300)})`
        : 'not checked yet';
      const open =
        alert && alert.state !== 'resolved' ? alertText(alert, deps.config.channels.alerts) : 'no open alert';
      return `• *${quoteSlack(j.name, 100)}* (\`${j.cron}\` + ${j.graceMinutes} min): ${object}; ${checked}; ${open}; next check ${formatLocal(next, zone)}`;
    }),
  );
  const more = dumps.jobs.length > jobs.length ? `\n…and ${dumps.jobs.length - jobs.length} more jobs` : '';
  return {
    outcome: 'succeeded',
    reply: { text: `*Dump checks* (s3://${dumps.bucket}, times in ${zone})\n${lines.join('\n')}${more}` },
  };
}

async function check(job: string | undefined, req: RequestContext, deps: BotDeps): Promise<Outcome> {
  const dumps = dumpsConfig(deps);
  if (job !== undefined && !dumpJob(deps.config, job)) {
    throw new UserError(
      'unknown_job',
      `there is no dump job "${quoteSlack(job, 100)}"; configured: ${dumps.jobs.map((j) => quoteSlack(j.name, 100)).join(', ')}`,
    );
  }
  const jobs = job === undefined ? dumps.jobs.map((j) => j.name) : [job];
  const jobId = `dm-${req.requestId}`;
  const res = await deps.queues.enqueue(
    DUMPS_QUEUE,
    'check',
    { kind: 'check', jobs, reason: 'manual', requestId: req.requestId, requester: req.userId },
    { jobId, dedupKey: `dm-${job ?? '*'}-${req.userId}`, confirmBy: req.confirmBy },
  );
  const what = job ?? `all ${jobs.length} dump jobs`;
  if (res.status === 'finished') {
    return {
      outcome: 'invalid',
      target: what,
      detail: `already ${res.state}`,
      reply: {
        text: `:information_source: This check already ran (job ${res.id}); its result went to your DM.`,
      },
    };
  }
  if (res.status === 'duplicate') {
    return {
      outcome: 'invalid',
      target: what,
      detail: 'duplicate',
      reply: {
        text: `:hourglass: A check of ${what} you asked for is already queued or running; its result comes to you in a DM.`,
      },
    };
  }
  return {
    outcome: 'queued',
    target: what,
    reply: { text: `:mag: Checking ${what} now; the result comes to you in a DM.` },
  };
}

export const dumpsCommand: CommandSpec<DumpsArgs> = {
  command: '/dumps',
  usage: USAGE,
  help: [
    {
      action: 'dumps',
      line: '`/dumps [status | check [job]]`: database dump health (last object, last and next check, open alert); run a check now',
    },
  ],
  parse: (text) => parseDumpsArgs(text),
  permission: () => 'dumps',
  execute: (a, req, deps) => (a.sub === 'status' ? status(deps) : check(a.job, req, deps)),
};

function alertIdOf(value: string): string {
  if (!ALERT_ID.test(value)) throw new UserError('unknown_alert', 'that button does not name a dump alert');
  return value;
}

/** Acknowledge: records who, drops the mention; the message is edited by a worker. */
async function acknowledge(value: string, req: RequestContext, deps: BotDeps): Promise<Outcome> {
  const id = alertIdOf(value);
  const r = await ackAlert(store(deps), id, req.userId, deps.clock.now());
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
async function recheck(value: string, req: RequestContext, deps: BotDeps): Promise<Outcome> {
  const id = alertIdOf(value);
  const a = await getAlert(store(deps), id);
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

/** Registers /dumps and the alert's Acknowledge and Re-check buttons. */
export function register(app: App, deps: BotDeps): void {
  registerCommand(app, deps, dumpsCommand);
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
