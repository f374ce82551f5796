// The maintenance queue and what its jobs carry (ids, names and times only, never a secret): one
// delayed job per notice (announcement, each reminder, start, end, cancellation, extension, edit), with
// a deterministic id so each is queued once, and one job per mail of a notice, so SMTP never holds up
// Slack.
import type { Config } from '../../infra/config.js';
import { parseDuration } from '../../infra/times.js';
import type { BaseJobData } from '../common.js';
import { type NewWindow, type NoticeKind, type NoticeSpec, noticeKey } from './window.js';

export const MAINTENANCE_QUEUE = 'maintenance';

/** A notice posted this long after its time says it is late. */
export const LATE_AFTER_MS = 5_000;
/** A notice that Slack does not take is tried again after at most this long. */
export const RETRY_CAP_MS = 60_000;
/** A repeat of the same `/maintenance schedule` within this long is answered as a duplicate. */
export const SCHEDULE_DEDUP_MS = 5 * 60_000;

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

/** The deterministic job id of a window's notice. */
export function noticeJobId(
  windowId: string,
  d: { notice: NoticeKind; lead?: number; end?: number },
): string {
  return `${windowId}-${noticeKey(d)}`;
}

/** The deterministic job id of a notice's mail. */
export function mailJobId(windowId: string, spec: NoticeSpec): string {
  return `${windowId}-mail-${noticeKey(spec)}`;
}

/** The reminder leads of the config, in ms, longest first. */
export function reminderLeads(config: Config): number[] {
  return config.maintenance.remindBefore.map(parseDuration).sort((a, b) => b - a);
}
