// /dumps: `status` answers from Redis at once (each job's last object, last and next check, open
// alert); `check` queues a check of one job or all, whose result goes to the requester's DM.
import type { BotDeps, CommandSpec, Outcome } from '../../bot/listeners.js';
import type { RequestContext } from '../../bot/middleware.js';
import { nextFire } from '../../infra/cron.js';
import { UserError } from '../../infra/errors.js';
import { quoteSlack } from '../../infra/slack-text.js';
import { formatLocal } from '../../infra/times.js';
import {
  DUMPS_QUEUE,
  type DumpAlert,
  type DumpStore,
  dumpJob,
  formatBytes,
  getAlert,
  getLastCheck,
} from '../../jobs/dumps/index.js';
import { type DumpsArgs, parseDumpsArgs, USAGE } from './parse.js';

/** /dumps status lists at most this many jobs (a Slack message has its limits). */
const STATUS_MAX_JOBS = 40;

/** The alert store of this deployment. */
export function dumpStore(deps: BotDeps): DumpStore {
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
  const s = dumpStore(deps);
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
