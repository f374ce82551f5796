// The maintenance queue's processor (for jobs/registry.ts only): one delayed job per notice of a
// window's thread, one per mail of a notice, one per edit of the announcement.
//
// Commands write job-first (operations.ts): the notice job carries what its command decided and writes
// the same (idempotently) before it posts, so a crash or a Redis error between the command's two writes
// leaves both or neither. Then the notice is claimed and posted in thread order (post.ts). A notice
// Slack does not take is retried with a backoff capped at a minute, whatever `jobs.attempts` says,
// until it is posted or no longer relevant.
import { DelayedError, UnrecoverableError } from 'bullmq';
import { UserError } from '../../infra/errors.js';
import type { BaseJobData, JobContext, JobKind } from '../common.js';
import { type Ctx, skipped, storeOf } from './context.js';
import {
  LATE_AFTER_MS,
  MAINTENANCE_QUEUE,
  type NoticeData,
  type NoticeResult,
  noticeJobId,
  RETRY_CAP_MS,
  reminderLeads,
} from './data.js';
import { sendMail } from './mail.js';
import { postInOrder, refreshAnnouncement } from './post.js';
import {
  cancelWindow,
  createWindowAs,
  type ExtendResult,
  extendWindow,
  followUpsQueued,
  getWindow,
  markFollowUpsQueued,
  registerNotices,
} from './store.js';
import {
  type MaintenanceWindow,
  type NoticeKind,
  type NoticeSpec,
  noticeKey,
  standardNotices,
} from './window.js';

export { MAINTENANCE_QUEUE } from './data.js';

/** Notice jobs mostly wait on Slack and Redis: a worker process runs this many at once. */
const CONCURRENCY = 16;

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
  const s = storeOf(ctx);
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

/**
 * What a thread notice's command decided, written again before the post (job-first): the window of an
 * announcement, its follow-ups, an extension's move, a cancel. The result when the notice is skipped.
 */
async function writeFirst(ctx: JobContext<NoticeData>, d: NoticeData): Promise<NoticeResult | undefined> {
  const s = storeOf(ctx);
  const config = ctx.deps.config;
  if (!config.channels.maintenance) return skipped(ctx, d, 'channels.maintenance is not configured');
  if (d.notice === 'announce' && d.window) {
    // The command queued this job before it stored the window: store it, unless it did.
    const made = await createWindowAs(s, d.windowId, d.window, reminderLeads(config));
    if (made === 'taken') return skipped(ctx, d, 'another window has this id');
  }
  // Only the notices that write state first need the window here; the claim checks it for all.
  if (d.notice !== 'announce' && d.notice !== 'extend' && d.notice !== 'cancel') return undefined;
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
  return undefined;
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
      const w = await getWindow(storeOf(ctx), d.windowId);
      if (!w?.ts) return skipped(ctx, d, 'not announced yet (the announcement shows the new texts)');
      await refreshAnnouncement(ctx, w.id);
      return { windowId: w.id, notice: 'edit', outcome: 'posted' };
    }
    // A thread notice: first what its command decided (job-first), then the post, in thread order.
    try {
      return (await writeFirst(ctx, d)) ?? (await postInOrder(ctx, d, job.id));
    } catch (err) {
      if (err instanceof DelayedError || err instanceof UserError || err instanceof UnrecoverableError)
        throw err;
      return ctx.retryLater(err, RETRY_CAP_MS);
    }
  },
};
