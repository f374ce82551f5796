// Posting a notice in its window's thread. Just before posting, a job claims its notice against the
// window's state (store.ts, mwClaim): nothing but the cancellation is posted after a cancel, even by a
// worker that had already picked the notice up; the thread keeps its order (an earlier notice that is
// due but only being retried is posted first, by whichever job gets there). The claim is renewed while
// the post waits out a rate limit, and given up ('unsure') when the post fails.
import { randomUUID } from 'node:crypto';
import { isSlackRefusal } from '../../infra/notifier.js';
import { type BaseJobData, type JobContext, whileRenewing } from '../common.js';
import { type Ctx, noticeOf, skipped, storeOf } from './context.js';
import { LATE_AFTER_MS, type NoticeData, type NoticeResult } from './data.js';
import { queueMail } from './mail.js';
import {
  claimNotice,
  getWindow,
  markDropped,
  markSent,
  releaseClaim,
  renewClaim,
  setAnnouncement,
} from './store.js';
import { announcementCard, droppedText, noticeLine } from './text.js';
import { type MaintenanceWindow, type NoticeSpec, noticeKey } from './window.js';

/** How often a notice waiting for another one in flight looks again. */
const ORDER_POLL_MS = 1_000;

/** Re-renders the announcement from the window's current state (or `known`, just read after the claim). */
export async function refreshAnnouncement(
  ctx: Ctx,
  windowId: string,
  known?: MaintenanceWindow,
): Promise<void> {
  const w = known ?? (await getWindow(storeOf(ctx), windowId));
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
  const s = storeOf(ctx);
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

/**
 * Claims and posts the job's notice, posting first any earlier one of its thread that is only being
 * retried. `jobId` names the claims of this run.
 */
export async function postInOrder(
  ctx: JobContext<NoticeData>,
  d: NoticeData,
  jobId: string | undefined,
): Promise<NoticeResult> {
  const s = storeOf(ctx);
  const own = noticeOf(d);
  const ownKey = noticeKey(own);
  const config = ctx.deps.config;
  const leaseMs = config.jobs.lockMs;
  const graceMs = config.maintenance.lateGraceMinutes * 60_000;
  // One token per run: a claim this run holds is not "another poster" to it.
  const token = `${jobId}/${randomUUID().slice(0, 8)}`;
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

/** A notice that can no longer go out in time: an operator log line and a post in the alerts channel. */
async function dropNotice(
  ctx: JobContext<NoticeData>,
  windowId: string,
  spec: NoticeSpec,
  why: string,
): Promise<void> {
  const { config, notifier } = ctx.deps;
  const key = noticeKey(spec);
  const w = await getWindow(storeOf(ctx), windowId);
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
  await markDropped(storeOf(ctx), windowId, key);
  ctx.deps.metrics.noticeFailed(spec.notice);
}
