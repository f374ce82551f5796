import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../infra/config.js';
import { deletionBatches } from '../../../../jobs/migration/aws.js';
import { cleanupCard, statusCard } from '../../../../jobs/migration/cards.js';
import { cleanupGate, cleanupSteps, testPrefixProblem } from '../../../../jobs/migration/gate.js';
import { keysDigest } from '../../../../jobs/migration/plan.js';
import type { CleanupRequest, Cutover } from '../../../../jobs/migration/store.js';

const DAY = 86_400_000;
const now = Date.parse('2026-06-20T03:00:00Z'); // 12:00 JST
const zone = 'Asia/Tokyo';
const cut = (cron: string, daysAgo: number): Cutover => ({
  cron,
  at: now - daysAgo * DAY,
  by: 'U0OPS',
  forced: false,
});
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

  it('splits keys into DeleteObjects batches of at most 1000', () => {
    const keys = Array.from({ length: 2345 }, (_, i) => `dumps-test/k${i}`);
    expect(deletionBatches(keys, 'dumps-test/').map((b) => b.length)).toEqual([1000, 1000, 345]);
    expect(deletionBatches([], 'dumps-test/')).toEqual([]);
  });

  it('refuses to batch any key outside the prefix, or without a prefix', () => {
    expect(() => deletionBatches(['dumps-test/a', 'dumps/ggh_datatransit_20260601'], 'dumps-test/')).toThrow(
      /refusing to delete "dumps\/ggh_datatransit_20260601": it is not under dumps-test\//,
    );
    expect(() => deletionBatches(['a'], '')).toThrow(/without a key prefix/);
  });

  it('binds the listing by its keys, in any order', () => {
    expect(keysDigest(['dumps-test/b', 'dumps-test/a'])).toBe(keysDigest(['dumps-test/a', 'dumps-test/b']));
    expect(keysDigest(['dumps-test/a'])).not.toBe(keysDigest(['dumps-test/a', 'dumps-test/b']));
  });
});

describe('the cleanup approval card', () => {
  const base: CleanupRequest = {
    kind: 'cleanup',
    id: 'p5-0a1b2c3d',
    requester: 'U0OPS',
    requestId: 'r1',
    state: 'pending',
    plan: {
      account: 'osio',
      accountId: '386414299200',
      region: 'us-east-1',
      bucket: 'jram-gghouse',
      prefix: 'dumps-test/',
      objects: 70,
      bytes: 3 * 1024 * 1024,
      keysHash: 'h',
    },
    planHash: 'ph',
    approvals: [],
    needed: 2,
    expiresAt: now + DAY,
    createdAt: now,
    keepUntil: now + 90 * DAY,
    fence: 0,
    touched: false,
    failures: 0,
    failPosted: 0,
    cardVersion: 0,
    retries: 0,
    deleted: 0,
    version: 1,
  };
  const render = (r: CleanupRequest, current: string[] = []) =>
    JSON.stringify(cleanupCard(r, { zone, now, current }).blocks);

  it('pending: the exact plan, approvals so far, expiry, Approve and Reject behind confirm dialogs', () => {
    const text = render(base, ['U0DAVE']);
    expect(text).toContain(
      'in account osio (386414299200, us-east-1), delete every object under `s3://jram-gghouse/dumps-test/`',
    );
    expect(text).toContain('70 objects, 3.0 MiB (3,145,728 bytes)');
    expect(text).toContain('Approvals:* 1 of 2: <@U0DAVE>');
    expect(text).toContain('Expires:* <!date^');
    expect(text).toContain('"action_id":"mig_approve","value":"p5-0a1b2c3d"');
    expect(text).toContain('"action_id":"mig_reject","value":"p5-0a1b2c3d"');
    expect(text).toContain(
      'Delete 70 objects (3.0 MiB (3,145,728 bytes)) under s3://jram-gghouse/dumps-test/ in osio. This cannot be undone.',
    );
  });

  it('running, done and failed show the progress and no buttons', () => {
    expect(render({ ...base, state: 'running', deleted: 40 })).toContain('Deleting');
    expect(render({ ...base, state: 'running', deleted: 40 })).toContain('40 of 70 objects deleted');
    const done = render({ ...base, state: 'done', deleted: 70 });
    expect(done).toContain('Done');
    expect(done).not.toContain('mig_approve');
    expect(render({ ...base, state: 'failed', deleted: 5, error: 'AWS refused' })).toContain(
      '*Failed:* AWS refused',
    );
  });

  it('rejected and expired say by whom and why', () => {
    expect(render({ ...base, state: 'rejected', rejectedBy: 'U0ERIN', reason: 'not yet' })).toContain(
      'Rejected by <@U0ERIN>: not yet',
    );
    expect(render({ ...base, state: 'expired', reason: 'not approved in time' })).toContain(
      'Expired (not approved in time)',
    );
  });
});

describe('the status card phase 5 line', () => {
  const input = {
    phase1: [{ name: 'IAM role r', ok: true, detail: 'exists' }],
    phase2: { days: [], streak: 8 },
    streakNeeded: 7,
    associated: true,
    cutovers: [cut('ggh_datatransit', 3)],
    cronOrder: ['ggh_datatransit'],
    zone,
    now,
  };

  it('shows the gate closed with its reasons, or open', () => {
    const closed = cleanupGate({ jobs: ['ggh_datatransit'], cutovers: input.cutovers, now, zone });
    expect(JSON.stringify(statusCard({ ...input, gate: closed }).blocks)).toMatch(
      /Phase 5, cleanup:\* gate closed: 3 of 14 days since the last cutover/,
    );
    const open = cleanupGate({
      jobs: ['ggh_datatransit'],
      cutovers: [cut('ggh_datatransit', 15)],
      now,
      zone,
    });
    expect(JSON.stringify(statusCard({ ...input, gate: open }).blocks)).toMatch(
      /Phase 5, cleanup:\* gate open/,
    );
  });
});
