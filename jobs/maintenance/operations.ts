// What commands and other features do to a window: schedule, extend and cancel it. Each writes
// job-first: it queues the notice job with what it decided, then writes the window; the job writes the
// same (idempotently) before it posts, so a crash or a Redis error between the two leaves both or
// neither.
import { createHash } from 'node:crypto';
import type { Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config.js';
import type { Logger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis.js';
import type { Queues } from '../queues.js';
import { MAINTENANCE_QUEUE, type NoticeData, noticeJobId, reminderLeads, SCHEDULE_DEDUP_MS } from './data.js';
import {
  cancelWindow,
  createWindowAs,
  type ExtendResult,
  extendWindow,
  getWindow,
  windowExists,
} from './store.js';
import { type NewWindow, type NoticeKind, newWindowId, type WindowState } from './window.js';

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
 * cancel paths (handlers/maintenance/cancel.ts), called when `cancelled` is true; this module imports
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
