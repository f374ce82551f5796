// Phase 4 (pure): the cutover order, and when a cutover's two watches look for the next uploads.
import { describe, expect, it } from 'vitest';
import { CRON_ORDER, watchTimes } from '../../../../jobs/migration/phase4.js';
import { DUMP_JOB, migConfig } from './parts.js';

const config = migConfig(
  {},
  {
    dumps: {
      account: 'osio',
      bucket: 'jram-gghouse',
      jobs: [{ name: DUMP_JOB, cron: '1 6 * * *', prefix: 'dumps/', graceMinutes: 30 }],
    },
  },
);

describe('the cutover order', () => {
  it('is the seed runbook: lowest risk first, the full dump last', () => {
    expect(CRON_ORDER[0]).toBe('ggh_contractstatus');
    expect(CRON_ORDER.at(-1)).toBe('ggh_datatransit');
    expect(new Set(CRON_ORDER).size).toBe(5);
  });
});

describe("a cutover's watches", () => {
  it("look at the job's next two runs plus its grace time, each for that local day's upload", () => {
    const from = Date.parse('2026-06-20T03:00:00Z'); // 12:00 JST, after today's 06:01 run
    expect(watchTimes(config, DUMP_JOB, from)).toEqual([
      { n: 1, at: Date.parse('2026-06-20T21:31:00Z'), day: '2026-06-21' },
      { n: 2, at: Date.parse('2026-06-21T21:31:00Z'), day: '2026-06-22' },
    ]);
  });

  it('start with the same day when the cutover comes before that day’s run', () => {
    const from = Date.parse('2026-06-19T20:00:00Z'); // 05:00 JST
    expect(watchTimes(config, DUMP_JOB, from).map((w) => w.day)).toEqual(['2026-06-20', '2026-06-21']);
  });

  it('are none for a cron that is not configured', () => {
    expect(watchTimes(config, 'TenantsALL', Date.parse('2026-06-20T03:00:00Z'))).toEqual([]);
  });
});
