// Maintenance-window notices: one delayed BullMQ job per notice (announcement, each reminder, start,
// end, cancellation, extension, edit), with a deterministic id, so each is queued once; and one job per
// mail of a notice, so SMTP never holds up Slack.
//
// Commands write job-first: `/maintenance schedule`, `extend` and `cancel` queue the notice job with
// what the command decided, then write the window; the job writes the same (idempotently) before it
// posts, so a crash or a Redis error between the two leaves both or neither.
//
// Just before posting, a job claims its notice against the window's state (jobs/maintenance/store.ts):
// nothing but the cancellation is posted after a cancel, even by a worker that had already picked the
// notice up; the thread keeps its order (an earlier notice that is due but only being retried is
// posted first, by whichever job gets there); a notice Slack does not take is retried with a backoff
// capped at a minute, whatever `jobs.attempts` says, until it is posted or no longer relevant.
import { createHash, randomUUID } from 'node:crypto';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config.js';
import { UserError } from '../../infra/errors.js';
import type { Logger } from '../../infra/logger.js';
import { type Blocks, isSlackRefusal } from '../../infra/notifier.js';
import type { Redis } from '../../infra/redis.js';
import { escapeSlack } from '../../infra/slack-text.js';
import { formatDuration, formatLocal, parseDuration, slackDate } from '../../infra/times.js';
import { type BaseJobData, type JobContext, type JobKind, whileRenewing } from '../common.js';
import type { Queues } from '../queues.js';
import {
  cancelWindow,
  claimNotice,
  createWindowAs,
  type ExtendResult,
  extendWindow,
  followUpsQueued,
  getWindow,
  isMailed,
  type MaintenanceWindow,
  markDropped,
  markFollowUpsQueued,
  markMailed,
  markSent,
  type NewWindow,
  type NoticeKind,
  type NoticeSpec,
  newWindowId,
  noticeKey,
  registerNotices,
  releaseClaim,
  renewClaim,
  setAnnouncement,
  standardNotices,
  type ThreadNoticeKind,
  type WindowState,
  type WindowStore,
  windowExists,
} from './store.js';

export { noticeKey } from './store.js';

export const MAINTENANCE_QUEUE = 'maintenance';

/** A notice posted this long after its time says it is late. */
export const LATE_AFTER_MS = 5_000;
/** A notice that Slack does not take is tried again after at most this long. */
export const RETRY_CAP_MS = 60_000;
/** How often a notice waiting for another one in flight looks again. */
const ORDER_POLL_MS = 1_000;
/** A repeat of the same `/maintenance schedule` within this long is answered as a duplicate. */
export const SCHEDULE_DEDUP_MS = 5 * 60_000;
/** BullMQ priority of a notice's mail job (any priority runs after every job without one). */
const MAIL_PRIORITY = 10;
/** Notice jobs mostly wait on Slack and Redis: a worker process runs this many at once. */
const CONCURRENCY = 16;

export interface NoticeData extends BaseJobData {
  windowId: string;
  /** The notice, or `mail` for the mail of a notice that was posted. */
  notice: NoticeKind | 'mail';
  /** When it is due (epoch ms). */
  due: number;
  /** For a reminder: how long before the start (ms). */
  lead?: number;
  /** For end and extend: the end it is about (a moved end makes older end notices stale). */
  end?: number;
  /** For extend: the end it moves from (the job makes the move itself if its command did not). */
  from?: number;
  /** For the announcement queued by `/maintenance schedule`: the window, made by the job if need be. */
  window?: NewWindow;
  /** For `mail`: which notice, and how late it was posted. */
  mail?: NoticeSpec & { lateMs: number };
}

export interface NoticeResult {
  windowId: string;
  notice: string;
  outcome: 'posted' | 'skipped' | 'dropped' | 'mailed';
  why?: string;
  lateMs?: number;
}

export function noticeJobId(
  windowId: string,
  d: { notice: NoticeKind; lead?: number; end?: number },
): string {
  return `${windowId}-${noticeKey(d)}`;
}

function mailJobId(windowId: string, spec: NoticeSpec): string {
  return `${windowId}-mail-${noticeKey(spec)}`;
}

/** The reminder leads of the config, in ms, longest first. */
export function reminderLeads(config: Config): number[] {
  return config.maintenance.remindBefore.map(parseDuration).sort((a, b) => b - a);
}

const STATE_LABEL: Record<MaintenanceWindow['state'], string> = {
  scheduled: ':calendar: Scheduled',
  'in-progress': ':construction: In progress',
  completed: ':white_check_mark: Completed',
  cancelled: ':no_entry_sign: Cancelled',
};

/** @deprecated Use `escapeSlack` from infra/slack-text.ts (kept for callers outside this feature). */
export const inert = escapeSlack;

function timeline(w: MaintenanceWindow, zone: string, slack: boolean): string {
  const local = `${formatLocal(w.start, zone)} – ${formatLocal(w.end, zone)} (${formatDuration(w.end - w.start)})`;
  return slack ? `${slackDate(w.start, zone)} – ${slackDate(w.end, zone)} (${local})` : local;
}

/** The seed's communication template, as plain text (mail) or Slack mrkdwn (everything typed escaped). */
export function templateText(w: MaintenanceWindow, zone: string, slack: boolean): string {
  const t = slack ? escapeSlack : (s: string) => s;
  const b = (s: string) => (slack ? `*${s}*` : s);
  return [
    `${b('Timeline:')} ${timeline(w, zone, slack)}`,
    `${b('Impact:')} ${t(w.impact)}`,
    `${b('Purpose:')} ${t(w.purpose)}`,
    `${b('Rollback plan:')} ${t(w.rollback)}`,
    `${b('Questions:')} contact ${t(w.contact)}`,
  ].join('\n');
}

/** The announcement: the window's home, edited as it moves through its states. */
export function announcementCard(w: MaintenanceWindow, zone: string): { text: string; blocks: Blocks } {
  const title = escapeSlack(w.title);
  const head = `${STATE_LABEL[w.state]}: *[MAINTENANCE] ${title}* (\`${w.id}\`)`;
  const blocks: Blocks = [
    { type: 'section', text: { type: 'mrkdwn', text: `${head}\n${templateText(w, zone, true)}` } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Scheduled by <@${w.createdBy}>` }] },
  ];
  if (w.state === 'scheduled' || w.state === 'in-progress') {
    blocks.push({
      type: 'actions',
      block_id: `mw-actions-${w.id}`,
      elements: [
        {
          type: 'button',
          action_id: 'mw_edit',
          value: w.id,
          text: { type: 'plain_text', text: 'Edit details' },
        },
        {
          type: 'button',
          action_id: 'mw_cancel',
          value: w.id,
          style: 'danger',
          text: { type: 'plain_text', text: 'Cancel window' },
          confirm: {
            title: { type: 'plain_text', text: 'Cancel this window?' },
            text: { type: 'plain_text', text: `Cancel ${w.id} and tell the channel and the mailing list?` },
            confirm: { type: 'plain_text', text: 'Cancel window' },
            deny: { type: 'plain_text', text: 'Keep it' },
          },
        },
      ],
    });
  }
  return { text: `[MAINTENANCE] ${title}: ${w.state}`, blocks };
}

/**
 * The thread reply of a notice (Slack mrkdwn, the title escaped, times as `<!date>`), or with
 * `slack` false the first line of its mail (plain text, as typed).
 */
export function noticeLine(
  d: Pick<NoticeSpec, 'notice' | 'due' | 'lead'> | Pick<NoticeData, 'notice' | 'due' | 'lead'>,
  w: MaintenanceWindow,
  zone: string,
  lateMs: number,
  slack = true,
): string {
  const date = (at: number) => (slack ? slackDate(at, zone) : formatLocal(at, zone));
  const b = (s: string) => (slack ? `*${s}*` : s);
  const icon = (s: string) => (slack ? `${s} ` : '');
  const lateText = `(late: due ${formatLocal(d.due, zone)}, posted ${formatDuration(Math.max(1000, Math.round(lateMs / 1000) * 1000))} after)`;
  const late = lateMs > LATE_AFTER_MS ? ` ${slack ? `_${lateText}_` : lateText}` : '';
  const title = b(slack ? escapeSlack(w.title) : w.title);
  switch (d.notice) {
    case 'remind':
      return `${icon(':bell:')}Reminder: ${title} starts ${date(w.start)} (in ${formatDuration(d.lead ?? 0)}).${late}`;
    case 'start':
      return `${icon(':construction:')}Maintenance ${title} has started. Planned end ${date(w.end)}.${late}`;
    case 'end':
      return `${icon(':white_check_mark:')}Maintenance ${title} is complete.${late}`;
    case 'cancel':
      return `${icon(':no_entry_sign:')}Maintenance ${title} is cancelled.`;
    case 'extend':
      return `${icon(':hourglass:')}Maintenance ${title} is extended: it now ends ${date(w.end)} (${formatLocal(w.end, zone)}).`;
    default:
      return title;
  }
}

const MAIL_HEAD: Record<ThreadNoticeKind, string> = {
  announce: 'Announcement',
  remind: 'Reminder',
  start: 'Started',
  end: 'Completed',
  cancel: 'Cancelled',
  extend: 'Extended',
};

const NOTICE_NAME: Record<ThreadNoticeKind, string> = {
  announce: 'announcement',
  remind: 'reminder',
  start: 'start',
  end: 'completion',
  cancel: 'cancellation',
  extend: 'extension',
};

/** The mail of a notice: plain text, nothing escaped. */
export function mailText(spec: NoticeSpec, w: MaintenanceWindow, zone: string, lateMs: number): string {
  const first =
    spec.notice === 'announce' ? `${w.title} (${w.id})` : noticeLine(spec, w, zone, lateMs, false);
  return `${MAIL_HEAD[spec.notice]}: ${first}\n\n${templateText(w, zone, false)}\n`;
}

/** The operators' alert for a notice that could no longer be posted in time. */
export function droppedText(
  spec: NoticeSpec,
  w: MaintenanceWindow | undefined,
  windowId: string,
  zone: string,
  why: string,
): string {
  const what = w ? `*${escapeSlack(w.title)}* (\`${windowId}\`)` : `\`${windowId}\``;
  return `:warning: The ${NOTICE_NAME[spec.notice]} notice of maintenance ${what}, due ${formatLocal(spec.due, zone)}, was dropped without being posted: ${escapeSlack(why)}. Stakeholders were not told in Slack; tell them another way if it still matters.`;
}

type Ctx = Pick<JobContext<NoticeData>, 'deps'>;

function store(ctx: Ctx): WindowStore {
  return { redis: ctx.deps.redis, prefix: ctx.deps.prefix };
}

function specOf(d: NoticeData): NoticeSpec {
  return {
    notice: d.notice as ThreadNoticeKind,
    due: d.due,
    ...(d.lead !== undefined ? { lead: d.lead } : {}),
    ...(d.end !== undefined ? { end: d.end } : {}),
  };
}

function enqueueNotice(ctx: Ctx, by: BaseJobData, windowId: string, n: NoticeSpec) {
  const data: NoticeData = { requestId: by.requestId, requester: by.requester, windowId, ...n };
  const jobId = noticeJobId(windowId, n);
  return ctx.deps.queues.enqueue(MAINTENANCE_QUEUE, jobId, data, { jobId, runAt: n.due });
}

/**
 * Registers and queues the window's reminders, start and end (idempotent: deterministic job ids), once.
 * Windows made without the configured leads (e.g. by /migration) get their reminders here.
 */
async function queueFollowUps(ctx: Ctx, w: MaintenanceWindow, by: BaseJobData): Promise<void> {
  const s = store(ctx);
  if (await followUpsQueued(s, w.id)) return;
  await registerNotices(s, w.id, standardNotices(w, reminderLeads(ctx.deps.config)));
  const fresh = (await getWindow(s, w.id)) ?? w;
  for (const n of fresh.notices) {
    if (n.notice === 'remind' || n.notice === 'start' || (n.notice === 'end' && n.end === fresh.end)) {
      await enqueueNotice(ctx, by, w.id, n);
    }
  }
  await markFollowUpsQueued(s, w.id);
}

async function queueMail(ctx: Ctx, by: BaseJobData, windowId: string, spec: NoticeSpec, lateMs: number) {
  if (!ctx.deps.config.maintenance.emailTo.length) return;
  const jobId = mailJobId(windowId, spec);
  const data: NoticeData = {
    requestId: by.requestId,
    requester: by.requester,
    windowId,
    notice: 'mail',
    due: spec.due,
    mail: { ...spec, lateMs },
  };
  // Prioritized: BullMQ hands out a prioritized job only when no plain one waits, so a burst of notices
  // due together is posted before their mails are sent (the add is one write, made idempotent by the id).
  await ctx.deps.queues.queue(MAINTENANCE_QUEUE).add(jobId, data, { jobId, priority: MAIL_PRIORITY });
}

/** Re-renders the announcement from the window's current state (or `known`, just read after the claim). */
async function refreshAnnouncement(ctx: Ctx, windowId: string, known?: MaintenanceWindow): Promise<void> {
  const w = known ?? (await getWindow(store(ctx), windowId));
  if (!w?.channel || !w.ts) return;
  const card = announcementCard(w, ctx.deps.config.timezone);
  await ctx.deps.notifier.update({ channel: w.channel, ts: w.ts }, card.text, card.blocks);
}

/** Posts one claimed notice, queues its mail, edits the announcement, then records it as posted. */
async function deliver(
  ctx: Ctx,
  by: BaseJobData,
  windowId: string,
  key: string,
  spec: NoticeSpec,
  lookFirst: boolean,
): Promise<number> {
  const s = store(ctx);
  const zone = ctx.deps.config.timezone;
  const w = await getWindow(s, windowId);
  if (!w) return 0;
  // Measured at each request postOnce sends, so a notice that went out late says so.
  let lateMs = ctx.deps.clock.now() - spec.due;
  const now = () => {
    lateMs = ctx.deps.clock.now() - spec.due;
    return lateMs;
  };
  if (spec.notice === 'announce') {
    const card = announcementCard(w, zone);
    const ref = await ctx.deps.notifier.postOnce(
      { channel: ctx.deps.config.channels.maintenance as string, text: card.text, blocks: card.blocks },
      { key: `${w.id}/announce`, lookFirst },
    );
    await queueMail(ctx, by, w.id, spec, lateMs);
    await setAnnouncement(s, w.id, ref.channel, ref.ts);
    return lateMs;
  }
  const ref = await ctx.deps.notifier.postOnce(
    () => ({
      channel: w.channel as string,
      text: noticeLine(spec, w, zone, now()),
      threadTs: w.ts,
      broadcast: spec.notice === 'start' || spec.notice === 'end',
    }),
    { key: `${w.id}/${key}`, lookFirst },
  );
  await queueMail(ctx, by, w.id, spec, lateMs);
  // The announcement is edited before the notice counts as posted: the thread's next notice waits for
  // both, so a slow edit can never overwrite a later state. A failed edit retries the job, which finds
  // the post in the thread instead of posting it again.
  // The window as read after this notice's claim: the state the claim moved it to (a later edit or
  // extension re-renders it again itself).
  await refreshAnnouncement(ctx, w.id, w);
  await markSent(s, w.id, key, ref.ts);
  return lateMs;
}

/** Claims and posts the job's notice, posting first any earlier one of its thread that is only being retried. */
async function postInOrder(
  job: Job<NoticeData, NoticeResult>,
  ctx: JobContext<NoticeData>,
): Promise<NoticeResult> {
  const d = job.data;
  const s = store(ctx);
  const own = specOf(d);
  const ownKey = noticeKey(own);
  const config = ctx.deps.config;
  const leaseMs = config.jobs.lockMs;
  const graceMs = config.maintenance.lateGraceMinutes * 60_000;
  // One token per run: a claim this run holds is not "another poster" to it.
  const token = `${job.id}/${randomUUID().slice(0, 8)}`;
  const result = (outcome: NoticeResult['outcome'], extra: Partial<NoticeResult> = {}): NoticeResult => ({
    windowId: d.windowId,
    notice: ownKey,
    outcome,
    ...extra,
  });
  // Bounded: each round posts one earlier notice of the thread.
  for (let round = 0; round < 50; round++) {
    const now = ctx.deps.clock.now();
    const claim = await claimNotice(s, d.windowId, own, now, { token, leaseMs, graceMs });
    switch (claim.status) {
      case 'gone':
        return skipped(ctx, d, 'the window no longer exists');
      case 'skip':
        return skipped(ctx, d, claim.why);
      case 'sent':
        return result('posted', { why: 'already posted' });
      case 'wait':
        // Another notice of this thread is being posted right now: look again shortly (no attempt used).
        return ctx.delayUntil(now + ORDER_POLL_MS);
      case 'drop': {
        await dropNotice(ctx, d.windowId, own, claim.why);
        return result('dropped', { why: claim.why });
      }
      case 'post': {
        let lateMs: number;
        try {
          lateMs = await whileRenewing(
            () => renewClaim(s, d.windowId, claim.key, token, ctx.deps.clock.now() + leaseMs),
            Math.max(100, Math.floor(leaseMs / 3)),
            () => deliver(ctx, d, d.windowId, claim.key, claim.spec, claim.lookFirst),
            ctx.log,
          );
        } catch (err) {
          await releaseClaim(s, d.windowId, claim.key, token).catch(() => undefined);
          throw err;
        }
        ctx.deps.metrics.noticePosted(claim.spec.notice, lateMs / 1000, lateMs > LATE_AFTER_MS);
        if (claim.first) {
          ctx.log.info(
            { windowId: d.windowId, notice: claim.key, before: ownKey },
            'posted an earlier notice first',
          );
          continue;
        }
        return result('posted', { lateMs });
      }
    }
  }
  throw new Error(`window ${d.windowId}: too many earlier notices before ${ownKey}`);
}

function skipped(ctx: JobContext<NoticeData>, d: NoticeData, why: string): NoticeResult {
  const notice = d.mail ? `mail-${noticeKey(d.mail)}` : noticeKey(d as { notice: NoticeKind });
  ctx.log.info({ windowId: d.windowId, notice, why }, 'notice skipped');
  return { windowId: d.windowId, notice, outcome: 'skipped', why };
}

/** A notice that can no longer go out in time: an operator log line and a post in the alerts channel. */
async function dropNotice(
  ctx: JobContext<NoticeData>,
  windowId: string,
  spec: NoticeSpec,
  why: string,
): Promise<void> {
  const { config, notifier } = ctx.deps;
  const key = noticeKey(spec);
  const w = await getWindow(store(ctx), windowId);
  ctx.log.error(
    { windowId, notice: key, due: new Date(spec.due).toISOString(), why },
    'maintenance notice dropped',
  );
  const alerts = config.channels.alerts;
  if (alerts) {
    try {
      await notifier.postOnce(
        { channel: alerts, text: droppedText(spec, w, windowId, config.timezone, why) },
        { key: `${windowId}/${key}/dropped` },
      );
    } catch (err) {
      // Slack refused it (a wrong channel): the log line has it. Anything else is tried again.
      if (!isSlackRefusal(err)) throw err;
      ctx.log.error({ windowId, notice: key }, 'could not post the dropped notice in channels.alerts');
    }
  }
  await markDropped(store(ctx), windowId, key);
  ctx.deps.metrics.noticeFailed(spec.notice);
}

async function sendMail(ctx: JobContext<NoticeData>, d: NoticeData): Promise<NoticeResult> {
  const spec = d.mail;
  if (!spec) return skipped(ctx, d, 'no notice to mail');
  const s = store(ctx);
  const key = noticeKey(spec);
  const result = { windowId: d.windowId, notice: `mail-${key}` };
  // Marked after sending: a worker that dies in between sends it again rather than never.
  if (await isMailed(s, d.windowId, key)) return { ...result, outcome: 'skipped', why: 'already mailed' };
  const w = await getWindow(s, d.windowId);
  if (!w) return skipped(ctx, d, 'the window no longer exists');
  const { config, mailer } = ctx.deps;
  const text = mailText(spec, w, config.timezone, spec.lateMs);
  for (const to of config.maintenance.emailTo) {
    await mailer.send({ from: config.resetPassword.mailFrom, to, subject: `[MAINTENANCE] ${w.title}`, text });
  }
  await markMailed(s, d.windowId, key);
  return { ...result, outcome: 'mailed' };
}

/** A thread notice: first what its command decided (job-first), then the post, in thread order. */
async function threadNotice(
  job: Job<NoticeData, NoticeResult>,
  ctx: JobContext<NoticeData>,
): Promise<NoticeResult> {
  const d = job.data;
  const s = store(ctx);
  const config = ctx.deps.config;
  if (!config.channels.maintenance) return skipped(ctx, d, 'channels.maintenance is not configured');
  if (d.notice === 'announce' && d.window) {
    // The command queued this job before it stored the window: store it, unless it did.
    const made = await createWindowAs(s, d.windowId, d.window, reminderLeads(config));
    if (made === 'taken') return skipped(ctx, d, 'another window has this id');
  }
  // Only the notices that write state first need the window here; the claim checks it for all.
  if (d.notice !== 'announce' && d.notice !== 'extend' && d.notice !== 'cancel') return postInOrder(job, ctx);
  const w = await getWindow(s, d.windowId);
  if (!w) return skipped(ctx, d, 'the window no longer exists');
  if (d.notice === 'announce' && w.state !== 'cancelled') {
    // Queued before the announcement is posted: an announcement Slack does not take holds up nothing.
    await queueFollowUps(ctx, w, d);
  }
  if (d.notice === 'extend' && d.end !== undefined) {
    const moved: ExtendResult =
      d.from === undefined
        ? w.end === d.end
          ? 'already'
          : 'stale'
        : await extendWindow(s, w.id, { from: d.from, to: d.end, at: d.due });
    // The new end notice is queued before the extension is posted, so a failed extension cannot lose it.
    if (moved === 'applied' || moved === 'already') {
      await enqueueNotice(ctx, d, w.id, { notice: 'end', due: d.end, end: d.end });
    }
  }
  if (d.notice === 'cancel') await cancelWindow(s, w.id, d.requestId, d.due);
  return postInOrder(job, ctx);
}

export const maintenanceJob: JobKind<NoticeData, NoticeResult> = {
  queue: MAINTENANCE_QUEUE,
  action: 'maintenance.notice',
  concurrency: CONCURRENCY,
  describe: (d) =>
    `${d.windowId} ${d.mail ? `mail-${noticeKey(d.mail)}` : noticeKey(d as { notice: NoticeKind })}`,
  summarize: (r) =>
    `${r.outcome}${r.why ? ` (${r.why})` : ''}${r.lateMs && r.lateMs > LATE_AFTER_MS ? `, late by ${Math.round(r.lateMs / 1000)} s` : ''}`,
  async run(job, ctx) {
    const d = job.data;
    // Mail keeps the usual attempts; an edit too (the next notice re-renders the announcement anyway).
    if (d.notice === 'mail') return sendMail(ctx, d);
    if (d.notice === 'edit') {
      const w = await getWindow(store(ctx), d.windowId);
      if (!w?.ts) return skipped(ctx, d, 'not announced yet (the announcement shows the new texts)');
      await refreshAnnouncement(ctx, w.id);
      return { windowId: w.id, notice: 'edit', outcome: 'posted' };
    }
    try {
      return await threadNotice(job, ctx);
    } catch (err) {
      if (err instanceof DelayedError || err instanceof UserError || err instanceof UnrecoverableError)
        throw err;
      return ctx.retryLater(err, RETRY_CAP_MS);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// What commands (and other features) use: each queues its job first, then writes the window.

/** What the command-side functions need: the bot's or a worker's Redis, queues and clock. */
export interface MaintenanceDeps {
  redis: Redis;
  prefix: string;
  queues: Queues;
  clock: Clock;
  config: Config;
  logger?: Logger;
}

export type ScheduleResult =
  | { status: 'scheduled'; windowId: string }
  | { status: 'duplicate'; windowId: string };

/** The dedup key of a schedule command: who typed what (whitespace aside). */
export function scheduleDedupKey(user: string, text: string): string {
  const h = createHash('sha256')
    .update(`${user}\n${text.trim().split(/\s+/).join(' ')}`)
    .digest('hex');
  return `mw-schedule-${h.slice(0, 32)}`;
}

/**
 * Schedules a window: queues its announce job carrying the window (BullMQ deduplication by
 * `dedupKey` for SCHEDULE_DEDUP_MS: the same command again is answered with the first window), then
 * stores the window. If this process dies or Redis fails in between, the job stores it.
 */
export async function scheduleWithNotice(
  deps: MaintenanceDeps,
  w: NewWindow & { requestId: string },
  opts: { dedupKey: string; confirmBy?: number },
): Promise<ScheduleResult> {
  const s = { redis: deps.redis, prefix: deps.prefix };
  const q = deps.queues.queue(MAINTENANCE_QUEUE);
  for (let attempt = 0; attempt < 10; attempt++) {
    const id = newWindowId(attempt >= 5);
    const jobId = noticeJobId(id, { notice: 'announce' });
    // A kept job of an expired window with this id would swallow the add.
    if (await windowExists(s, id, [q.toKey(jobId)])) continue;
    const data: NoticeData = {
      requestId: w.requestId,
      requester: w.createdBy,
      windowId: id,
      notice: 'announce',
      due: w.createdAt,
      window: w,
    };
    const added = await deps.queues.enqueue(MAINTENANCE_QUEUE, jobId, data, {
      jobId,
      dedupKey: opts.dedupKey,
      dedupTtlMs: SCHEDULE_DEDUP_MS,
      ...(opts.confirmBy ? { confirmBy: opts.confirmBy } : {}),
    });
    if (added.status === 'duplicate') {
      return { status: 'duplicate', windowId: added.existingId.replace(/-announce$/, '') };
    }
    if (added.status === 'finished') continue; // taken since the look above
    try {
      await createWindowAs(s, id, w, reminderLeads(deps.config));
    } catch (err) {
      // The job stores it when it runs; the command's answer stays true.
      deps.logger?.warn({ windowId: id, err: String(err) }, 'window not stored by the command; its job will');
    }
    return { status: 'scheduled', windowId: id };
  }
  throw new Error('could not find a free maintenance window id');
}

/**
 * Extends a window from `from` to `to`: queues the extension notice (whose job makes the move too,
 * and queues the new end notice before posting), then moves the end. 'applied' (or 'already', its
 * job was first) when the end moved; otherwise what it found, and the job will skip itself.
 */
export async function extendWithNotice(
  deps: MaintenanceDeps,
  windowId: string,
  move: { from: number; to: number },
  by: { requestId: string; requester: string },
  confirmBy?: number,
): Promise<ExtendResult> {
  const now = deps.clock.now();
  const data: NoticeData = { ...by, windowId, notice: 'extend', due: now, end: move.to, from: move.from };
  const jobId = noticeJobId(windowId, data as { notice: NoticeKind; end: number });
  await deps.queues.enqueue(MAINTENANCE_QUEUE, jobId, data, { jobId, ...(confirmBy ? { confirmBy } : {}) });
  return extendWindow({ redis: deps.redis, prefix: deps.prefix }, windowId, { ...move, at: now });
}

export interface CancelResult {
  /** The state the window was in (anything but scheduled or in-progress: nothing changed). */
  found: WindowState | 'gone';
  /** True when this call (or its job) moved the window to cancelled. */
  cancelled: boolean;
}

/**
 * Cancels a scheduled or running window and queues its cancellation notice (posted in its thread and
 * mailed): the job is queued first and cancels the window itself if this process dies before it does.
 *
 * For other features: `cancelled` says whether the window moved to cancelled. Whatever must follow a
 * cancelled window (e.g. cancelling the /migration requests linked to it) belongs in the callers'
 * cancel paths (handlers/maintenance.ts `cancel`), called when `cancelled` is true; this module imports
 * no other feature. If the process dies after the job was queued, the job finishes the cancel without
 * that call: such features must also check the window's state themselves before they act.
 */
export async function cancelWithNotice(
  deps: Omit<MaintenanceDeps, 'config'>,
  windowId: string,
  by: { requestId: string; requester: string },
  confirmBy?: number,
): Promise<CancelResult> {
  const s = { redis: deps.redis, prefix: deps.prefix };
  const w = await getWindow(s, windowId);
  if (!w) return { found: 'gone', cancelled: false };
  if (w.state !== 'scheduled' && w.state !== 'in-progress') return { found: w.state, cancelled: false };
  const now = deps.clock.now();
  const data: NoticeData = {
    requestId: by.requestId,
    requester: by.requester,
    windowId,
    notice: 'cancel',
    due: now,
  };
  const jobId = noticeJobId(windowId, data as { notice: NoticeKind });
  await deps.queues.enqueue(MAINTENANCE_QUEUE, jobId, data, { jobId, ...(confirmBy ? { confirmBy } : {}) });
  return cancelWindow(s, windowId, by.requestId, now);
}
