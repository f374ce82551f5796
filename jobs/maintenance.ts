// Maintenance-window notices: one delayed BullMQ job per notice (announcement, each reminder,
// start, end, cancellation, extension, edit), with a deterministic id, so each is queued once.
// Just before posting, the job claims its notice against the window's state (jobs/maintenance-store.ts):
// nothing but the cancellation is posted after a cancel, even by a worker that had already picked
// the notice up.
import type { Clock } from '../infra/clock.js';
import type { Config } from '../infra/config.js';
import type { Blocks } from '../infra/notifier.js';
import type { Redis } from '../infra/redis.js';
import { formatDuration, formatLocal, parseDuration, slackDate } from '../infra/times.js';
import type { BaseJobData, JobContext, JobKind } from './common.js';
import {
  cancelWindow,
  claimAnnouncement,
  claimNotice,
  getWindow,
  isMailed,
  type MaintenanceWindow,
  markMailed,
  markSent,
  type NoticeKind,
  setAnnouncement,
  type WindowState,
  type WindowStore,
} from './maintenance-store.js';
import type { Queues } from './queues.js';

export const MAINTENANCE_QUEUE = 'maintenance';

/** A notice posted this long after its time says it is late. */
export const LATE_AFTER_MS = 5_000;
/** A notice waits this long at most for the notices before it in its thread, then goes out anyway. */
export const ORDER_WAIT_MS = 10 * 60_000;
/** How often a waiting notice looks again. */
const ORDER_POLL_MS = 1_000;

export interface NoticeData extends BaseJobData {
  windowId: string;
  notice: NoticeKind;
  /** When it is due (epoch ms). */
  due: number;
  /** For a reminder: how long before the start (ms). */
  lead?: number;
  /** For end and extend: the end it is about (a moved end makes older end notices stale). */
  end?: number;
}

export interface NoticeResult {
  windowId: string;
  notice: string;
  outcome: 'posted' | 'skipped';
  why?: string;
  lateMs?: number;
}

/** The notice's key within its window, and its job id (BullMQ forbids ':' in ids). */
export function noticeKey(d: Pick<NoticeData, 'notice' | 'lead' | 'end'>): string {
  if (d.notice === 'remind') return `remind-${d.lead}`;
  if (d.notice === 'end' || d.notice === 'extend') return `${d.notice}-${d.end}`;
  return d.notice;
}

export function noticeJobId(windowId: string, d: Pick<NoticeData, 'notice' | 'lead' | 'end'>): string {
  return `${windowId}-${noticeKey(d)}`;
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

/** Slack-safe text: no mentions, links or formatting can be smuggled in through a title. */
export function inert(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function timeline(w: MaintenanceWindow, zone: string, slack: boolean): string {
  const local = `${formatLocal(w.start, zone)} – ${formatLocal(w.end, zone)} (${formatDuration(w.end - w.start)})`;
  return slack ? `${slackDate(w.start, zone)} – ${slackDate(w.end, zone)} (${local})` : local;
}

/** The seed's communication template, as plain text (mail) or Slack mrkdwn. */
export function templateText(w: MaintenanceWindow, zone: string, slack: boolean): string {
  const t = slack ? inert : (s: string) => s;
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
  const head = `${STATE_LABEL[w.state]}: *[MAINTENANCE] ${inert(w.title)}* (\`${w.id}\`)`;
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
  return { text: `[MAINTENANCE] ${w.title}: ${w.state}`, blocks };
}

/** The thread reply (and mail first line) of a notice. */
export function noticeLine(d: NoticeData, w: MaintenanceWindow, zone: string, lateMs: number): string {
  const late =
    lateMs > LATE_AFTER_MS
      ? ` _(late: due ${formatLocal(d.due, zone)}, posted ${formatDuration(Math.max(1000, Math.round(lateMs / 1000) * 1000))} after)_`
      : '';
  const title = inert(w.title);
  switch (d.notice) {
    case 'remind':
      return `:bell: Reminder: *${title}* starts ${slackDate(w.start, zone)} (in ${formatDuration(d.lead ?? 0)}).${late}`;
    case 'start':
      return `:construction: Maintenance *${title}* has started. Planned end ${slackDate(w.end, zone)}.${late}`;
    case 'end':
      return `:white_check_mark: Maintenance *${title}* is complete.${late}`;
    case 'cancel':
      return `:no_entry_sign: Maintenance *${title}* is cancelled.`;
    case 'extend':
      return `:hourglass: Maintenance *${title}* is extended: it now ends ${slackDate(w.end, zone)} (${formatLocal(w.end, zone)}).`;
    default:
      return `*${title}*`;
  }
}

const MAIL_HEAD: Record<NoticeKind, string> = {
  announce: 'Announcement',
  remind: 'Reminder',
  start: 'Started',
  end: 'Completed',
  cancel: 'Cancelled',
  extend: 'Extended',
  edit: 'Updated',
};

function store(ctx: Pick<JobContext<NoticeData>, 'deps'>): WindowStore {
  return { redis: ctx.deps.redis, prefix: ctx.deps.prefix };
}

/** Queues the window's reminders, start and end (idempotent: deterministic job ids). */
export async function scheduleNotices(
  ctx: Pick<JobContext<NoticeData>, 'deps'>,
  w: MaintenanceWindow,
  d: NoticeData,
): Promise<void> {
  const base = { requestId: d.requestId, requester: d.requester, windowId: w.id };
  const add = (n: Omit<NoticeData, 'requestId' | 'requester' | 'windowId'>) =>
    ctx.deps.queues.enqueue(
      MAINTENANCE_QUEUE,
      noticeJobId(w.id, n),
      { ...base, ...n },
      { jobId: noticeJobId(w.id, n), runAt: n.due },
    );
  for (const lead of reminderLeads(ctx.deps.config)) {
    // Leads already past when the window was scheduled collapse into the announcement.
    if (w.start - lead > w.createdAt) await add({ notice: 'remind', lead, due: w.start - lead });
  }
  await add({ notice: 'start', due: w.start });
  await add({ notice: 'end', due: w.end, end: w.end });
}

async function mailNotice(
  ctx: JobContext<NoticeData>,
  d: NoticeData,
  w: MaintenanceWindow,
  line: string,
): Promise<void> {
  const to = ctx.deps.config.maintenance.emailTo;
  if (!to.length) return;
  const key = noticeKey(d);
  // Marked after sending: a worker that dies in between sends it again rather than never.
  if (await isMailed(store(ctx), w.id, key)) return;
  const zone = ctx.deps.config.timezone;
  const plain = line
    .replace(/[*_]/g, '')
    .replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, '$1')
    .replace(/:[a-z_]+: /g, '');
  for (const addr of to) {
    await ctx.deps.mailer.send({
      from: ctx.deps.config.resetPassword.mailFrom,
      to: addr,
      subject: `[MAINTENANCE] ${w.title}`,
      text: `${MAIL_HEAD[d.notice]}: ${d.notice === 'announce' ? `${w.title} (${w.id})` : plain}\n\n${templateText(w, zone, false)}\n`,
    });
  }
  await markMailed(store(ctx), w.id, key);
}

/** Re-renders the announcement from the window's current state. */
async function refreshAnnouncement(ctx: JobContext<NoticeData>, windowId: string): Promise<void> {
  const w = await getWindow(store(ctx), windowId);
  if (!w?.channel || !w.ts) return;
  const card = announcementCard(w, ctx.deps.config.timezone);
  await ctx.deps.notifier.update({ channel: w.channel, ts: w.ts }, card.text, card.blocks);
}

/**
 * Cancels a scheduled or running window and queues its cancellation notice (posted in its thread
 * and mailed). Returns the state it found: anything but scheduled or in-progress changed nothing.
 */
export async function cancelWithNotice(
  deps: { redis: Redis; prefix: string; queues: Queues; clock: Clock },
  windowId: string,
  by: { requestId: string; requester: string },
  confirmBy?: number,
): Promise<WindowState | 'gone'> {
  const found = await cancelWindow({ redis: deps.redis, prefix: deps.prefix }, windowId);
  if (found !== 'scheduled' && found !== 'in-progress') return found;
  const data: NoticeData = { ...by, windowId, notice: 'cancel', due: deps.clock.now() };
  const jobId = noticeJobId(windowId, data);
  await deps.queues.enqueue(MAINTENANCE_QUEUE, jobId, data, { jobId, ...(confirmBy ? { confirmBy } : {}) });
  return found;
}

export const maintenanceJob: JobKind<NoticeData, NoticeResult> = {
  queue: MAINTENANCE_QUEUE,
  action: 'maintenance.notice',
  describe: (d) => `${d.windowId} ${noticeKey(d)}`,
  summarize: (r) =>
    `${r.outcome}${r.why ? ` (${r.why})` : ''}${r.lateMs && r.lateMs > LATE_AFTER_MS ? `, late by ${Math.round(r.lateMs / 1000)} s` : ''}`,
  async run(job, ctx) {
    const d = job.data;
    const s = store(ctx);
    const zone = ctx.deps.config.timezone;
    const channel = ctx.deps.config.channels.maintenance;
    const skipped = (why: string): NoticeResult => {
      ctx.log.info({ windowId: d.windowId, notice: noticeKey(d), why }, 'notice skipped');
      return { windowId: d.windowId, notice: noticeKey(d), outcome: 'skipped', why };
    };
    const lateMs = ctx.deps.clock.now() - d.due;
    let w = await getWindow(s, d.windowId);
    if (!w) return skipped('the window no longer exists');
    if (!channel) return skipped('channels.maintenance is not configured');

    if (d.notice === 'announce') {
      if (!w.ts) {
        if (w.state === 'cancelled') return skipped('cancelled before it was announced');
        const claim = await claimAnnouncement(s, w.id);
        const card = announcementCard(w, zone);
        const ref = await ctx.deps.notifier.postOnce(
          { channel, text: card.text, blocks: card.blocks },
          { key: `${w.id}/announce`, lookFirst: claim === 'retake' },
        );
        await setAnnouncement(s, w.id, ref.channel, ref.ts);
        w = (await getWindow(s, d.windowId)) ?? w;
      }
      await mailNotice(ctx, d, w, '');
      await scheduleNotices(ctx, w, d);
      return { windowId: w.id, notice: 'announce', outcome: 'posted' };
    }
    if (!w.ts || !w.channel) throw new Error(`window ${w.id} has no announcement yet`); // retried
    if (d.notice === 'edit') {
      await refreshAnnouncement(ctx, w.id);
      return { windowId: w.id, notice: 'edit', outcome: 'posted' };
    }
    const key = noticeKey(d);
    const now = ctx.deps.clock.now();
    const claim = await claimNotice(
      s,
      w.id,
      { key, kind: d.notice, end: d.end },
      now,
      now < d.due + ORDER_WAIT_MS,
    );
    if (claim === 'wait') {
      // An earlier notice of this thread is still being posted: look again shortly (no attempt used).
      return ctx.delayUntil(now + ORDER_POLL_MS);
    }
    if (claim !== 'ok' && claim !== 'retake' && claim !== 'sent') return skipped(claim);
    if (claim !== 'sent') {
      w = (await getWindow(s, d.windowId)) ?? w;
      const line = noticeLine(d, w, zone, lateMs);
      const broadcast = d.notice === 'start' || d.notice === 'end';
      const ref = await ctx.deps.notifier.postOnce(
        { channel: w.channel as string, text: line, threadTs: w.ts, broadcast },
        { key: `${w.id}/${key}`, lookFirst: claim === 'retake' },
      );
      // The announcement is edited before the notice counts as sent: the thread's next notice waits
      // for both, so a slow edit can never overwrite a later state. A failed edit retries the job,
      // which finds the post in the thread instead of posting it again.
      await refreshAnnouncement(ctx, w.id);
      await markSent(s, w.id, key, ref.ts);
    }
    if (d.notice === 'extend' && d.end !== undefined) {
      const end: NoticeData = {
        requestId: d.requestId,
        requester: d.requester,
        windowId: w.id,
        notice: 'end',
        due: d.end,
        end: d.end,
      };
      await ctx.deps.queues.enqueue(MAINTENANCE_QUEUE, noticeJobId(w.id, end), end, {
        jobId: noticeJobId(w.id, end),
        runAt: d.end,
      });
    }
    const fresh = (await getWindow(s, d.windowId)) ?? w;
    await mailNotice(ctx, d, fresh, noticeLine(d, fresh, zone, lateMs));
    return { windowId: w.id, notice: key, outcome: 'posted', lateMs };
  },
};
