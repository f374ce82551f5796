// Block Kit for /migration: the approval cards (phase 3, the phase-5 cleanup) and the status card.
// Pure functions of the stored state, so the bot (on a click) and the workers (as the run moves)
// render the same card.
// Everything a person typed (a Reject reason) and every error text is escaped for Slack here, in the
// blocks and the fallback text alike.
import type { Button } from '@slack/types';
import type { Config } from '../../infra/config.js';
import type { Blocks } from '../../infra/notifier.js';
import { escapeSlack, quoteSlack } from '../../infra/slack-text.js';
import { formatDuration, formatLocal, slackDate } from '../../infra/times.js';
import { formatBytes } from '../dumps/index.js';
import type { CheckItem, Phase2Result } from './aws.js';
import type { CleanupGate } from './gate.js';
import { approverSet, countingApprovals, livePlan, planChanges, planHash } from './plan.js';
import type { CleanupRequest, Cutover, MigrationRequest, Phase3Request } from './store.js';

const STATE: Record<Phase3Request['state'], string> = {
  pending: ':hourglass: Pending approval',
  approved: ':white_check_mark: Approved, waiting for the window',
  running: ':arrows_counterclockwise: Running',
  done: ':white_check_mark: Done',
  failed: ':x: Failed',
  rejected: ':no_entry: Rejected',
  expired: ':alarm_clock: Expired',
  cancelled: ':no_entry_sign: Cancelled',
  'rolling-back': ':leftwards_arrow_with_hook: Rolling back',
  'rolled-back': ':leftwards_arrow_with_hook: Rolled back',
};

const md = (text: string) => ({ type: 'mrkdwn' as const, text });
const plain = (text: string) => ({ type: 'plain_text' as const, text });

export interface CardContext {
  zone: string;
  now: number;
  streak?: number;
  streakNeeded: number;
  /** Approvals that still count (bound to the current plan). */
  current: string[];
  /** The quorum under the config now. */
  quorum?: number;
  /** What changed in the plan since it was approved (empty: nothing). */
  changes?: string[];
  /** The window's end as it is now (it may have been extended). */
  windowEnd?: number;
  /** When a pending request expires, as the window is now. */
  expiresAt?: number;
}

/** The lines every approval card shows below its plan: who approved so far, and the expiry while pending. */
function approvalLines(
  r: MigrationRequest,
  c: {
    zone: string;
    now: number;
    current: string[];
    quorum?: number;
    changes?: string[];
    expiresAt?: number;
  },
): string[] {
  const lines = [
    `*Approvals:* ${c.current.length} of ${c.quorum ?? r.needed}${c.current.length ? `: ${c.current.map((u) => `<@${u}>`).join(', ')}` : ''}`,
  ];
  const open = ['pending', 'approved', 'running', 'failed'].includes(r.state);
  if (open && c.changes?.length) {
    lines.push(
      `:warning: *The plan changed since it was approved:* ${c.changes.map((x) => quoteSlack(x, 200)).join('; ')}. The approvals no longer count and nothing more runs: make a new request.`,
    );
  }
  if (r.state === 'pending') {
    const at = c.expiresAt ?? r.expiresAt;
    const left = at - c.now;
    lines.push(
      `*Expires:* ${slackDate(at, c.zone)} (in ${formatDuration(Math.max(1000, Math.round(left / 1000) * 1000))})`,
    );
  }
  return lines;
}

/** The state line: rejected by whom and why, or why it expired. */
function stateLine(r: MigrationRequest, labels: Record<MigrationRequest['state'], string>): string {
  const by =
    r.state === 'rejected' && r.rejectedBy
      ? ` by <@${r.rejectedBy}>${r.reason ? `: ${quoteSlack(r.reason, 300)}` : ''}`
      : '';
  const who =
    r.state === 'cancelled' && r.cancelledBy && /^[UW][A-Z0-9]+$/.test(r.cancelledBy)
      ? ` by <@${r.cancelledBy}>`
      : '';
  const why =
    (r.state === 'expired' || r.state === 'cancelled') && r.reason
      ? ` (${quoteSlack(r.reason, 500)}${who})`
      : '';
  const stopping =
    r.state === 'running' && r.stop ? ` — stopping before its next change: ${quoteSlack(r.stop, 200)}` : '';
  return `*State:* ${labels[r.state]}${by}${why}${stopping}`;
}

/** What a decision button's confirm dialog says. */
export interface Confirm {
  title: string;
  text: string;
}

/**
 * Approve and Reject, each behind a confirm dialog; the value is the request id (the state is in
 * Redis). The card and the Home tab both show these, so a click from either reaches one listener.
 */
export function decisionElements(requestId: string, approve: Confirm, reject: Confirm): Button[] {
  return [
    {
      type: 'button',
      action_id: 'mig_approve',
      value: requestId,
      style: 'primary',
      text: plain('Approve'),
      confirm: {
        title: plain(approve.title),
        text: plain(approve.text),
        confirm: plain('Approve'),
        deny: plain('Not yet'),
      },
    },
    {
      type: 'button',
      action_id: 'mig_reject',
      value: requestId,
      style: 'danger',
      text: plain('Reject'),
      confirm: {
        title: plain(reject.title),
        text: plain(reject.text),
        confirm: plain('Reject'),
        deny: plain('Keep it'),
      },
    },
  ];
}

function decisionButtons(r: MigrationRequest, approve: Confirm, reject: Confirm): Blocks[number] {
  return {
    type: 'actions',
    block_id: `${r.kind === 'phase3' ? 'p3' : 'p5'}-${r.id}`,
    elements: decisionElements(r.id, approve, reject),
  };
}

/** The approval card of a phase-3 request. */
export function approvalCard(r: Phase3Request, c: CardContext): { text: string; blocks: Blocks } {
  const p = r.plan;
  const end = c.windowEnd ?? p.windowEnd;
  const steps = p.steps.map((s, i) => {
    const mark =
      r.state === 'failed' && r.failedStep === i
        ? ':x:'
        : i < r.step
          ? ':white_check_mark:'
          : r.state === 'running' && i === r.step
            ? ':arrows_counterclockwise:'
            : '•';
    return `${mark} ${i + 1}. ${s}`;
  });
  const lines = [
    `*Phase 3: attach the instance profile* (\`${r.id}\`), requested by <@${r.requester}>`,
    stateLine(r, STATE),
    `*Plan:* account ${p.account} (${p.accountId}, ${p.region}); instance \`${p.instanceId}\`${r.instanceName ? ` (${r.instanceName})` : ''}; instance profile \`${p.instanceProfile}\` with role \`${p.role}\``,
    `*Steps:*\n${steps.join('\n')}`,
    `*Window:* \`${escapeSlack(r.windowId)}\` ${slackDate(p.windowStart, c.zone)} – ${slackDate(end, c.zone)} (${formatLocal(p.windowStart, c.zone)}, ${formatDuration(end - p.windowStart)})`,
    `*Prerequisites:* parallel-testing streak ${c.streak ?? '?'} of ${c.streakNeeded} days :white_check_mark:; phase 1 check :white_check_mark:; notices scheduled in the window's thread :white_check_mark:; for the approvers to confirm: crontab backed up, rollback plan reviewed (\`/migration rollback 3\`)`,
    ...approvalLines(r, c),
  ];
  if (r.state === 'failed' && r.error)
    lines.push(`*Failed at step ${(r.failedStep ?? 0) + 1}:* ${quoteSlack(r.error, 500)}`);
  const blocks: Blocks = [{ type: 'section', text: md(lines.join('\n')) }];
  if (r.state === 'pending') {
    blocks.push(
      decisionButtons(
        r,
        {
          title: 'Approve phase 3?',
          text: `Stop ${p.instanceId}, attach ${p.instanceProfile} and start it again in the window.`,
        },
        { title: 'Reject this request?', text: 'The request is cancelled, with the window it created.' },
      ),
    );
  }
  if (r.state === 'failed') {
    blocks.push({
      type: 'actions',
      block_id: `p3-failed-${r.id}`,
      elements: [
        {
          type: 'button',
          action_id: 'mig_retry',
          value: r.id,
          text: plain('Retry'),
          confirm: {
            title: plain('Retry phase 3?'),
            text: plain('Re-runs from the failed step.'),
            confirm: plain('Retry'),
            deny: plain('Cancel'),
          },
        },
        {
          type: 'button',
          action_id: 'mig_rollback',
          value: r.id,
          style: 'danger',
          text: plain('Roll back'),
          confirm: {
            title: plain('Roll back phase 3?'),
            text: plain(`Disassociate the instance profile from ${p.instanceId} and make sure it runs.`),
            confirm: plain('Roll back'),
            deny: plain('Cancel'),
          },
        },
      ],
    });
  }
  return { text: `Phase 3 request ${r.id}: ${r.state}`, blocks };
}

/**
 * The approval card of a request as it stands, judged by the config now: the approvals that count
 * (bound to the plan the config describes, by people who may approve now, not the requester), the
 * quorum, what changed in the plan since the approvals, and the window's live end.
 */
export function approvalCardOf(
  config: Config,
  now: number,
  r: MigrationRequest,
  window?: { end: number },
): { text: string; blocks: Blocks } {
  let hash = '';
  let changes: string[] = [];
  let quorum = r.needed;
  try {
    const live = livePlan(config, r.plan);
    hash = planHash(live);
    changes = hash === r.planHash ? [] : planChanges(r.plan, live);
    if (hash !== r.planHash && !changes.length) changes = ['the plan (its steps or window)'];
    quorum = config.migration?.approvals ?? r.needed;
  } catch {
    changes = ['the migration is no longer configured'];
  }
  const current = countingApprovals(r, hash, approverSet(config));
  if (r.kind === 'cleanup') return cleanupCard(r, { zone: config.timezone, now, current, quorum, changes });
  return approvalCard(r, {
    zone: config.timezone,
    now,
    streak: r.streak,
    streakNeeded: config.migration?.streakDays ?? 7,
    current,
    quorum,
    changes,
    windowEnd: window?.end,
    expiresAt: window ? window.end - (config.migration?.runMinutes ?? 10) * 60_000 : undefined,
  });
}

const CLEANUP_STATE: Record<CleanupRequest['state'], string> = {
  ...STATE,
  approved: ':white_check_mark: Approved, deleting',
  running: ':arrows_counterclockwise: Deleting',
};

/** The approval card of the phase-5 cleanup: delete the listed objects under the test prefix. */
export function cleanupCard(
  r: CleanupRequest,
  c: { zone: string; now: number; current: string[]; quorum?: number; changes?: string[] },
): { text: string; blocks: Blocks } {
  const p = r.plan;
  const where = `s3://${p.bucket}/${p.prefix}`;
  const size = formatBytes(p.bytes);
  const lines = [
    `*Phase 5: delete the parallel-test dumps* (\`${r.id}\`), requested by <@${r.requester}>`,
    stateLine(r, CLEANUP_STATE),
    `*Plan:* in account ${p.account} (${p.accountId}, ${p.region}), delete every object under \`${where}\`: ${p.objects} objects, ${size}, as listed at ${formatLocal(r.createdAt, c.zone)}. Only those keys, all starting with \`${p.prefix}\`; nothing else in ${p.bucket} is touched.`,
    `*Gate (checked for this request):* every cron cut over, 14 days since the last cutover, no failed dump check since :white_check_mark:`,
  ];
  if (r.state === 'running' || r.state === 'done' || r.state === 'failed')
    lines.push(`*Progress:* ${r.deleted} of ${p.objects} objects deleted`);
  lines.push(...approvalLines(r, c));
  if (r.state === 'failed' && r.error) lines.push(`*Failed:* ${quoteSlack(r.error, 500)}`);
  const blocks: Blocks = [{ type: 'section', text: md(lines.join('\n')) }];
  if (r.state === 'pending') {
    blocks.push(
      decisionButtons(
        r,
        {
          title: 'Delete the test dumps?',
          text: `Delete ${p.objects} objects (${size}) under ${where} in ${p.account}. This cannot be undone.`,
        },
        { title: 'Reject this request?', text: 'The request is cancelled; nothing is deleted.' },
      ),
    );
  }
  return { text: `Cleanup request ${r.id}: ${r.state}`, blocks };
}

export interface StatusInput {
  phase1: CheckItem[];
  phase2: Phase2Result | { error: string };
  streakNeeded: number;
  associated: boolean;
  request?: Phase3Request;
  cutovers: Cutover[];
  cronOrder: string[];
  /** Phase 5's gate, and the latest cleanup request. */
  gate: CleanupGate;
  cleanup?: CleanupRequest;
  zone: string;
  now: number;
}

/** The one status card: phases 1-5, each with its state and the evidence, and what to do next. */
export function statusCard(s: StatusInput): { text: string; blocks: Blocks } {
  const ok1 = s.phase1.every((i) => i.ok);
  const streak = 'streak' in s.phase2 ? s.phase2.streak : undefined;
  const ok2 = streak !== undefined && streak >= s.streakNeeded;
  const done4 = s.cronOrder.filter((c) => s.cutovers.some((x) => x.cron === c));
  const watched = s.cutovers
    .map((c) => {
      const seen = (c.watch ?? []).map((w) => `${w.day} ${w.ok ? ':white_check_mark:' : ':x:'}`);
      return `${c.cron} since ${formatLocal(c.at, s.zone).slice(0, 10)}${c.forced ? ' (forced)' : ''}: uploads ${seen.length ? seen.join(', ') : 'watching'}${seen.length < 2 ? ` (${2 - seen.length} to come)` : ''}`;
    })
    .join('; ');
  const lines = [
    '*EC2 cron-host migration: status*',
    `${ok1 ? ':white_check_mark:' : ':x:'} *Phase 1, infrastructure:* ${s.phase1.map((i) => `${i.name} ${i.detail}`).join('; ')}`,
    `${ok2 ? ':white_check_mark:' : ':hourglass:'} *Phase 2, parallel testing:* ${'error' in s.phase2 ? s.phase2.error : `streak ${streak} of ${s.streakNeeded} good days (both dumps, sizes within 5 %)`}`,
    `${s.associated ? ':white_check_mark:' : ':hourglass:'} *Phase 3, instance profile:* ${s.associated ? 'associated' : 'not associated'}${s.request ? `; request \`${s.request.id}\` ${s.request.state}` : ''}`,
    `${done4.length === s.cronOrder.length && s.cronOrder.length > 0 ? ':white_check_mark:' : ':hourglass:'} *Phase 4, cutover:* ${done4.length} of ${s.cronOrder.length} cron jobs${watched ? ` — ${watched}` : ''}`,
    `${s.cleanup?.state === 'done' ? ':white_check_mark:' : ':hourglass:'} *Phase 5, cleanup:* ${s.gate.open ? 'gate open' : `gate closed: ${s.gate.reasons.join('; ')}`}${s.cleanup ? `; deletion of the test dumps \`${s.cleanup.id}\` ${s.cleanup.state}${s.cleanup.state === 'done' ? ` (${s.cleanup.deleted} objects)` : ''}` : ''}`,
  ];
  const next = !ok1
    ? 'Next: deploy the phase 1 infrastructure, then `/migration check 1`.'
    : !ok2
      ? 'Next: keep the parallel test crons running until the streak reaches the target.'
      : !s.associated
        ? 'Next: `/migration phase3 request <start> [<duration>]`.'
        : done4.length < s.cronOrder.length
          ? `Next: \`/migration cutover ${s.cronOrder.find((c) => !done4.includes(c))}\` (one a day).`
          : s.cleanup?.state === 'done'
            ? 'Next: the cleanup steps on the host and in the documentation (`/migration check 5` lists them).'
            : 'Next: `/migration check 5`.';
  lines.push(next, `_Updated ${formatLocal(s.now, s.zone)}_`);
  return {
    text: 'Migration status',
    blocks: [
      { type: 'section', text: md(lines.join('\n')) },
      {
        type: 'actions',
        elements: [{ type: 'button', action_id: 'mig_refresh', value: 'status', text: plain('Refresh') }],
      },
    ],
  };
}
