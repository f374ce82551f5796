import { describe, expect, it } from 'vitest';
import { auditTime, formatAudit, formatJobs, parseChatopsArgs } from '../../../handlers/chatops.js';

describe('/chatops', () => {
  it('parses help, jobs and audit with a bounded count', () => {
    expect(parseChatopsArgs('')).toEqual({ sub: 'help' });
    expect(parseChatopsArgs('jobs')).toEqual({ sub: 'jobs' });
    expect(parseChatopsArgs('audit')).toEqual({ sub: 'audit', count: 20 });
    expect(parseChatopsArgs('audit 5')).toEqual({ sub: 'audit', count: 5 });
    expect(() => parseChatopsArgs('audit 0')).toThrow(/1 to 200/);
    expect(() => parseChatopsArgs('audit 2.5')).toThrow(/1 to 200/);
    expect(() => parseChatopsArgs('audit lots')).toThrow(/`actions` or `refusals`, not "lots"/);
    expect(parseChatopsArgs('audit actions')).toEqual({ sub: 'audit', count: 20, only: 'actions' });
    expect(parseChatopsArgs('audit 5 refusals')).toEqual({ sub: 'audit', count: 5, only: 'refusals' });
    expect(() => parseChatopsArgs('audit 5 refusals x')).toThrow(/too many arguments/);
    expect(() => parseChatopsArgs('jobs now')).toThrow(/too many arguments/);
    expect(() => parseChatopsArgs('<!channel>')).toThrow(/unknown subcommand "&lt;!channel&gt;"/);
    expect(() => parseChatopsArgs('reboot')).toThrow(/unknown subcommand "reboot"/);
  });

  it('formats jobs with state, requester and failure reason', () => {
    const now = 1_000_000_000;
    const text = formatJobs(
      [
        {
          queue: 'reset-password',
          id: 'rp-1',
          name: 'bob@osio',
          state: 'failed',
          requester: 'U1',
          requestId: 'r',
          createdAt: now - 120_000,
          attemptsMade: 3,
          failedReason: 'smtp down',
        },
        {
          queue: 'reset-password',
          id: 'rp-2',
          name: 'al@osio',
          state: 'completed',
          requester: 'U2',
          requestId: 'r',
          createdAt: now - 5_000,
          attemptsMade: 1,
        },
      ],
      now,
    );
    expect(text).toContain(
      ':x: `reset-password` bob@osio: *failed* after 3 attempts (by <@U1>, 2 min ago, job rp-1)',
    );
    expect(text).toContain('smtp down');
    expect(text).toContain('al@osio: *completed* (by <@U2>, 5s ago');
    expect(formatJobs([], 0)).toBe('No recent jobs.');
  });

  it('formats audit rows in the configured zone with its abbreviation, to the second, user text escaped', () => {
    const row = {
      id: '1-0',
      at: '2026-01-01T00:00:07.250Z',
      requestId: 'abcdef123456',
      user: 'U1',
      action: 'reset-password.other',
      outcome: 'denied' as const,
    };
    expect(formatAudit([row], 'Asia/Tokyo')).toBe(
      '`2026-01-01 09:00:07 JST` <@U1> reset-password.other: *denied* _req abcdef12_',
    );
    expect(formatAudit([row], 'UTC')).toContain('`2026-01-01 00:00:07 UTC`');
    // A date in New York's summer: the abbreviation follows daylight saving.
    expect(formatAudit([{ ...row, at: '2026-07-01T16:30:59Z' }], 'America/New_York')).toContain(
      '`2026-07-01 12:30:59 EDT`',
    );
    const injected = formatAudit(
      [{ ...row, outcome: 'invalid', target: '<!channel>', detail: '<https://evil|x> & <@U9>' }],
      'UTC',
    );
    expect(injected).toContain('&lt;!channel&gt;');
    expect(injected).toContain('(&lt;https://evil|x&gt; &amp; &lt;@U9&gt;)');
    expect(injected).not.toMatch(/<!channel>|<https:|<@U9>/);
    expect(formatAudit([], 'UTC')).toBe('The audit trail is empty.');
  });

  it('shows auditTime for a time in a zone with a half-hour offset', () => {
    expect(auditTime('2026-03-01T00:00:00Z', 'Asia/Kolkata')).toBe('2026-03-01 05:30:00 IST');
  });
});
