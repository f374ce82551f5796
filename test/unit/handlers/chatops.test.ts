import { describe, expect, it } from 'vitest';
import { formatAudit, formatJobs, parseChatopsArgs } from '../../../handlers/chatops.js';

describe('/chatops', () => {
  it('parses help, jobs and audit with a bounded count', () => {
    expect(parseChatopsArgs('')).toEqual({ sub: 'help' });
    expect(parseChatopsArgs('jobs')).toEqual({ sub: 'jobs' });
    expect(parseChatopsArgs('audit')).toEqual({ sub: 'audit', count: 20 });
    expect(parseChatopsArgs('audit 5')).toEqual({ sub: 'audit', count: 5 });
    expect(() => parseChatopsArgs('audit 0')).toThrow(/1 to 200/);
    expect(() => parseChatopsArgs('audit lots')).toThrow(/1 to 200/);
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

  it('formats audit rows', () => {
    expect(
      formatAudit([
        {
          id: '1-0',
          at: '2026-01-01T00:00:00Z',
          requestId: 'abcdef123456',
          user: 'U1',
          action: 'reset-password.other',
          outcome: 'denied',
        },
      ]),
    ).toBe('`2026-01-01T00:00:00Z` <@U1> reset-password.other: *denied* _req abcdef12_');
  });
});
