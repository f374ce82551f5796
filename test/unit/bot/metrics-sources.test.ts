// The scrape-time readers of Redis (bot/metrics-sources.ts) on a real Redis, through the real metrics
// registry: each configured dump job's last check and last pass (kept across failing checks) and its
// alert's state, windows by state, the migration's requests and the approvals still missing (judged
// like the buttons: the requester and people who no longer hold approver do not count), the heartbeat
// and every queue, housekeeping's included; the Home refresh asked for many times in one slot is one job.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { scrapeSources } from '../../../bot/metrics-sources.js';
import { parseConfig } from '../../../infra/config.js';
import { createMetrics } from '../../../infra/metrics.js';
import { touchHeartbeat } from '../../../infra/metrics-heartbeat.js';
import {
  ackAlert,
  dumpHealth,
  getLastCheck,
  openAlerts,
  raiseAlert,
  resolveAlert,
  saveLastCheck,
  setOpenAlert,
} from '../../../jobs/dumps/store.js';
import { HOUSEKEEPING_QUEUE } from '../../../jobs/housekeeping.js';
import { cancelWindow, createWindow } from '../../../jobs/maintenance/store.js';
import { migrationOverview, migrationSnapshot } from '../../../jobs/migration/index.js';
import { planHash, planOf } from '../../../jobs/migration/plan.js';
import { approve, createRequest, getRequest } from '../../../jobs/migration/store.js';
import { createQueues } from '../../../jobs/queues.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}:*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
});

const T0 = 1_800_000_000_000;
const MIN = 60_000;

function configWith(approvers: string[]) {
  return parseConfig(
    {
      timezone: 'Asia/Tokyo',
      accounts: { osio: { id: '386414299200', region: 'us-east-1' } },
      roles: { admin: ['U0OPS'], approver: approvers },
      migration: {
        account: 'osio',
        instanceId: 'i-0123456789abcdef0',
        role: 'r',
        instanceProfile: 'p',
        secretId: 's',
        bucket: 'jram-gghouse',
        approvals: 2,
      },
      dumps: {
        account: 'osio',
        bucket: 'jram-gghouse',
        jobs: ['orders', 'billing', 'never'].map((name) => ({ name, cron: '0 6 * * *', prefix: 'dumps/' })),
      },
    },
    '/tmp',
  );
}

function fresh() {
  const prefix = `test-msrc-${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  return { redis, prefix };
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const finding = (at: number) =>
  ({ verdict: 'missing', at, source: 'check', expectedKey: 'dumps/x', dueAt: at }) as const;

describe('scrape-time readers', () => {
  it('export dump check and pass times, alerts, windows, migration requests, the heartbeat and every queue', async () => {
    const s = fresh();
    const config = configWith(['U0DAVE', 'U0ERIN', 'U0OPS']);
    // orders passed at T0, then failed at T0+1d (its pass time stays); billing failed, alert acked.
    await saveLastCheck(s, 'orders', { at: T0, reason: 'scheduled', verdict: 'ok', day: '2027-01-15' });
    await saveLastCheck(s, 'orders', {
      at: T0 + 86_400_000,
      reason: 'scheduled',
      verdict: 'missing',
      day: '2027-01-16',
    });
    expect((await getLastCheck(s, 'orders'))?.lastPassAt).toBe(T0);
    await raiseAlert(
      s,
      { id: 'da-orders-20270116', job: 'orders', day: '2027-01-16', fireAt: T0 },
      finding(T0),
      undefined,
      T0,
      'c1',
    );
    await setOpenAlert(s, 'orders', 'da-orders-20270116');
    await saveLastCheck(s, 'billing', {
      at: T0,
      reason: 'scheduled',
      verdict: 'too-small',
      day: '2027-01-16',
    });
    await raiseAlert(
      s,
      { id: 'da-billing-20270116', job: 'billing', day: '2027-01-16', fireAt: T0 },
      finding(T0),
      undefined,
      T0,
      'c2',
    );
    await setOpenAlert(s, 'billing', 'da-billing-20270116');
    await ackAlert(s, 'da-billing-20270116', 'U0ALICE', T0);
    // A job not configured any more is not read; one never checked exports nothing.
    await saveLastCheck(s, 'gone', { at: T0, reason: 'scheduled', verdict: 'ok', day: '2027-01-16' });
    expect((await dumpHealth(s, ['orders', 'billing', 'never'])).map((h) => h.alertState)).toEqual([
      'open',
      'acked',
      undefined,
    ]);
    expect((await openAlerts(s, ['orders', 'billing', 'never'])).map((a) => a.id).sort()).toEqual([
      'da-billing-20270116',
      'da-orders-20270116',
    ]);

    // Two windows scheduled, one cancelled.
    const w = (n: number) => ({
      title: `w${n}`,
      start: T0 + n * 60 * MIN,
      end: T0 + (n + 1) * 60 * MIN,
      createdBy: 'U0OPS',
      createdAt: T0,
      impact: 'i',
      purpose: 'p',
      rollback: 'r',
      contact: 'c',
    });
    const w1 = await createWindow(s, w(1));
    await createWindow(s, w(2));
    const w3 = await createWindow(s, w(3));
    await cancelWindow(s, w3.id, 'U0OPS', T0);

    // A pending phase-3 request with one approval that counts (Dave) and one that does not (the requester).
    const plan = planOf(config, w1);
    const hash = planHash(plan);
    await createRequest(s, {
      kind: 'phase3',
      id: 'p3-abc123',
      requester: 'U0OPS',
      requestId: 'r1',
      plan,
      planHash: hash,
      needed: 2,
      expiresAt: w1.end,
      createdAt: T0,
      windowId: w1.id,
      windowCreated: true,
    });
    const r = await getRequest(s, 'p3-abc123', 'phase3');
    const rule = { hash, approvers: ['U0DAVE', 'U0ERIN', 'U0OPS'], quorum: 2, budgetMs: MIN };
    expect((await approve(s, r, 'U0DAVE', T0, rule)).result).toBe('counted');
    expect(await migrationSnapshot(s, config)).toEqual({
      requests: [{ kind: 'phase3', state: 'pending', count: 1 }],
      pendingApprovals: 1,
    });
    // Dave no longer holds approver: his approval stops counting.
    expect((await migrationSnapshot(s, configWith(['U0ERIN', 'U0OPS']))).pendingApprovals).toBe(2);
    const overview = await migrationOverview(s, config);
    expect(overview.pending.map((p) => [p.id, p.approvals, p.needed])).toEqual([
      ['p3-abc123', ['U0DAVE'], 2],
    ]);
    expect(overview.phases.map((p) => p.done)).toEqual([false, false, false]);

    await touchHeartbeat(redis, s.prefix, { now: () => T0 + 30_000 });
    const queues = createQueues({ connection: redis, prefix: s.prefix, config });
    try {
      const m = createMetrics({
        defaultMetrics: false,
        dumpJobs: config.dumps?.jobs.map((j) => j.name),
        sources: scrapeSources({ redis, prefix: s.prefix, config, queues }),
      });
      const text = await m.render();
      expect(value(text, 'chatops_dump_last_check_timestamp_seconds{dump="orders"}')).toBe(
        (T0 + 86_400_000) / 1000,
      );
      expect(value(text, 'chatops_dump_last_pass_timestamp_seconds{dump="orders"}')).toBe(T0 / 1000);
      expect(value(text, 'chatops_dump_last_pass_timestamp_seconds{dump="billing"}')).toBeUndefined();
      expect(value(text, 'chatops_dump_last_check_timestamp_seconds{dump="never"}')).toBeUndefined();
      expect(text).not.toContain('dump="gone"');
      expect(value(text, 'chatops_dump_alerts{state="open"}')).toBe(1);
      expect(value(text, 'chatops_dump_alerts{state="acked"}')).toBe(1);
      expect(value(text, 'chatops_maintenance_windows{state="scheduled"}')).toBe(2);
      expect(value(text, 'chatops_maintenance_windows{state="cancelled"}')).toBe(1);
      expect(value(text, 'chatops_migration_requests{kind="phase3",state="pending"}')).toBe(1);
      expect(value(text, 'chatops_migration_pending_approvals')).toBe(1);
      expect(value(text, 'chatops_worker_heartbeat_timestamp_seconds')).toBe((T0 + 30_000) / 1000);
      for (const q of [
        'reset-password',
        'ddb-export',
        'maintenance',
        'dumps',
        'migration',
        HOUSEKEEPING_QUEUE,
      ]) {
        expect(value(text, `chatops_queue_jobs{queue="${q}",state="waiting"}`), q).toBe(0);
      }
      for (const source of ['queues', 'dumps', 'maintenance', 'migration', 'heartbeat']) {
        expect(value(text, `chatops_scrape_source_up{source="${source}"}`), source).toBe(1);
      }

      // Resolving the open alert: no open alert left.
      await resolveAlert(s, 'da-orders-20270116', finding(T0), T0);
      const after = await createMetrics({
        defaultMetrics: false,
        sources: scrapeSources({ redis, prefix: s.prefix, config, queues }),
      }).render();
      expect(value(after, 'chatops_dump_alerts{state="open"}')).toBe(0);
    } finally {
      await queues.close();
    }
  });
});
