import { Settings } from 'luxon';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../infra/errors.js';
import {
  formatDuration,
  formatLocal,
  isValidZone,
  MAX_DURATION_MS,
  parseDuration,
  parseStart,
  slackDate,
  startWordCount,
} from '../../../infra/times.js';

// 2026-12-05 12:00 UTC = 21:00 JST = 13:00 CET.
const NOW = Date.UTC(2026, 11, 5, 12, 0);
const TOKYO_0200 = Date.UTC(2026, 11, 5, 17, 0); // 2026-12-06 02:00 JST

function refusal(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('parseStart', () => {
  it('reads YYYY-MM-DD HH:MM as local time in the configured zone', () => {
    expect(parseStart('2026-12-06 02:00', 'Asia/Tokyo', NOW)).toBe(TOKYO_0200);
  });

  it('accepts a T between date and time, and optional seconds', () => {
    expect(parseStart('2026-12-06T02:00', 'Asia/Tokyo', NOW)).toBe(TOKYO_0200);
    expect(parseStart('2026-12-06 02:00:30', 'Asia/Tokyo', NOW)).toBe(TOKYO_0200 + 30_000);
  });

  it('takes an ISO time with an offset or Z as that instant, whatever the configured zone', () => {
    expect(parseStart('2026-12-06T02:00:00+09:00', 'Europe/Berlin', NOW)).toBe(TOKYO_0200);
    expect(parseStart('2026-12-05T17:00Z', 'Europe/Berlin', NOW)).toBe(TOKYO_0200);
  });

  it('counts +15m from now', () => {
    expect(parseStart('+15m', 'Asia/Tokyo', NOW)).toBe(NOW + 15 * 60_000);
    expect(parseStart('+1h30m', 'UTC', NOW)).toBe(NOW + 90 * 60_000);
  });

  it('refuses a start in the past and says when now is', () => {
    const err = refusal(() => parseStart('2026-12-01 10:00', 'Asia/Tokyo', NOW));
    expect(err.code).toBe('bad_time');
    expect(err.message).toContain('2026-12-01 10:00 JST is in the past');
    expect(err.message).toContain('2026-12-05 21:00 JST');
  });

  it('refuses a start equal to now: it must be strictly later', () => {
    expect(refusal(() => parseStart('2026-12-05T12:00Z', 'UTC', NOW)).code).toBe('bad_time');
  });

  it('refuses an impossible date like 2026-13-40 25:00 with what was wrong', () => {
    const err = refusal(() => parseStart('2026-13-40 25:00', 'Asia/Tokyo', NOW));
    expect(err.code).toBe('bad_time');
    expect(err.message).toContain('2026-13-40 25:00');
    expect(err.message).toMatch(/is not a real time/);
    expect(refusal(() => parseStart('2027-02-30 10:00', 'Asia/Tokyo', NOW)).message).toContain('as a day');
  });

  it('refuses 24:00 rather than reading it as the next midnight', () => {
    expect(refusal(() => parseStart('2026-12-06 24:00', 'Asia/Tokyo', NOW)).message).toContain('00 to 23');
  });

  it('refuses a local time the clocks skip in spring (2027-03-28 02:30 in Europe/Berlin)', () => {
    const err = refusal(() => parseStart('2027-03-28 02:30', 'Europe/Berlin', NOW));
    expect(err.code).toBe('bad_time');
    expect(err.message).toBe(
      '2027-03-28 02:30 does not exist in Europe/Berlin (the clocks skip it for daylight saving); ' +
        'did you mean 2027-03-28 03:30?',
    );
  });

  it('accepts the first time after the spring gap (2027-03-28 03:30 CEST)', () => {
    expect(parseStart('2027-03-28 03:30', 'Europe/Berlin', NOW)).toBe(Date.UTC(2027, 2, 28, 1, 30));
  });

  describe('the autumn hour that happens twice (2027-10-31 02:30 in Europe/Berlin)', () => {
    const realNow = Settings.now;
    afterEach(() => {
      Settings.now = realNow;
    });

    // The first occurrence, 02:30 CEST (+02:00) = 00:30 UTC, not the second, 02:30 CET (+01:00).
    const FIRST = Date.UTC(2027, 9, 31, 0, 30);

    it('is the first occurrence (CEST, +02:00)', () => {
      expect(parseStart('2027-10-31 02:30', 'Europe/Berlin', NOW)).toBe(FIRST);
    });

    it('does not depend on the season the bot runs in (luxon alone would)', () => {
      for (const machineNow of [Date.UTC(2026, 6, 1), Date.UTC(2026, 11, 1)]) {
        Settings.now = () => machineNow;
        expect(parseStart('2027-10-31 02:30', 'Europe/Berlin', NOW)).toBe(FIRST);
      }
    });
  });

  it('refuses text that is no start and lists what is accepted', () => {
    const err = refusal(() => parseStart('tomorrow', 'Asia/Tokyo', NOW));
    expect(err.code).toBe('bad_time');
    expect(err.message).toContain('YYYY-MM-DD HH:MM (in Asia/Tokyo)');
    expect(err.message).toContain('+15m');
    expect(refusal(() => parseStart('', 'Asia/Tokyo', NOW)).message).toMatch(/missing/);
  });

  it('asks for a time of day when given only a date', () => {
    expect(refusal(() => parseStart('2026-12-06', 'Asia/Tokyo', NOW)).message).toContain(
      'has no time of day',
    );
  });

  it('refuses a bad +duration as a bad start', () => {
    const err = refusal(() => parseStart('+0m', 'Asia/Tokyo', NOW));
    expect(err.code).toBe('bad_time');
    expect(err.message).toContain('more than zero');
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['45m', 45 * 60_000],
    ['2h', 2 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['7d', 7 * 86_400_000],
    ['1d2h3m4s', 86_400_000 + 2 * 3_600_000 + 3 * 60_000 + 4_000],
    ['30d', MAX_DURATION_MS],
  ])('reads %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['0m', 'more than zero'],
    ['-5m', 'more than zero'],
    ['31d', 'too long'],
    ['abc', 'd, h, m, s in that order'],
    ['30m1h', 'd, h, m, s in that order'],
    ['1.5h', 'd, h, m, s in that order'],
    ['', 'missing'],
  ])('refuses %j and says why', (text, reason) => {
    const err = refusal(() => parseDuration(text));
    expect(err.code).toBe('bad_duration');
    expect(err.message).toContain(reason);
    expect(err.message).toContain('1h30m');
  });

  it('says what was wrong and what is accepted for zero', () => {
    expect(refusal(() => parseDuration('0m')).message).toBe(
      '`0m` is not a duration: it must be more than zero and at most 30 days (e.g. 90s, 45m, 2h, 1h30m, 7d)',
    );
  });
});

describe('formatLocal', () => {
  it('shows the time in the configured zone with its abbreviation', () => {
    expect(formatLocal(TOKYO_0200, 'Asia/Tokyo')).toBe('2026-12-06 02:00 JST');
    expect(formatLocal(TOKYO_0200, 'Europe/Berlin')).toBe('2026-12-05 18:00 CET');
    expect(formatLocal(Date.UTC(2027, 6, 1, 12), 'Europe/Berlin')).toBe('2027-07-01 14:00 CEST');
    expect(formatLocal(TOKYO_0200, 'America/New_York')).toBe('2026-12-05 12:00 EST');
    expect(formatLocal(TOKYO_0200, 'UTC')).toBe('2026-12-05 17:00 UTC');
  });

  it('falls back to the offset where no abbreviation is in common use', () => {
    expect(formatLocal(TOKYO_0200, 'Asia/Seoul')).toBe('2026-12-06 02:00 GMT+9');
  });
});

describe('slackDate', () => {
  it('gives Slack a date token for each reader, with the configured-zone text as fallback', () => {
    expect(slackDate(TOKYO_0200 + 999, 'Asia/Tokyo')).toBe(
      `<!date^${TOKYO_0200 / 1000}^{date_short_pretty} {time}|2026-12-06 02:00 JST>`,
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [90 * 60_000, '1h30m'],
    [45 * 60_000, '45m'],
    [90_000, '1m30s'],
    [7 * 86_400_000, '7d'],
    [25 * 3_600_000, '1d1h'],
    [0, '0s'],
  ])('shows %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips with parseDuration', () => {
    for (const text of ['90s', '45m', '2h', '1h30m', '7d', '1d2h3m4s']) {
      expect(parseDuration(formatDuration(parseDuration(text)))).toBe(parseDuration(text));
    }
  });
});

describe('startWordCount', () => {
  it.each([
    [['2026-12-06', '02:00', '2h', 'DB', 'upgrade'], 2],
    [['2026-12-06', '02:00:30', '2h'], 2],
    [['2026-12-06', '02:00+09:00', '2h'], 2],
    [['2026-12-06T02:00', '2h', 'DB'], 1],
    [['2026-12-05T17:00Z', '2h'], 1],
    [['+15m', '2h', 'DB'], 1],
    [['2026-12-06', '2h', 'DB'], 1],
    [['2026-12-06'], 1],
    [[], 0],
  ])('%j: the start takes %i word(s)', (words, n) => {
    expect(startWordCount(words)).toBe(n);
  });

  it('splits so the joined start words parse', () => {
    const words = '2026-12-06 02:00 2h DB upgrade'.split(' ');
    const n = startWordCount(words);
    expect(parseStart(words.slice(0, n).join(' '), 'Asia/Tokyo', NOW)).toBe(TOKYO_0200);
    expect(parseDuration(words[n] ?? '')).toBe(2 * 3_600_000);
  });
});

describe('isValidZone', () => {
  it('knows IANA zones and refuses made-up ones', () => {
    expect(isValidZone('Asia/Tokyo')).toBe(true);
    expect(isValidZone('UTC')).toBe(true);
    expect(isValidZone('Mars/Olympus_Mons')).toBe(false);
    expect(isValidZone('')).toBe(false);
  });
});
