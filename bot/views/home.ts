// The App Home tab: what concerns the person who opened it, now. A pure function of plain data the
// bot reads from Redis (open dump alerts, active and upcoming maintenance windows, the migration's
// phases and requests waiting for approval, the person's own recent jobs), so a test can call it and
// every refresh re-renders the whole view. Its buttons carry the same action ids and values as the
// channel cards (dump_ack / dump_recheck with the alert id, mig_approve / mig_reject with the request
// id), so a click from Home goes through the same authorised, audited listeners.
import type { Button, HomeView, KnownBlock } from '@slack/types';
import { escapeSlack, quoteSlack } from '../../infra/slack-text.js';
import { formatDuration, formatLocal, slackDate } from '../../infra/times.js';
import { decisionElements } from '../../jobs/migration/index.js';

/** An unresolved dump alert of the day (open, or acknowledged and still failing). */
export interface HomeAlert {
  id: string;
  job: string;
  /** The dump's day, `YYYY-MM-DD`. */
  day: string;
  state: 'open' | 'acked';
  count: number;
  lastAt: number;
  /** What the last check saw, in words (`missing`, `too small`, …). */
  seen?: string;
  ackedBy?: string;
  /** The maintenance window it was raised in, if any (no mention while it lasts). */
  windowId?: string;
}

/** A maintenance window that is in progress or still to come. */
export interface HomeWindow {
  id: string;
  title: string;
  start: number;
  end: number;
  state: 'scheduled' | 'in-progress';
  createdBy: string;
}

/** One migration phase: its name, whether it is done, and the evidence in a few words. */
export interface HomePhase {
  name: string;
  done: boolean;
  detail?: string;
}

/** A migration request waiting for approvals. */
export interface HomeRequest {
  id: string;
  kind: 'phase3' | 'cleanup';
  requester: string;
  /** What it will do, in one line (the card's plan, shortened). */
  summary: string;
  /** Users whose approvals still count. */
  approvals: string[];
  needed: number;
  expiresAt: number;
}

/** One of the viewer's recent jobs (from /chatops jobs). */
export interface HomeJob {
  id: string;
  queue: string;
  name: string;
  state: string;
  createdAt: number;
  failedReason?: string;
}

export interface HomeData {
  /** The Slack user the view is published for. */
  viewer: string;
  /** The viewer holds `approver` (may approve migration requests). */
  isApprover: boolean;
  zone: string;
  now: number;
  alerts: HomeAlert[];
  windows: HomeWindow[];
  /** Absent when no migration is configured: the section is left out. */
  migration?: { phases: HomePhase[]; requests: HomeRequest[] };
  jobs: HomeJob[];
}

/** How many items of each kind the view shows, so it stays within Slack's 100 blocks per view. */
export const HOME_LIMITS = { alerts: 15, windows: 10, requests: 5, jobs: 10, phases: 10 } as const;
/** Slack's limits the view must keep. */
const MAX_BLOCKS = 100;
const MAX_SECTION_TEXT = 3000;

const md = (text: string) => ({ type: 'mrkdwn' as const, text });
const plain = (text: string) => ({ type: 'plain_text' as const, text, emoji: true });

/** A mention for a Slack user id; anything that is not one is shown as inert text. */
function user(id: string): string {
  return /^[UW][A-Z0-9]{2,30}$/.test(id) ? `<@${id}>` : escapeSlack(id);
}

/** Lines joined, cut at a line boundary to fit a section's text. */
function fitText(lines: string[]): string {
  let out = '';
  for (const [i, line] of lines.entries()) {
    const next = out ? `${out}\n${line}` : line;
    if (next.length > MAX_SECTION_TEXT - 40) return `${out}\n… and ${lines.length - i} more`;
    out = next;
  }
  return out;
}

function section(blockId: string, lines: string[]): KnownBlock {
  return { type: 'section', block_id: blockId, text: md(fitText(lines)) };
}

function header(blockId: string, text: string): KnownBlock {
  return { type: 'header', block_id: blockId, text: plain(text) };
}

function context(blockId: string, text: string): KnownBlock {
  return { type: 'context', block_id: blockId, elements: [md(text)] };
}

function more(blockId: string, shown: number, total: number, where: string): KnownBlock[] {
  return total > shown ? [context(blockId, `${total - shown} more: ${where}`)] : [];
}

function alertBlocks(alerts: HomeAlert[], zone: string): KnownBlock[] {
  const out: KnownBlock[] = [header('home-alerts', ':rotating_light: Dump alerts')];
  if (!alerts.length) return [...out, section('home-alerts-none', ['No open dump alerts.'])];
  const shown = [...alerts].sort((a, b) => b.lastAt - a.lastAt).slice(0, HOME_LIMITS.alerts);
  for (const a of shown) {
    const lines = [
      `*${quoteSlack(a.job, 100)}* for ${escapeSlack(a.day)}: ${a.seen ? quoteSlack(a.seen, 200) : 'failing'} (${a.count} failed check${a.count === 1 ? '' : 's'}, last ${formatLocal(a.lastAt, zone)})`,
    ];
    if (a.state === 'acked') lines.push(`:eyes: Acknowledged${a.ackedBy ? ` by ${user(a.ackedBy)}` : ''}`);
    if (a.windowId)
      lines.push(`:construction: Raised during maintenance window \`${quoteSlack(a.windowId, 40)}\``);
    const buttons: Button[] = [];
    if (a.state === 'open') {
      buttons.push({ type: 'button', action_id: 'dump_ack', value: a.id, text: plain('Acknowledge') });
    }
    buttons.push({ type: 'button', action_id: 'dump_recheck', value: a.id, text: plain('Re-check') });
    out.push(section(`home-alert-${a.id}`, lines), {
      type: 'actions',
      block_id: `home-alert-actions-${a.id}`,
      elements: buttons,
    });
  }
  return [...out, ...more('home-alerts-more', shown.length, alerts.length, '`/dumps status`')];
}

function windowBlocks(windows: HomeWindow[], zone: string, now: number): KnownBlock[] {
  const out: KnownBlock[] = [header('home-windows', ':construction: Maintenance windows')];
  const live = windows
    .filter((w) => w.end > now)
    .sort((a, b) => (a.state === b.state ? a.start - b.start : a.state === 'in-progress' ? -1 : 1));
  if (!live.length)
    return [...out, section('home-windows-none', ['No active or upcoming maintenance windows.'])];
  const shown = live.slice(0, HOME_LIMITS.windows);
  for (const w of shown) {
    const when =
      w.state === 'in-progress'
        ? `:large_orange_circle: *In progress*, ends ${slackDate(w.end, zone)} (in ${formatDuration(Math.max(0, w.end - now))})`
        : `:calendar: *Upcoming* ${slackDate(w.start, zone)} – ${formatLocal(w.end, zone)} (starts in ${formatDuration(Math.max(0, w.start - now))})`;
    out.push(
      section(`home-window-${w.id}`, [
        `\`${quoteSlack(w.id, 40)}\` *${quoteSlack(w.title, 150)}*`,
        `${when}, scheduled by ${user(w.createdBy)}`,
      ]),
    );
  }
  return [...out, ...more('home-windows-more', shown.length, live.length, '`/maintenance list`')];
}

function requestBlocks(r: HomeRequest, d: HomeData): KnownBlock[] {
  const what =
    r.kind === 'phase3' ? 'Phase 3: attach the instance profile' : 'Phase 5: delete the parallel-test dumps';
  const left = Math.max(0, r.needed - r.approvals.length);
  const mine = r.requester === d.viewer;
  const approved = r.approvals.includes(d.viewer);
  const canDecide = d.isApprover && !mine && !approved;
  const lines = [
    `${canDecide ? ':raised_hand: *Waiting for your approval:* ' : ':hourglass: '}*${what}* (\`${quoteSlack(r.id, 40)}\`), requested by ${user(r.requester)}`,
    quoteSlack(r.summary, 600),
    `*Approvals:* ${r.approvals.length} of ${r.needed}${r.approvals.length ? `: ${r.approvals.map(user).join(', ')}` : ''} · *expires* ${slackDate(r.expiresAt, d.zone)} (in ${formatDuration(Math.max(0, r.expiresAt - d.now))})`,
  ];
  if (mine)
    lines.push(`You requested this; ${left} more approval${left === 1 ? '' : 's'} needed from others.`);
  else if (approved) lines.push(`:ballot_box_with_check: You approved; ${left} more needed.`);
  else if (!d.isApprover) lines.push('Only approvers can approve or reject it.');
  const blocks: KnownBlock[] = [section(`home-request-${r.id}`, lines)];
  if (canDecide) {
    const cleanup = r.kind === 'cleanup';
    blocks.push({
      type: 'actions',
      block_id: `home-request-actions-${r.id}`,
      elements: decisionElements(
        r.id,
        {
          title: cleanup ? 'Delete the test dumps?' : 'Approve phase 3?',
          text: `${r.summary.slice(0, 240)}${cleanup ? ' This cannot be undone.' : ''}`,
        },
        {
          title: 'Reject this request?',
          text: cleanup
            ? 'The request is cancelled; nothing is deleted.'
            : 'The request is cancelled, with the window it created.',
        },
      ),
    });
  }
  return blocks;
}

function migrationBlocks(m: NonNullable<HomeData['migration']>, d: HomeData): KnownBlock[] {
  const out: KnownBlock[] = [header('home-migration', ':building_construction: EC2 cron-host migration')];
  const phases = m.phases.slice(0, HOME_LIMITS.phases);
  if (phases.length) {
    out.push(
      section(
        'home-migration-phases',
        phases.map(
          (p) =>
            `${p.done ? ':white_check_mark:' : ':hourglass:'} *${quoteSlack(p.name, 100)}*${p.detail ? `: ${quoteSlack(p.detail, 300)}` : ''}`,
        ),
      ),
    );
  }
  // Requests the viewer can decide first.
  const order = (r: HomeRequest) =>
    d.isApprover && r.requester !== d.viewer && !r.approvals.includes(d.viewer) ? 0 : 1;
  const requests = [...m.requests].sort((a, b) => order(a) - order(b) || a.expiresAt - b.expiresAt);
  if (!requests.length) out.push(section('home-requests-none', ['No request is waiting for approval.']));
  const shown = requests.slice(0, HOME_LIMITS.requests);
  for (const r of shown) out.push(...requestBlocks(r, d));
  return [...out, ...more('home-requests-more', shown.length, requests.length, '`/migration status`')];
}

const JOB_ICON: Record<string, string> = {
  completed: ':white_check_mark:',
  failed: ':x:',
  active: ':arrows_counterclockwise:',
  waiting: ':hourglass:',
  prioritized: ':hourglass:',
  delayed: ':clock3:',
};

function jobBlocks(jobs: HomeJob[], zone: string): KnownBlock[] {
  const out: KnownBlock[] = [header('home-jobs', ':gear: Your recent jobs')];
  if (!jobs.length) return [...out, section('home-jobs-none', ['No jobs of yours recently.'])];
  const shown = [...jobs].sort((a, b) => b.createdAt - a.createdAt).slice(0, HOME_LIMITS.jobs);
  const lines = shown.map(
    (j) =>
      `${JOB_ICON[j.state] ?? ':grey_question:'} \`${quoteSlack(j.queue, 40)}\` ${quoteSlack(j.name, 100)}: *${quoteSlack(j.state, 20)}* (${formatLocal(j.createdAt, zone)})` +
      (j.state === 'failed' && j.failedReason ? `\n      ${quoteSlack(j.failedReason, 200)}` : ''),
  );
  return [
    ...out,
    section('home-jobs-list', lines),
    ...more('home-jobs-more', shown.length, jobs.length, '`/chatops jobs`'),
  ];
}

/** True when nothing needs the viewer: no alert, no live window, no request waiting, no job of theirs. */
export function nothingOpen(d: HomeData): boolean {
  return (
    d.alerts.length === 0 &&
    d.windows.every((w) => w.end <= d.now) &&
    (d.migration?.requests.length ?? 0) === 0 &&
    d.jobs.length === 0
  );
}

/** The Home tab for `d.viewer` (for `views.publish`). */
export function homeView(d: HomeData): HomeView {
  const blocks: KnownBlock[] = [
    header('home-title', 'ChatOps: what is going on'),
    context('home-updated', `For ${user(d.viewer)} · updated ${formatLocal(d.now, d.zone)}`),
  ];
  if (nothingOpen(d)) {
    blocks.push(
      section('home-nothing', [
        ':sparkles: *Nothing open right now.* No dump alerts, no active or upcoming maintenance windows, nothing waiting for approval, and no recent jobs of yours.',
      ]),
    );
    if (d.migration?.phases.length) blocks.push({ type: 'divider' }, ...migrationBlocks(d.migration, d));
  } else {
    blocks.push(
      { type: 'divider', block_id: 'home-div-alerts' },
      ...alertBlocks(d.alerts, d.zone),
      { type: 'divider', block_id: 'home-div-windows' },
      ...windowBlocks(d.windows, d.zone, d.now),
    );
    if (d.migration)
      blocks.push({ type: 'divider', block_id: 'home-div-migration' }, ...migrationBlocks(d.migration, d));
    blocks.push({ type: 'divider', block_id: 'home-div-jobs' }, ...jobBlocks(d.jobs, d.zone));
  }
  blocks.push(
    context(
      'home-help',
      'Commands: `/dumps status`, `/maintenance list`, `/migration status`, `/chatops jobs`. This tab refreshes when you open it and when something on it changes.',
    ),
  );
  // The limits above keep it under 100 blocks; this only guards against a future section forgetting to.
  return { type: 'home', blocks: blocks.slice(0, MAX_BLOCKS) };
}
