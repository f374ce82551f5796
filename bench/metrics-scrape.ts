// What one GET /metrics costs with many configured dump jobs (`npx tsx bench/metrics-scrape.ts [jobs]`,
// default 1,000), on the run's Redis (REDIS_URL) under a private key prefix: the real readers
// (bot/metrics-sources.ts: every queue's counts, the heartbeat, each dump job's check and pass times and
// its alert, windows by state, the migration's requests) behind infra/metrics.ts, with the cache off so
// every scrape reads everything. Each job has a last check, one in ten an open alert; 20 windows; no
// migration request. Redis commands are counted with MONITOR (commands a client sent, not the ones Lua
// scripts run), filtered by this run's prefix; the time is the whole render (default Node metrics
// included), median and p95 of 50 scrapes after 5 warm-up ones.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { scrapeSources } from '../bot/metrics-sources.js';
import { parseConfig } from '../infra/config.js';
import { createMetrics } from '../infra/metrics.js';
import { touchHeartbeat } from '../infra/metrics-heartbeat.js';
import { raiseAlert, saveLastCheck, setOpenAlert } from '../jobs/dumps/store.js';
import { createWindow } from '../jobs/maintenance/store.js';
import { createQueues } from '../jobs/queues.js';

const JOBS = Number(process.argv[2] ?? 1_000);
const SCRAPES = 50;
const WARMUP = 5;
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench-metrics-${randomUUID().slice(0, 8)}`;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

async function main(): Promise<void> {
  const redis = new Redis(url);
  const monitorConn = new Redis(url);
  const names = Array.from({ length: JOBS }, (_, i) => `job_${String(i).padStart(4, '0')}`);
  const config = parseConfig(
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
  const store = { redis, prefix };
  const now = Date.now();
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
  await touchHeartbeat(redis, prefix, { now: () => now });
  const queues = createQueues({ connection: redis, prefix, config });
  const metrics = createMetrics({
    role: 'bot',
    cacheMs: 0,
    dumpJobs: names,
    sources: scrapeSources({ redis, prefix, config, queues }),
  });

  let counting = false;
  let commands = 0;
  const byCommand = new Map<string, number>();
  const monitor = await monitorConn.monitor();
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
      await new Promise((r) => setTimeout(r, 200));
      counting = true;
    }
    const t0 = performance.now();
    const text = await metrics.render();
    const ms = performance.now() - t0;
    if (i >= WARMUP) times.push(ms);
    bytes = text.length;
    if (counted) {
      await new Promise((r) => setTimeout(r, 500));
      counting = false;
      perScrape = commands;
    }
  }
  const last = await metrics.render();
  const series = last.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const sourceMs = Object.fromEntries(
    [...last.matchAll(/^chatops_scrape_source_duration_seconds\{source="(\w+)"\} (\S+)$/gm)].map((m) => [
      m[1],
      Number((Number(m[2]) * 1000).toFixed(1)),
    ]),
  );
  console.log(
    JSON.stringify(
      {
        dumpJobs: JOBS,
        scrapes: SCRAPES,
        msMedian: Number(pct(times, 50).toFixed(1)),
        msP95: Number(pct(times, 95).toFixed(1)),
        redisCommandsPerScrape: perScrape,
        byCommand: Object.fromEntries([...byCommand].sort((a, b) => b[1] - a[1])),
        lastScrapeSourceMs: sourceMs,
        exportBytes: bytes,
        series,
      },
      null,
      2,
    ),
  );
  monitorConn.disconnect();
  await queues.close();
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  redis.disconnect();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
