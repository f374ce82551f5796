// The mail of a posted notice: its own job (prioritized below every notice), sent to each address of
// maintenance.emailTo once, so SMTP never holds up Slack.
import type { BaseJobData, JobContext } from '../common.js';
import { type Ctx, skipped, storeOf } from './context.js';
import { MAINTENANCE_QUEUE, mailJobId, type NoticeData, type NoticeResult } from './data.js';
import { getWindow, isMailed, markMailed } from './store.js';
import { mailText } from './text.js';
import { type NoticeSpec, noticeKey } from './window.js';

/** BullMQ priority of a notice's mail job (any priority runs after every job without one). */
const MAIL_PRIORITY = 10;

/** Queues the mail of a notice just posted (when there is anyone to mail). */
export async function queueMail(
  ctx: Ctx,
  by: BaseJobData,
  windowId: string,
  spec: NoticeSpec,
  lateMs: number,
) {
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

/** Sends the mail a `mail` job names, unless it was sent. */
export async function sendMail(ctx: JobContext<NoticeData>, d: NoticeData): Promise<NoticeResult> {
  const spec = d.mail;
  if (!spec) return skipped(ctx, d, 'no notice to mail');
  const s = storeOf(ctx);
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
