// What the parts of the notice job (job.ts, post.ts, mail.ts) share: the window store a job reads,
// the notice its data names, and how a job whose notice is not to go out ends.
import type { JobContext } from '../common.js';
import type { NoticeData, NoticeResult } from './data.js';
import type { WindowStore } from './store.js';
import { type NoticeKind, type NoticeSpec, noticeKey, type ThreadNoticeKind } from './window.js';

export type Ctx = Pick<JobContext<NoticeData>, 'deps'>;

export function storeOf(ctx: Ctx): WindowStore {
  return { redis: ctx.deps.redis, prefix: ctx.deps.prefix };
}

/** The thread notice a job's data names. */
export function noticeOf(d: NoticeData): NoticeSpec {
  return {
    notice: d.notice as ThreadNoticeKind,
    due: d.due,
    ...(d.lead !== undefined ? { lead: d.lead } : {}),
    ...(d.end !== undefined ? { end: d.end } : {}),
  };
}

/** The job's notice (or mail) is not to go out: a log line and the result that says why. */
export function skipped(ctx: JobContext<NoticeData>, d: NoticeData, why: string): NoticeResult {
  const notice = d.mail ? `mail-${noticeKey(d.mail)}` : noticeKey(d as { notice: NoticeKind });
  ctx.log.info({ windowId: d.windowId, notice, why }, 'notice skipped');
  return { windowId: d.windowId, notice, outcome: 'skipped', why };
}
