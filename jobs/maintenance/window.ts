// What a maintenance window is, and the notices of its thread (pure): their keys, their order, the
// standard plan every window gets, and how a notice is written as a field of the window's hash (the
// Lua in scripts.ts reads the same `kind|due|lead|end`).
import { randomBytes } from 'node:crypto';

export type WindowState = 'scheduled' | 'in-progress' | 'completed' | 'cancelled';
export type NoticeKind = 'announce' | 'remind' | 'start' | 'end' | 'cancel' | 'extend' | 'edit';
/** The notices that are posts of the window's thread (or, for `announce`, its root). */
export type ThreadNoticeKind = Exclude<NoticeKind, 'edit'>;

export interface WindowTexts {
  impact: string;
  purpose: string;
  rollback: string;
  contact: string;
}

export interface MaintenanceWindow extends WindowTexts {
  id: string;
  title: string;
  /** Epoch ms. */
  start: number;
  end: number;
  state: WindowState;
  createdBy: string;
  createdAt: number;
  /** The request that created it (a job re-creating it from its data recognises its own window). */
  requestId?: string;
  /** The announcement, once posted: every later notice is a reply in its thread. */
  channel?: string;
  ts?: string;
  /** Progress of each notice by key (see store.ts): a Slack ts once posted. */
  sent: Record<string, string>;
  /** The thread plan: every notice registered for this window. */
  notices: NoticeSpec[];
  version: number;
}

/** One notice of a window's thread: what it is and when it is due. */
export interface NoticeSpec {
  notice: ThreadNoticeKind;
  /** Epoch ms. */
  due: number;
  /** For a reminder: how long before the start (ms). */
  lead?: number;
  /** For end and extend: the end it is about (a moved end makes older end notices stale). */
  end?: number;
}

/** What a new window is made of (the id is chosen by the store or the caller). */
export type NewWindow = Omit<
  MaintenanceWindow,
  'id' | 'state' | 'sent' | 'notices' | 'version' | 'channel' | 'ts'
>;

export const WINDOW_ID = /^mw-[0-9a-f]{4,8}$/;

/** A fresh short window id (not checked against Redis). */
export function newWindowId(long = false): string {
  return `mw-${randomBytes(long ? 4 : 2).toString('hex')}`;
}

/** The notice's key within its window (BullMQ job ids are made of it, so no ':'). */
export function noticeKey(d: { notice: NoticeKind; lead?: number; end?: number }): string {
  if (d.notice === 'remind') return `remind-${d.lead}`;
  if (d.notice === 'end' || d.notice === 'extend') return `${d.notice}-${d.end}`;
  return d.notice;
}

const THREAD_KINDS = new Set<string>(['announce', 'remind', 'start', 'end', 'cancel', 'extend']);

/** A notice as the value of its `n:<key>` field: `kind|due|lead|end`. */
export function specField(n: NoticeSpec): string {
  return `${n.notice}|${n.due}|${n.lead ?? ''}|${n.end ?? ''}`;
}

/** The notice a `n:<key>` field holds, or undefined when it is not one. */
export function specOf(field: string): NoticeSpec | undefined {
  const [notice, due, lead, end] = field.split('|');
  if (!notice || !THREAD_KINDS.has(notice)) return undefined;
  return {
    notice: notice as ThreadNoticeKind,
    due: Number(due),
    ...(lead ? { lead: Number(lead) } : {}),
    ...(end ? { end: Number(end) } : {}),
  };
}

/** The `n:<key>`, value pairs that register these notices in a window's hash. */
export function noticeFields(notices: NoticeSpec[]): string[] {
  return notices.flatMap((n) => [`n:${noticeKey(n)}`, specField(n)]);
}

/** Rank among notices due at the same moment (the claim's Lua in scripts.ts has the same table). */
const RANK: Record<ThreadNoticeKind, number> = {
  announce: 0,
  remind: 1,
  extend: 2,
  start: 3,
  cancel: 4,
  end: 5,
};

/** The order of a window's thread: by due time, then by kind. */
export function threadOrder(a: NoticeSpec, b: NoticeSpec): number {
  return a.due - b.due || RANK[a.notice] - RANK[b.notice] || (b.lead ?? 0) - (a.lead ?? 0);
}

/** The notices every window has: its announcement, the reminders still ahead, the start and the end. */
export function standardNotices(
  w: Pick<NewWindow, 'start' | 'end' | 'createdAt'>,
  leads: number[],
): NoticeSpec[] {
  return [
    { notice: 'announce', due: w.createdAt },
    // Leads already past when the window was scheduled collapse into the announcement.
    ...leads
      .filter((lead) => w.start - lead > w.createdAt)
      .map((lead): NoticeSpec => ({ notice: 'remind', lead, due: w.start - lead })),
    { notice: 'start', due: w.start },
    { notice: 'end', due: w.end, end: w.end },
  ];
}
