// The dump alert message (one per job per day) and its thread replies, as pure functions of the
// alert record: every edit re-renders the whole message from Redis.
import type { Blocks } from '../../infra/notifier.js';
import { quoteSlack } from '../../infra/slack-text.js';
import { formatLocal, slackDate } from '../../infra/times.js';
import { slackSafe } from '../progress-card.js';
import type { DumpAlert, Finding } from './store.js';

/** `dumps.mention` as Slack text: `@here` → `<!here>`; user and group mentions pass as written. */
export function mentionText(mention: string | undefined): string {
  if (!mention) return '';
  const special = /^@(here|channel|everyone)$/.exec(mention);
  return special ? `<!${special[1]}>` : mention;
}

/** `94.0 KiB (96,256 bytes)`: readable, and exact for whoever compares with S3. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const exact = `${n.toLocaleString('en-US')} bytes`;
  return u === 0 ? exact : `${v.toFixed(1)} ${units[u]} (${exact})`;
}

const VERDICT_TEXT: Record<Finding['verdict'], string> = {
  ok: 'as expected',
  missing: 'missing',
  'too-small': 'too small',
  'too-large': 'too large',
  empty: 'empty',
  'reported-failed': 'reported failed by the cron host',
};

/** What was expected: the key, by when, and the size range. */
export function expectedText(f: Finding, zone: string): string {
  const size = f.range
    ? `size ${formatBytes(f.range[0])} – ${formatBytes(f.range[1])} (the median of the previous ${f.historyDays} days' objects ±${f.tolerancePct ?? 0} %)`
    : 'any size (no objects in the previous 7 days to compare with)';
  return `\`${slackSafe(f.expectedKey, 300)}…\` by ${slackDate(f.dueAt, zone)}, ${size}`;
}

/** What was seen. */
export function seenText(f: Finding, zone: string): string {
  const when = formatLocal(f.at, zone);
  if (f.source === 'report') {
    const code = f.exitCode === undefined ? '' : ` with exit code ${f.exitCode}`;
    const msg = f.message ? `: "${slackSafe(f.message, 300)}"` : '';
    return `the cron host reported a failure${code}${msg} (${when})`;
  }
  if (f.seenKey === undefined || f.seenSize === undefined) return `no such object (checked ${when})`;
  const share = f.median ? ` (${Math.round((f.seenSize / f.median) * 100)} % of the median)` : '';
  return `\`${slackSafe(f.seenKey, 300)}\` ${formatBytes(f.seenSize)}${share}: ${VERDICT_TEXT[f.verdict]} (checked ${when})`;
}

/** The alert message: header, expected, seen, count, window label, acknowledgement, buttons. */
export function alertCard(
  a: DumpAlert,
  opts: { zone: string; mention?: string },
): { text: string; blocks: Blocks } {
  const zone = opts.zone;
  const f = a.last;
  if (a.state === 'resolved') {
    const r = a.resolved;
    const seen = r?.seenKey
      ? `\`${slackSafe(r.seenKey, 300)}\` ${formatBytes(r.seenSize ?? 0)}`
      : 'the object';
    const text = `:white_check_mark: Resolved: dump *${quoteSlack(a.job, 150)}* for ${a.day}`;
    return {
      text: `Resolved: dump ${quoteSlack(a.job, 150)} for ${a.day}`,
      blocks: [
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: `${text}\n${seen} is there and within range (${formatLocal(a.resolvedAt ?? a.lastAt, zone)}), after ${a.count} failed check${a.count === 1 ? '' : 's'}.`,
          },
        },
        ...(a.ackedBy
          ? [
              {
                type: 'context' as const,
                elements: [{ type: 'mrkdwn' as const, text: `Acknowledged by <@${a.ackedBy}>` }],
              },
            ]
          : []),
      ],
    };
  }
  const mention = a.state === 'open' && !a.windowId ? mentionText(opts.mention) : '';
  const head = `${mention ? `${mention} ` : ''}:rotating_light: *Dump alert: ${quoteSlack(a.job, 150)}* for ${a.day}`;
  const lines = [head];
  if (f) {
    lines.push(`*Expected:* ${expectedText(f, zone)}`);
    lines.push(`*Seen:* ${seenText(f, zone)}`);
  }
  lines.push(
    `*Failures:* ${a.count} (first ${formatLocal(a.firstAt, zone)}, last seen ${formatLocal(a.lastAt, zone)})`,
  );
  const blocks: Blocks = [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }];
  const notes: string[] = [];
  if (a.windowId) {
    notes.push(
      `:construction: During maintenance window \`${a.windowId}\` *${quoteSlack(a.windowTitle ?? '', 150)}*${a.windowEnd ? ` (until ${formatLocal(a.windowEnd, zone)})` : ''}: no mention; checked again when it ends.`,
    );
  }
  if (a.state === 'acked' && a.ackedBy) {
    notes.push(
      `:eyes: Acknowledged by <@${a.ackedBy}>${a.ackedAt ? ` at ${formatLocal(a.ackedAt, zone)}` : ''}`,
    );
  }
  if (notes.length)
    blocks.push({ type: 'context', elements: notes.map((text) => ({ type: 'mrkdwn', text })) });
  blocks.push({
    type: 'actions',
    block_id: `dump-actions-${a.id}`,
    elements: [
      ...(a.state === 'open'
        ? [
            {
              type: 'button' as const,
              action_id: 'dump_ack',
              value: a.id,
              text: { type: 'plain_text' as const, text: 'Acknowledge' },
            },
          ]
        : []),
      {
        type: 'button',
        action_id: 'dump_recheck',
        value: a.id,
        text: { type: 'plain_text', text: 'Re-check' },
      },
    ],
  });
  const fallback = `${mention ? `${mention} ` : ''}Dump alert: ${quoteSlack(a.job, 150)} for ${a.day}: ${f ? VERDICT_TEXT[f.verdict] : 'failing'} (${a.count} failure${a.count === 1 ? '' : 's'})`;
  return { text: fallback, blocks };
}

/** The thread reply when a check passes. */
export function resolvedReply(a: DumpAlert, zone: string): string {
  const r = a.resolved;
  const what = r?.seenKey
    ? `\`${slackSafe(r.seenKey, 300)}\` ${formatBytes(r.seenSize ?? 0)}${r.range ? `, within ${formatBytes(r.range[0])} – ${formatBytes(r.range[1])}` : ''}`
    : 'the object is there';
  return `:white_check_mark: resolved: ${what} (${formatLocal(a.resolvedAt ?? a.lastAt, zone)})`;
}

/** The thread reply (broadcast) that turns a window-labelled or reopened alert into a normal one. */
export function notifyReply(a: DumpAlert, opts: { zone: string; mention?: string }): string {
  const m = mentionText(opts.mention);
  const why = a.count > 1 ? `still failing (${a.count} failures)` : 'failing';
  return `${m ? `${m} ` : ''}:rotating_light: Dump *${quoteSlack(a.job, 150)}* for ${a.day} is ${why}: ${a.last ? seenText(a.last, opts.zone) : ''}`;
}
