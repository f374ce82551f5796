import { describe, expect, it } from 'vitest';
import {
  alertCard,
  formatBytes,
  mentionText,
  notifyReply,
  resolvedReply,
} from '../../../../jobs/dumps/alert-card.js';
import type { DumpAlert } from '../../../../jobs/dumps/store.js';

const at = Date.parse('2026-03-13T21:00:00Z'); // 06:00 JST on the 14th
const base: DumpAlert = {
  id: 'da-ggh_datatransit-20260314',
  job: 'ggh_datatransit',
  day: '2026-03-14',
  fireAt: at - 30 * 60_000,
  state: 'open',
  count: 1,
  firstAt: at,
  lastAt: at,
  last: {
    verdict: 'too-small',
    at,
    source: 'check',
    expectedKey: 'dumps/ggh_datatransit_20260314',
    dueAt: at,
    range: [80_000, 120_000],
    median: 100_000,
    tolerancePct: 20,
    historyDays: 7,
    seenKey: 'dumps/ggh_datatransit_20260314.sql.gz',
    seenSize: 50_000,
  },
  mentioned: true,
  version: 1,
};
const opts = { zone: 'Asia/Tokyo', mention: '@here' };
const text = (a: DumpAlert) => JSON.stringify(alertCard(a, opts));

describe('dump alert card', () => {
  it('says what was expected and seen, mentions, and has Acknowledge and Re-check', () => {
    const card = alertCard(base, opts);
    const t = JSON.stringify(card);
    expect(card.text).toMatch(/^<!here> Dump alert: ggh_datatransit for 2026-03-14: too small/);
    expect(t).toContain('dumps/ggh_datatransit_20260314…');
    expect(t).toContain('78.1 KiB (80,000 bytes) – 117.2 KiB (120,000 bytes)');
    expect(t).toContain('50 % of the median');
    expect(t).toContain('2026-03-14 06:00 JST');
    expect(t).toContain('"action_id":"dump_ack","value":"da-ggh_datatransit-20260314"');
    expect(t).toContain('"action_id":"dump_recheck"');
  });

  it('acknowledged: shows who, no mention, no Acknowledge button', () => {
    const t = text({ ...base, state: 'acked', ackedBy: 'U0BOB', ackedAt: at, count: 2 });
    expect(t).toContain('Acknowledged by <@U0BOB>');
    expect(t).not.toContain('<!here>');
    expect(t).not.toContain('dump_ack');
    expect(t).toContain('dump_recheck');
    expect(t).toContain('*Failures:* 2');
  });

  it('during a maintenance window: labelled, no mention', () => {
    const t = text({ ...base, windowId: 'mw-7f3a', windowTitle: 'DB <upgrade>', windowEnd: at + 3_600_000 });
    expect(t).toContain('During maintenance window `mw-7f3a` *DB &lt;upgrade&gt;*');
    expect(t).not.toContain('<!here>');
  });

  it('resolved: no buttons; the thread reply says resolved', () => {
    const resolved: DumpAlert = {
      ...base,
      state: 'resolved',
      resolvedAt: at,
      resolved: { ...(base.last as NonNullable<DumpAlert['last']>), verdict: 'ok', seenSize: 99_000 },
    };
    expect(text(resolved)).not.toContain('"actions"');
    expect(text(resolved)).toContain('Resolved');
    expect(resolvedReply(resolved, 'Asia/Tokyo')).toMatch(
      /^:white_check_mark: resolved: `dumps\/ggh_datatransit_20260314\.sql\.gz` 96\.7 KiB/,
    );
  });

  it('makes a cron host message inert and renders mentions', () => {
    const t = text({
      ...base,
      last: {
        ...(base.last as NonNullable<DumpAlert['last']>),
        source: 'report',
        verdict: 'reported-failed',
        exitCode: 3,
        message: '<!channel> `boom`',
      },
    });
    expect(t).toContain('exit code 3: \\"&lt;!channel&gt; \'boom\'\\"');
    expect(mentionText('@channel')).toBe('<!channel>');
    expect(mentionText('<!subteam^S0SRE>')).toBe('<!subteam^S0SRE>');
    expect(mentionText(undefined)).toBe('');
    expect(notifyReply(base, opts)).toMatch(/^<!here> :rotating_light: Dump \*ggh_datatransit\*/);
    expect(formatBytes(512)).toBe('512 bytes');
  });
});
