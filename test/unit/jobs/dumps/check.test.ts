import { describe, expect, it } from 'vitest';
import {
  addDays,
  judge,
  type ListedObject,
  listRequest,
  median,
  renderKey,
} from '../../../../jobs/dumps/check.js';

const job = {
  name: 'ggh_datatransit',
  cron: '30 5 * * *',
  prefix: 'dumps/',
  keyPattern: '{name}_{YYYYMMDD}',
  graceMinutes: 30,
  sizeTolerancePct: 20,
};
const DAY = '2026-03-14';

function week(size = 100_000, from = 1): ListedObject[] {
  return Array.from({ length: 7 }, (_, i) => ({
    key: `dumps/ggh_datatransit_${addDays(DAY, -(i + from)).replace(/-/g, '')}.sql.gz`,
    size: size + i * 100,
  }));
}

describe('dump check', () => {
  it('fills the key pattern with the name and the date', () => {
    expect(renderKey('{name}_{YYYYMMDD}', 'TenantsALL', '2026-03-04')).toBe('TenantsALL_20260304');
    expect(renderKey('{YYYY}/{MM}/{DD}/{name}.sql.gz', 'x', '2026-03-04')).toBe('2026/03/04/x.sql.gz');
  });

  it('lists one narrow, date-ordered range: the prefix and name plus the shared part of the dates', () => {
    expect(listRequest('jram-gghouse', job, DAY)).toEqual({
      Bucket: 'jram-gghouse',
      Prefix: 'dumps/ggh_datatransit_202603',
      StartAfter: 'dumps/ggh_datatransit_20260306',
      MaxKeys: 1000,
    });
    // Across a month boundary the prefix is shorter but still the job's own keys.
    expect(listRequest('b', job, '2027-01-03')).toMatchObject({
      Prefix: 'dumps/ggh_datatransit_202',
      StartAfter: 'dumps/ggh_datatransit_20261226',
    });
  });

  it('takes the median of the previous days', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });

  it("finds the day's object missing after seven good days", () => {
    const out = judge(job, DAY, week(), 1, 2);
    expect(out.verdict).toBe('missing');
    expect(out.finding.expectedKey).toBe('dumps/ggh_datatransit_20260314');
    expect(out.finding.historyDays).toBe(7);
    expect(out.finding.range).toEqual([80_240, 120_360]);
    expect(out.newest).toEqual({
      key: 'dumps/ggh_datatransit_20260313.sql.gz',
      day: '2026-03-13',
      size: 100_000,
    });
  });

  it('calls half the median too small, and a size within the tolerance fine', () => {
    const half = judge(
      job,
      DAY,
      [...week(), { key: 'dumps/ggh_datatransit_20260314.sql.gz', size: 50_150 }],
      1,
      2,
    );
    expect(half.verdict).toBe('too-small');
    expect(half.finding.seenSize).toBe(50_150);
    const fine = judge(
      job,
      DAY,
      [...week(), { key: 'dumps/ggh_datatransit_20260314.sql.gz', size: 90_000 }],
      1,
      2,
    );
    expect(fine.verdict).toBe('ok');
    const big = judge(
      job,
      DAY,
      [...week(), { key: 'dumps/ggh_datatransit_20260314.sql.gz', size: 130_000 }],
      1,
      2,
    );
    expect(big.verdict).toBe('too-large');
  });

  it('ignores objects outside the 7 days and other jobs, counts the largest object of a day, flags an empty one', () => {
    const objects = [
      ...week(),
      { key: 'dumps/ggh_datatransit_20260306.sql.gz', size: 1 }, // 8 days back: not in the median
      { key: 'dumps/ggh_datatransitX_20260314.sql.gz', size: 100_000 }, // another job
      { key: 'dumps/ggh_datatransit_20260314.sql.gz.md5', size: 33 },
      { key: 'dumps/ggh_datatransit_20260314.sql.gz', size: 99_000 },
    ];
    const out = judge(job, DAY, objects, 1, 2);
    expect(out.verdict).toBe('ok');
    expect(out.finding.seenKey).toBe('dumps/ggh_datatransit_20260314.sql.gz');
    expect(out.finding.median).toBe(100_300);
    expect(judge(job, DAY, [{ key: 'dumps/ggh_datatransit_20260314', size: 0 }], 1, 2).verdict).toBe('empty');
  });

  it('with no history, any non-empty object passes', () => {
    const out = judge(job, DAY, [{ key: 'dumps/ggh_datatransit_20260314', size: 5 }], 1, 2);
    expect(out.verdict).toBe('ok');
    expect(out.finding.range).toBeUndefined();
  });
});
