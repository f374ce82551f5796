import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../infra/config.js';
import { cleanupGate, cleanupSteps, testPrefixProblem } from '../../../../jobs/migration/gate.js';
import { cutoverAgo as cut, DAY, NOON as now } from './parts.js';

const zone = 'Asia/Tokyo';
const JOBS = ['ggh_contractstatus', 'ggh_datatransit'];
/** The failure recorded for a job's dump day, seen `daysAgo` days ago. */
const failed = (job: string, day: string, daysAgo: number, verdict?: 'too-small') => ({
  alertId: `da-${job}-${day.replace(/-/g, '')}`,
  job,
  day,
  at: now - daysAgo * DAY,
  ...(verdict ? { verdict } : {}),
});

describe('the phase-5 cleanup gate', () => {
  it('opens when every cron is cut over, 14 days ago or more, with no failed check since', () => {
    const g = cleanupGate({
      jobs: JOBS,
      cutovers: [cut(JOBS[0] as string, 30), cut(JOBS[1] as string, 14)],
      now,
      zone,
    });
    expect(g).toMatchObject({ open: true, reasons: [], days: 14 });
    expect(g.lastCutover?.cron).toBe('ggh_datatransit');
  });

  it('stays closed while a cron is not cut over, naming it', () => {
    const g = cleanupGate({ jobs: JOBS, cutovers: [cut('ggh_contractstatus', 30)], now, zone });
    expect(g.open).toBe(false);
    expect(g.reasons).toEqual(['not cut over: ggh_datatransit']);
  });

  it('stays closed before 14 days, saying how many and from when', () => {
    const g = cleanupGate({
      jobs: JOBS,
      cutovers: [cut(JOBS[0] as string, 30), cut(JOBS[1] as string, 13.9)],
      now,
      zone,
    });
    expect(g.open).toBe(false);
    expect(g.reasons).toHaveLength(1);
    expect(g.reasons[0]).toMatch(
      /^13 of 14 days since the last cutover \(ggh_datatransit, 2026-06-06 \d\d:\d\d JST\); the earliest is 2026-06-20 /,
    );
  });

  it('stays closed after a failed dump check later than the last cutover, naming the job and the day', () => {
    const g = cleanupGate({
      jobs: JOBS,
      cutovers: [cut(JOBS[0] as string, 30), cut(JOBS[1] as string, 20)],
      failure: failed('ggh_contractstatus', '2026-06-12', 8, 'too-small'),
      now,
      zone,
    });
    expect(g.open).toBe(false);
    expect(g.reasons).toHaveLength(1);
    expect(g.reasons[0]).toMatch(
      /^the dump check of ggh_contractstatus for 2026-06-12 failed \(too-small\) at 2026-06-12 12:00 JST, after the last cutover \(ggh_datatransit, 2026-05-31 12:00 JST\)/,
    );
  });

  it('ignores a failed check from before the last cutover', () => {
    const g = cleanupGate({
      jobs: JOBS,
      cutovers: [cut(JOBS[0] as string, 30), cut(JOBS[1] as string, 20)],
      failure: failed('ggh_datatransit', '2026-05-30', 21),
      now,
      zone,
    });
    expect(g.open).toBe(true);
  });

  it('stays closed with no dump jobs configured', () => {
    const g = cleanupGate({ jobs: [], cutovers: [], now, zone });
    expect(g.open).toBe(false);
    expect(g.reasons[0]).toMatch(/no dump jobs are configured/);
  });

  it('lists the three human steps and the one AWS step', () => {
    const steps = cleanupSteps('jram-gghouse', 'dumps-test/').join('\n');
    expect(steps).toContain('~/cron_scripts/');
    expect(steps).toContain('remove `~/.aws/credentials`; keep `~/.aws/config`');
    expect(steps).toContain('s3://jram-gghouse/dumps-test/');
    expect(steps).toContain('behind its own approval card');
    expect(steps).toContain('update the documentation');
  });
});

describe('what the cleanup may delete', () => {
  const config = (testPrefix: string, dumpPrefix = 'dumps/') =>
    parseConfig(
      {
        accounts: { osio: { id: '386414299200', region: 'us-east-1' } },
        migration: {
          account: 'osio',
          instanceId: 'i-00523f387117d497b',
          role: 'r',
          instanceProfile: 'p',
          secretId: 's',
          bucket: 'jram-gghouse',
          testPrefix,
        },
        dumps: {
          account: 'osio',
          bucket: 'jram-gghouse',
          jobs: [{ name: 'ggh_datatransit', cron: '0 6 * * *', prefix: dumpPrefix }],
        },
      },
      '/tmp',
    );

  it('accepts dumps-test/ beside dumps/ and refuses a test prefix that is empty or overlaps a dump prefix', () => {
    expect(testPrefixProblem(config('dumps-test/'))).toBeUndefined();
    expect(testPrefixProblem(config(''))).toMatch(/empty the whole bucket/);
    expect(testPrefixProblem(config('dumps'))).toMatch(
      /overlaps the prefix "dumps\/" of dump job ggh_datatransit/,
    );
    expect(testPrefixProblem(config('dumps/test/'))).toMatch(/overlaps/);
  });
});
