// The dumps processor (for the job registry only): a `tick` queues its fire's check, a `check` runs
// the check of each named dump job and raises or resolves its alert of the day, a cron host's
// `report` raises one, a `refresh` re-renders one after a click.
import { S3Client } from '@aws-sdk/client-s3';
import type { Job } from 'bullmq';
import { lastFire } from '../../infra/cron.js';
import { isSlackUnavailable } from '../../infra/notifier.js';
import { formatLocal } from '../../infra/times.js';
import type { JobContext, JobKind } from '../common.js';
import { seenText } from './alert-card.js';
import { dumpStore, raise, refresh, resolve } from './alerts.js';
import { listDumpRange } from './aws.js';
import { type CheckOutcome, type DumpJobConfig, dayOf, dumpJob, judge, renderKey } from './check.js';
import { type CheckReason, DUMPS_QUEUE, type DumpsData, type DumpsResult, scheduledCheckId } from './data.js';
import { fireTimeOf, queueCheckAt, syncDumpSchedulers } from './schedule.js';
import { type Finding, saveLastCheck } from './store.js';

/** A job whose Slack calls failed because Slack was away is tried again after at most this long. */
const SLACK_RETRY_CAP_MS = 60_000;

export { DUMPS_QUEUE } from './data.js';

/** Runs the check of one dump job for the cron time `fireAt`, records it, and raises or resolves. */
async function checkOne(
  ctx: JobContext<DumpsData>,
  cfg: DumpJobConfig,
  reason: CheckReason,
  fireAt: number,
  checkId: string,
  requester: string,
): Promise<{ outcome: CheckOutcome; alert?: string; resolved: boolean; withinGrace: boolean }> {
  const { deps } = ctx;
  const dumps = deps.config.dumps;
  if (!dumps) throw new Error('dumps is not configured');
  const zone = deps.config.timezone;
  const day = dayOf(fireAt, zone);
  const dueAt = fireAt + cfg.graceMinutes * 60_000;
  const s3 = deps.aws.client(S3Client, dumps.account, requester);
  const objects = await listDumpRange(s3, dumps.bucket, cfg, day);
  const now = deps.clock.now();
  const outcome = judge(cfg, day, objects, now, dueAt);
  await saveLastCheck(dumpStore(deps), cfg.name, {
    at: now,
    reason,
    verdict: outcome.verdict,
    day,
    objectKey: outcome.newest?.key,
    objectDay: outcome.newest?.day,
    objectSize: outcome.newest?.size,
    median: outcome.finding.median,
  });
  if (outcome.verdict === 'ok') {
    const resolved = await resolve(ctx, cfg, day, outcome.finding);
    return { outcome, resolved, withinGrace: false };
  }
  // Someone asking before the grace is over learns the state; it is not an alert yet.
  const withinGrace = reason === 'manual' && now < dueAt;
  if (withinGrace) return { outcome, resolved: false, withinGrace };
  const alert = await raise(ctx, cfg, fireAt, outcome.finding, checkId);
  return { outcome, alert, resolved: false, withinGrace };
}

function resultLine(
  cfg: DumpJobConfig,
  r: { outcome: CheckOutcome; alert?: string; resolved: boolean; withinGrace: boolean },
  zone: string,
  alerts: string | undefined,
): string {
  const f = r.outcome.finding;
  const head = `*${cfg.name}* ${r.outcome.day}:`;
  if (r.outcome.verdict === 'ok') {
    return `:white_check_mark: ${head} ${seenText(f, zone)}${r.resolved ? '; its alert is resolved' : ''}`;
  }
  const where = alerts ? ` in <#${alerts}>` : '';
  const tail = r.withinGrace
    ? ` (still within the grace time until ${formatLocal(f.dueAt, zone)}: no alert yet)`
    : `; alert raised or updated${where}`;
  return `:x: ${head} ${seenText(f, zone)}; expected \`${f.expectedKey}…\`${tail}`;
}

async function runCheck(
  job: Job<DumpsData, DumpsResult>,
  ctx: JobContext<DumpsData>,
  d: Extract<DumpsData, { kind: 'check' }>,
): Promise<DumpsResult> {
  const { deps } = ctx;
  const zone = deps.config.timezone;
  const lines: string[] = [];
  const texts: string[] = [];
  for (const name of d.jobs) {
    const cfg = dumpJob(deps.config, name);
    if (!cfg) {
      lines.push(`${name}: no longer configured`);
      texts.push(`:grey_question: *${name}* is no longer configured; not checked.`);
      continue;
    }
    const fireAt = d.fireAt ?? lastFire(cfg.cron, zone, deps.clock.now());
    const r = await checkOne(ctx, cfg, d.reason, fireAt, `${job.id}/${name}`, d.requester);
    lines.push(
      `${name} ${r.outcome.day}: ${r.outcome.verdict}${r.alert ? ` (${r.alert})` : ''}${r.resolved ? ' (resolved)' : ''}`,
    );
    texts.push(resultLine(cfg, r, zone, deps.config.channels.alerts));
  }
  if (d.reason === 'manual') {
    // Slack truncates a message's text past 40,000 characters: the failures first, then a count.
    const ordered = [
      ...texts.filter((t) => !t.startsWith(':white_check_mark:')),
      ...texts.filter((t) => t.startsWith(':white_check_mark:')),
    ];
    const shown: string[] = [];
    let size = 0;
    for (const t of ordered) {
      if (size + t.length > 30_000) break;
      shown.push(t);
      size += t.length + 1;
    }
    const rest = ordered.length - shown.length;
    await ctx.report(
      `*Dump check*\n${shown.join('\n')}${rest ? `\n…and ${rest} more (\`/dumps status\` lists them)` : ''}`,
    );
  }
  return { kind: 'check', lines };
}

export const dumpsJob: JobKind<DumpsData, DumpsResult> = {
  queue: DUMPS_QUEUE,
  action: 'dumps.check',
  describe(d) {
    switch (d.kind) {
      case 'tick':
        return `tick ${d.job}`;
      case 'check': {
        const names =
          d.jobs.length > 3 ? `${d.jobs.slice(0, 3).join(',')}+${d.jobs.length - 3}` : d.jobs.join(',');
        const at = d.fireAt === undefined ? '' : ` @${new Date(d.fireAt).toISOString()}`;
        return `check ${names} (${d.reason}${at})`;
      }
      case 'report':
        return `report ${d.job}`;
      default:
        return `refresh ${d.alertId}`;
    }
  },
  summarize: (r) => r.lines.join('; ').slice(0, 500),
  async onWorkerStart(deps) {
    const { upserted, removed } = await syncDumpSchedulers(deps);
    if (upserted.length || removed.length)
      deps.logger.info({ upserted, removed }, 'dump check schedulers synced');
  },
  async run(job, ctx) {
    try {
      return await runDumps(job, ctx);
    } catch (err) {
      // Slack away (5xx, timeouts, 429s past their wait): the alert must not be lost to the outage, so
      // the job keeps trying (backoff capped at a minute) whatever `jobs.attempts` says. Its claims were
      // released; the retry finds what it recorded (same check id) and posts or edits once.
      if (isSlackUnavailable(err)) return ctx.retryLater(err, SLACK_RETRY_CAP_MS);
      throw err;
    }
  },
};

async function runDumps(job: Job<DumpsData, DumpsResult>, ctx: JobContext<DumpsData>): Promise<DumpsResult> {
  const d = job.data;
  const { deps } = ctx;
  if (d.kind === 'tick') {
    const cfg = dumpJob(deps.config, d.job);
    if (!cfg) return { kind: 'tick', lines: [`${d.job}: no longer configured`] };
    const fireAt = fireTimeOf(job);
    const runAt = fireAt + cfg.graceMinutes * 60_000;
    await queueCheckAt(deps, scheduledCheckId(cfg.name, fireAt), {
      job: cfg.name,
      reason: 'scheduled',
      fireAt,
      runAt,
    });
    return {
      kind: 'tick',
      lines: [`${cfg.name}: check queued for ${new Date(runAt).toISOString()}`],
    };
  }
  if (d.kind === 'check') return runCheck(job, ctx, d);
  if (d.kind === 'report') {
    const cfg = dumpJob(deps.config, d.job);
    if (!cfg) return { kind: 'report', lines: [`${d.job}: no longer configured`] };
    const zone = deps.config.timezone;
    const fireAt = lastFire(cfg.cron, zone, d.at);
    const finding: Finding = {
      verdict: 'reported-failed',
      at: d.at,
      source: 'report',
      expectedKey: cfg.prefix + renderKey(cfg.keyPattern, cfg.name, dayOf(fireAt, zone)),
      dueAt: fireAt + cfg.graceMinutes * 60_000,
      exitCode: d.exitCode,
      message: d.message,
    };
    const id = await raise(ctx, cfg, fireAt, finding, String(job.id));
    return { kind: 'report', lines: [`${cfg.name}: reported failed (${id})`] };
  }
  await refresh(ctx, d.alertId);
  return { kind: 'refresh', lines: [d.alertId] };
}
