// What a window looks like in Slack and in mail (pure): the announcement card (the window's home,
// edited as it moves through its states), each notice's thread reply, its mail, and the operators'
// alert of a dropped notice. Everything a person typed is escaped for Slack; mail keeps it as typed.
import type { Blocks } from '../../infra/notifier.js';
import { escapeSlack } from '../../infra/slack-text.js';
import { formatDuration, formatLocal, slackDate } from '../../infra/times.js';
import { LATE_AFTER_MS, type NoticeData } from './data.js';
import type { MaintenanceWindow, NoticeSpec, ThreadNoticeKind } from './window.js';

const STATE_LABEL: Record<MaintenanceWindow['state'], string> = {
  scheduled: ':calendar: Scheduled',
  'in-progress': ':construction: In progress',
  completed: ':white_check_mark: Completed',
  cancelled: ':no_entry_sign: Cancelled',
};

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
