// Dump checks: one BullMQ job scheduler per configured dump job fires a `tick` on its cron in the
// configured time zone; the tick queues the `check` as a delayed job at the cron time plus the grace,
// with an id made of the job and the fire time, so each fire is checked once however many workers
// run (BullMQ itself creates one tick per fire: `repeat:<scheduler>:<millis>`). Checks, cron host
// reports (`report`) and clicks (`refresh`) raise, edit and resolve one alert per job per day.
import { S3Client } from '@aws-sdk/client-s3';
import type { Job } from 'bullmq';
import { lastFire } from '../../infra/cron.js';
import { isSlackUnavailable } from '../../infra/notifier.js';
import { formatLocal } from '../../infra/times.js';
import {
  type BaseJobData,
  type JobContext,
  type JobKind,
  type WorkerDeps,
  whileRenewing,
} from '../common.js';
import { activeWindows } from '../maintenance-store.js';
import { alertCard, notifyReply, resolvedReply, seenText } from './alert-card.js';
import {
  type CheckOutcome,
  type DumpJobConfig,
  dayOf,
  dumpJob,
  judge,
  listDumpRange,
  renderKey,
} from './check.js';
import {
  alertId,
  CLAIM_STALE_MS,
  clearOpenAlert,
  type DumpStore,
  type Finding,
  getAlert,
  markMentioned,
  markResolvePosted,
  type RaiseAction,
  raiseAlert,
  releasePost,
  renewClaim,
  resolveAlert,
  saveLastCheck,
  setAlertMessage,
  setOpenAlert,
} from './store.js';

export const DUMPS_QUEUE = 'dumps';
/** Job scheduler ids are `dump-<job name>`; others in the queue are not ours to remove. */
export const SCHEDULER_PREFIX = 'dump-';
/** Who scheduled work is attributed to in the audit trail and in AWS session names. */
export const SCHEDULER_USER = 'scheduler';
/** A job whose Slack calls failed because Slack was away is tried again after at most this long. */
const SLACK_RETRY_CAP_MS = 60_000;

export type CheckReason = 'scheduled' | 'manual' | 'recheck' | 'report-ok' | 'window-end';

export type DumpsData =
  | (BaseJobData & { kind: 'tick'; job: string })
  | (BaseJobData & { kind: 'check'; jobs: string[]; reason: CheckReason; fireAt?: number })
  | (BaseJobData & { kind: 'report'; job: string; exitCode?: number; message?: string; at: number })
  | (BaseJobData & { kind: 'refresh'; alertId: string });

export interface DumpsResult {
  kind: DumpsData['kind'];
  /** One short line per dump job (no secrets: names, verdicts, sizes). */
  lines: string[];
}

export function schedulerId(job: string): string {
  return `${SCHEDULER_PREFIX}${job}`;
}

/** The job id of the check of one fire: the same from every tick of that fire. */
export function scheduledCheckId(job: string, fireAt: number): string {
  return `dc-${job}-${fireAt}`;
}

function store(deps: WorkerDeps): DumpStore {
  return { redis: deps.redis, prefix: deps.prefix };
}

/** Runs a Slack call for alert `id` while keeping its claim fresh: a long wait (429s) never makes it stale. */
function holding<T>(
  ctx: JobContext<DumpsData>,
  id: string,
  claim: 'post' | 'notify' | 'resolve',
  work: () => Promise<T>,
): Promise<T> {
  const { deps } = ctx;
  return whileRenewing(
    () => renewClaim(store(deps), id, claim, deps.clock.now()),
    CLAIM_STALE_MS / 3,
    work,
    ctx.log,
  );
}

/** The cron time a tick stands for: BullMQ names scheduler jobs `repeat:<scheduler id>:<millis>`. */
export function fireTimeOf(job: Pick<Job, 'id' | 'timestamp' | 'opts'>): number {
  const m = /:(\d+)$/.exec(job.id ?? '');
  if (m) return Number(m[1]);
  return (job.opts as { prevMillis?: number }).prevMillis ?? job.timestamp;
}

/**
 * Makes the queue's job schedulers match the config: one per dump job with its cron in the time zone;
 * changed ones are upserted, ones for jobs no longer configured removed. Run at every worker start.
 */
export async function syncDumpSchedulers(
  deps: WorkerDeps,
): Promise<{ upserted: string[]; removed: string[] }> {
  const q = deps.queues.queue(DUMPS_QUEUE);
  const zone = deps.config.timezone;
  const wanted = new Map((deps.config.dumps?.jobs ?? []).map((j) => [schedulerId(j.name), j]));
  const existing = await q.getJobSchedulers(0, -1, true);
  const removed: string[] = [];
  for (const s of existing) {
    if (s.key.startsWith(SCHEDULER_PREFIX) && !wanted.has(s.key)) {
      await q.removeJobScheduler(s.key);
      removed.push(s.key);
    }
  }
  const upserted: string[] = [];
  for (const [id, j] of wanted) {
    const s = existing.find((e) => e.key === id);
    if (s && s.pattern === j.cron && s.tz === zone) continue;
    const data: DumpsData = { kind: 'tick', job: j.name, requestId: id, requester: SCHEDULER_USER };
    await q.upsertJobScheduler(id, { pattern: j.cron, tz: zone }, { name: 'tick', data });
    upserted.push(id);
  }
  return { upserted, removed };
}

/** The Slack side of a raise: post the alert, edit it, or edit it and post the normal alert in its thread. */
async function publish(ctx: JobContext<DumpsData>, id: string, action: RaiseAction): Promise<void> {
  const { deps } = ctx;
  const s = store(deps);
  const opts = { zone: deps.config.timezone, mention: deps.config.dumps?.mention };
  if (action === 'wait') return; // the worker posting it re-renders after its post
  if (action === 'post') {
    const channel = deps.config.channels.alerts;
    const a = await getAlert(s, id);
    if (!a) return;
    if (!channel) {
      await releasePost(s, id);
      ctx.log.error({ alertId: id }, 'dump alert not posted: channels.alerts is not configured');
      return;
    }
    const card = alertCard(a, opts);
    let ref: { channel: string; ts: string };
    try {
      // Looks first: a post claim taken over from a worker that died may have reached Slack.
      ref = await holding(ctx, id, 'post', () =>
        deps.notifier.postOnce(
          { channel, text: card.text, blocks: card.blocks },
          { key: `${id}/alert`, lookFirst: true },
        ),
      );
    } catch (err) {
      await releasePost(s, id);
      throw err;
    }
    if (!(await setAlertMessage(s, id, ref, a.state === 'open' && !a.windowId))) {
      ctx.log.warn({ alertId: id }, 'a second alert message was posted after a stale post claim');
    }
    await refresh(ctx, id, a.version);
    return;
  }
  await refresh(ctx, id);
  if (action === 'notify') {
    const a = await getAlert(s, id);
    if (!a?.ts || !a.channel) return;
    try {
      const { channel, ts } = a;
      await holding(ctx, id, 'notify', () =>
        deps.notifier.postOnce(
          { channel, text: notifyReply(a, opts), threadTs: ts, broadcast: true },
          { key: `${id}/notify`, lookFirst: true },
        ),
      );
    } catch (err) {
      await markMentioned(s, id, false);
      throw err;
    }
    await markMentioned(s, id, true);
  }
}

/** Re-renders the alert message from Redis until what Slack shows is the latest version (at most 3 edits). */
async function refresh(ctx: JobContext<DumpsData>, id: string, shown?: number): Promise<void> {
  const { deps } = ctx;
  const opts = { zone: deps.config.timezone, mention: deps.config.dumps?.mention };
  let rendered = shown;
  for (let i = 0; i < 3; i++) {
    const a = await getAlert(store(deps), id);
    if (!a?.ts || !a.channel || a.version === rendered) return;
    const card = alertCard(a, opts);
    await deps.notifier.update({ channel: a.channel, ts: a.ts }, card.text, card.blocks);
    rendered = a.version;
  }
}

/** Records a failure of the job's day and tells Slack; during a maintenance window, re-checks at its end. */
async function raise(
  ctx: JobContext<DumpsData>,
  cfg: DumpJobConfig,
  fireAt: number,
  finding: Finding,
  checkId: string,
): Promise<string> {
  const { deps } = ctx;
  const s = store(deps);
  const now = deps.clock.now();
  const day = dayOf(fireAt, deps.config.timezone);
  const id = alertId(cfg.name, day);
  const [w] = await activeWindows(s, now);
  const window = w && { id: w.id, title: w.title, end: w.end };
  const raised = await raiseAlert(s, { id, job: cfg.name, day, fireAt }, finding, window, now, checkId);
  await setOpenAlert(s, cfg.name, id);
  if (window) {
    const jobId = `dwe-${id}-${window.id}-${window.end}`;
    await deps.queues.enqueue(
      DUMPS_QUEUE,
      jobId,
      {
        kind: 'check',
        jobs: [cfg.name],
        reason: 'window-end',
        fireAt,
        requestId: jobId,
        requester: SCHEDULER_USER,
      },
      { jobId, runAt: window.end },
    );
  }
  ctx.log.info(
    { alertId: id, change: raised.change, action: raised.action, window: window?.id },
    'dump alert raised',
  );
  await publish(ctx, id, raised.action);
  return id;
}

/** A passing check resolves the day's alert: the message edited, "resolved" in its thread (once). */
async function resolve(
  ctx: JobContext<DumpsData>,
  cfg: DumpJobConfig,
  day: string,
  finding: Finding,
): Promise<boolean> {
  const { deps } = ctx;
  const s = store(deps);
  const id = alertId(cfg.name, day);
  const claim = await resolveAlert(s, id, finding, deps.clock.now());
  await clearOpenAlert(s, cfg.name, id);
  if (claim !== 'post') return false;
  const a = await getAlert(s, id);
  if (!a?.ts || !a.channel) return true; // never posted: nothing to edit
  try {
    const { channel, ts } = a;
    const ref = await holding(ctx, id, 'resolve', async () => {
      await refresh(ctx, id);
      return deps.notifier.postOnce(
        { channel, text: resolvedReply(a, deps.config.timezone), threadTs: ts },
        { key: `${id}/resolved`, lookFirst: true },
      );
    });
    await markResolvePosted(s, id, ref.ts);
  } catch (err) {
    await markResolvePosted(s, id, undefined);
    throw err;
  }
  return true;
}

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
  await saveLastCheck(store(deps), cfg.name, {
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
    const id = scheduledCheckId(cfg.name, fireAt);
    await deps.queues.enqueue(
      DUMPS_QUEUE,
      id,
      {
        kind: 'check',
        jobs: [cfg.name],
        reason: 'scheduled',
        fireAt,
        requestId: id,
        requester: SCHEDULER_USER,
      },
      { jobId: id, runAt: fireAt + cfg.graceMinutes * 60_000 },
    );
    return {
      kind: 'tick',
      lines: [`${cfg.name}: check queued for ${new Date(fireAt + cfg.graceMinutes * 60_000).toISOString()}`],
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
