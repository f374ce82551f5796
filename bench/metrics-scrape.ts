// What one GET /metrics costs with many configured dump jobs (`--metrics-jobs`, default 1,000), on
// the run's Redis under the part's key prefix: the real readers
// (bot/metrics-sources.ts: every queue's counts, the heartbeat, each dump job's check and pass times and
// its alert, windows by state, the migration's requests) behind infra/metrics.ts, with the cache off so
// every scrape reads everything. Each job has a last check, one in ten an open alert; 20 windows; no
// migration request. Redis commands are counted with MONITOR (commands a client sent, not the ones Lua
// scripts run), filtered by this run's prefix; the time is the whole render (default Node metrics
// included), median and p95 of 50 scrapes after 5 warm-up ones.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { scrapeSources } from '../bot/metrics-sources.js';
import { parseConfig } from '../infra/config.js';
import { createMetrics } from '../infra/metrics.js';
import { touchHeartbeat } from '../infra/metrics-heartbeat.js';
import { raiseAlert, saveLastCheck, setOpenAlert } from '../jobs/dumps/store.js';
import { createWindow } from '../jobs/maintenance/store.js';
import { createQueues } from '../jobs/queues.js';
import { deleteUnder, type PartContext } from './fleet.js';
import { counts, fmt, percentile, sorted, tableRow } from './report.js';

const SCRAPES = 50;
const WARMUP = 5;

export interface MetricsOptions {
  /** The run's Redis; every key under ctx.prefix. */
  ctx: PartContext;
  /** Configured dump jobs (each with a last check, one in ten an open alert). */
  jobs: number;
}

export interface MetricsResult {
  dumpJobs: number;
  scrapes: number;
  msMedian: number;
  msP95: number;
  redisCommandsPerScrape: number;
  byCommand: Record<string, number>;
  lastScrapeSourceMs: Record<string, number>;
  exportBytes: number;
  series: number;
}

function metricsConfig(names: string[]) {
  return parseConfig(
    {
      timezone: 'Asia/Tokyo',
      accounts: { prod: { id: '123456789012', region: 'us-east-1' } },
      channels: { alerts: 'C0ALERTS', maintenance: 'C0MAINT', approvals: 'C0APPROVE' },
      roles: { admin: ['U0OPS'], approver: ['U0A', 'U0B'] },
      migration: {
        account: 'prod',
        instanceId: 'i-0123456789abcdef0',
        role: 'r',
        instanceProfile: 'p',
        secretId: 's',
        bucket: 'bench-bucket',
      },
      dumps: {
        account: 'prod',
        bucket: 'bench-bucket',
        jobs: names.map((name) => ({ name, cron: '0 6 * * *', prefix: 'dumps/' })),
      },
    },
    '/tmp',
  );
}

/** Each job's last check, an open alert for one in ten, 20 windows ahead and the heartbeat. */
async function seed(store: { redis: Redis; prefix: string }, names: string[], now: number): Promise<void> {
  for (const [i, name] of names.entries()) {
    await saveLastCheck(store, name, {
      at: now - 60_000,
      reason: 'scheduled',
      verdict: i % 10 === 0 ? 'missing' : 'ok',
      day: '2026-12-06',
    });
    if (i % 10 === 0) {
      const id = `da-${name}-20261206`;
      await raiseAlert(
        store,
        { id, job: name, day: '2026-12-06', fireAt: now - 3_600_000 },
        { verdict: 'missing', at: now, source: 'check', expectedKey: `dumps/${name}_20261206`, dueAt: now },
        undefined,
        now,
        `bench-${i}`,
      );
      await setOpenAlert(store, name, id);
    }
  }
  for (let i = 0; i < 20; i++) {
    await createWindow(store, {
      title: `window ${i}`,
      start: now + (i + 1) * 3_600_000,
      end: now + (i + 2) * 3_600_000,
      createdBy: 'U0OPS',
      createdAt: now,
      impact: 'i',
      purpose: 'p',
      rollback: 'r',
      contact: 'c',
    });
  }
  await touchHeartbeat(store.redis, store.prefix, { now: () => now });
}

/** Seeds the readers' keys, then times SCRAPES renders after WARMUP ones and counts one's commands. */
export async function run(o: MetricsOptions): Promise<MetricsResult> {
  const { prefix, redis } = o.ctx;
  const names = Array.from({ length: o.jobs }, (_, i) => `job_${String(i).padStart(4, '0')}`);
  const config = metricsConfig(names);
  const queues = createQueues({ connection: redis, prefix, config });
  const metrics = createMetrics({
    role: 'bot',
    cacheMs: 0,
    dumpJobs: names,
    sources: scrapeSources({ redis, prefix, config, queues }),
  });
  let monitor: Redis | undefined;
  let counting = false;
  let commands = 0;
  const byCommand = new Map<string, number>();
  try {
    await seed({ redis, prefix }, names, Date.now());
    // MONITOR takes a connection of its own (ioredis opens it), closed below.
    monitor = await redis.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!counting || source === 'lua' || !args.some((a) => a.includes(prefix))) return;
      commands += 1;
      const name = (args[0] ?? '').toLowerCase();
      byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
    });

    const times: number[] = [];
    let bytes = 0;
    let perScrape = 0;
    for (let i = 0; i < WARMUP + SCRAPES; i++) {
      const counted = i === WARMUP + SCRAPES - 1;
      if (counted) {
        // Let MONITOR deliver what came before, then count one scrape alone.
        await sleep(200);
        counting = true;
      }
      const t0 = performance.now();
      const text = await metrics.render();
      const ms = performance.now() - t0;
      if (i >= WARMUP) times.push(ms);
      bytes = text.length;
      if (counted) {
        await sleep(500);
        counting = false;
        perScrape = commands;
      }
    }
    const last = await metrics.render();
    const s = sorted(times);
    return {
      dumpJobs: o.jobs,
      scrapes: SCRAPES,
      msMedian: Number(percentile(s, 50).toFixed(1)),
      msP95: Number(percentile(s, 95).toFixed(1)),
      redisCommandsPerScrape: perScrape,
      byCommand: Object.fromEntries([...byCommand].sort((a, b) => b[1] - a[1])),
      lastScrapeSourceMs: Object.fromEntries(
        [...last.matchAll(/^chatops_scrape_source_duration_seconds\{source="(\w+)"\} (\S+)$/gm)].map((m) => [
          m[1],
          Number((Number(m[2]) * 1000).toFixed(1)),
        ]),
      ),
      exportBytes: bytes,
      series: last.split('\n').filter((l) => l && !l.startsWith('#')).length,
    };
  } finally {
    monitor?.disconnect();
    await queues.close();
    await deleteUnder(redis, prefix);
  }
}

/** The report lines. */
export function table(m: MetricsResult): string[] {
  const row = tableRow(36, 12);
  return [
    `metrics: one GET /metrics render with ${m.dumpJobs} configured dump jobs (one in ten with an open alert) and ` +
      `20 windows, the real readers with the cache off; ${m.scrapes} scrapes after ${WARMUP} warm-up ones`,
    '',
    row('render ms median', fmt(m.msMedian, 1)),
    row('render ms p95', fmt(m.msP95, 1)),
    row('Redis commands per scrape', String(m.redisCommandsPerScrape)),
    row('series', String(m.series)),
    row('export bytes', String(m.exportBytes)),
    '',
    `commands of one scrape (MONITOR, this run's prefix, not those Lua runs): ${counts(m.byCommand)}`,
    `last scrape by source, ms: ${counts(m.lastScrapeSourceMs)}`,
  ];
}
