// The maintenance part of `npm run bench`: N windows whose start notices fall due in the same second,
// posted by a real worker process (bot/main.js with CHATOPS_ROLE=worker) through a fake Slack API
// that either takes everything or enforces one message per second per channel. Measures the lag from
// due time to the chat.postMessage Slack accepted (p50, p99), that each start notice is posted once,
// and the Redis bytes each scheduled window costs.
//
// The windows are made the way `/maintenance schedule` makes them (scheduleWithNotice: the announce job
// through the Queues, then the window); the worker posts the announcements and queues each window's
// start and end notices as delayed jobs; each notice's mail is a job of its own. The announcements all go out before the start, with the limit off: in real life they
// go out days apart, and only the start notices meet in one second. The limit goes on before the start.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { type FakeSlack, type FakeSlackCall, startFakeSlack } from '../devkit/fake-slack.js';
import { type SmtpCapture, startSmtpCapture } from '../devkit/smtp-capture.js';
import { systemClock } from '../infra/clock.js';
import { loadConfig } from '../infra/config.js';
import { MAINTENANCE_QUEUE, noticeJobId, scheduleWithNotice } from '../jobs/maintenance/index.js';
import { createQueues } from '../jobs/queues.js';
import { percentile } from './load.js';

const CHANNEL = 'C0BENCHMW';
const REQUESTER = 'U0BENCHOPS';
/** Long enough that no end notice falls due during the bench. */
const WINDOW_MS = 3_600_000;
const ORPHAN_GUARD = pathToFileURL(join(import.meta.dirname, 'orphan-guard.mjs')).href;
const STARTED = /has started/;

export interface MaintenanceBenchOptions {
  redis: Redis;
  redisUrl: string;
  /** True when the Redis is a private redis-server (used_memory then counts only this bench). */
  privateRedis: boolean;
  /** Key prefix; each variant uses `<prefix>-<variant>`. */
  prefix: string;
  windows: number;
  /** Seconds from scheduling to the shared start (the announcements must be out by then). */
  leadSeconds: number;
  /** `node` arguments that run the bot's entry point (e.g. [...flags, 'dist/bot/main.js']). */
  botArgs: string[];
  cwd: string;
  /** Environment every child gets besides the bot's own variables (PATH, HOME…). */
  baseEnv: Record<string, string>;
  log(line: string): void;
  /** Which variants to run (default both, unlimited first). */
  variants?: VariantResult['variant'][];
}

export interface RedisBytes {
  /** MEMORY USAGE (SAMPLES 0) of the window's hash and its BullMQ job hashes (announce, start, end), mean. */
  ownKeysPerWindow: number;
  /** MEMORY USAGE of every key under the prefix (adds the index, delayed/completed sets, events and audit streams) / N. */
  allKeysPerWindow: number;
  /** INFO memory used_memory_dataset after − before / N; only with a private Redis (nobody else's keys). */
  datasetPerWindow?: number;
}

export interface VariantResult {
  variant: 'unlimited' | '1 msg/s/channel';
  windows: number;
  /** Start notices accepted by Slack (first per window). */
  posted: number;
  /** Windows with more than one accepted start notice. */
  doubled: number;
  /** Windows with none by the end of the wait. */
  lost: number;
  /** Start jobs BullMQ failed for good. */
  failedJobs: number;
  lagP50ms: number;
  lagP99ms: number;
  lagMaxMs: number;
  /** How many start notices say "(late: …)" (posted more than 5 s after their time). */
  markedLate: number;
  /** chat.postMessage answered 429 during the start burst. */
  answered429: number;
  /** Job attempts that failed and were retried by BullMQ (the Web API client's own retries exhausted). */
  attemptsFailed: number;
  startMails: number;
  announceSeconds: number;
  redis: RedisBytes;
  tookSeconds: number;
}

interface Worker {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Stops every worker this module started (SIGKILL): for the bench's signal handler. */
export function killMaintenanceWorkers(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}

async function startWorker(
  opts: MaintenanceBenchOptions,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', ORPHAN_GUARD, ...opts.botArgs], {
    cwd: opts.cwd,
    env: { ...opts.baseEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString('utf8');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = signal ? `signal ${signal}` : `code ${code}`;
      children.delete(child);
      resolve();
    });
  });
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exit;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  while (!/"msg":"workers started"/.test(out)) {
    if (exited) throw new Error(`the worker exited before it started (${exited}):\n${out.slice(-4000)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the worker did not start within ${timeoutMs} ms:\n${out.slice(-4000)}`);
    }
    await sleep(20);
  }
  return { child, output: () => out, stop };
}

/** INFO memory used_memory_dataset: used_memory less Redis's overhead (client buffers, script cache…). */
async function datasetBytes(r: Redis): Promise<number> {
  return Number(/used_memory_dataset:(\d+)/.exec(await r.info('memory'))?.[1] ?? Number.NaN);
}

async function keysUnder(r: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

async function memoryUsage(r: Redis, keys: string[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < keys.length; i += 200) {
    const p = r.pipeline();
    for (const k of keys.slice(i, i + 200)) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    for (const [err, v] of (await p.exec()) ?? []) if (!err) total += Number(v ?? 0);
  }
  return total;
}

async function deleteUnder(r: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(r, prefix);
  for (let i = 0; i < keys.length; i += 500) await r.del(...keys.slice(i, i + 500));
}

function writeConfig(dir: string): string {
  const path = join(dir, 'maintenance.yaml');
  const config = {
    timezone: 'UTC',
    accounts: { 'bench-dev': { id: '123456789012', region: 'us-east-1' } },
    channels: { maintenance: CHANNEL },
    // A lead longer than the bench: already past at scheduling time, so no reminder is queued.
    maintenance: { emailTo: ['stakeholders@example.com'], remindBefore: ['7d'] },
    resetPassword: { mailFrom: 'chatops@example.com' },
    // jobs: the product's defaults (5 attempts, exponential backoff from 5 s).
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

async function until(what: string, check: () => Promise<boolean> | boolean, deadline: number): Promise<void> {
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`maintenance bench: ${what} did not happen in time`);
    await sleep(100);
  }
}

/** One variant: schedule N windows, announce them, then let every start notice fall due at once. */
async function runVariant(
  opts: MaintenanceBenchOptions,
  variant: VariantResult['variant'],
  configPath: string,
): Promise<VariantResult> {
  const began = Date.now();
  const prefix = `${opts.prefix}-${variant === 'unlimited' ? 'free' : 'limited'}`;
  const r = opts.redis;
  await deleteUnder(r, prefix);
  let slack: FakeSlack | undefined;
  let smtp: SmtpCapture | undefined;
  let worker: Worker | undefined;
  const config = loadConfig(configPath);
  const queues = createQueues({ connection: r, prefix, config });
  try {
    slack = await startFakeSlack();
    smtp = await startSmtpCapture();
    worker = await startWorker(opts, {
      CHATOPS_ROLE: 'worker',
      SLACK_BOT_TOKEN: 'xoxb-bench-token-not-real',
      SLACK_API_URL: slack.url,
      REDIS_URL: opts.redisUrl,
      CHATOPS_REDIS_PREFIX: prefix,
      CHATOPS_CONFIG: configPath,
      CHATOPS_SHUTDOWN_TIMEOUT_MS: '2000',
      SMTP_URL: smtp.url,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      LOG_LEVEL: 'info',
      NODE_ENV: 'production',
    });
    // Let the worker's connections settle before the baseline.
    await sleep(500);
    const memBefore = await datasetBytes(r);

    // Schedule: as the /maintenance handler does, the announce job carrying the window, then the window.
    const now = Date.now();
    const start = Math.ceil((now + opts.leadSeconds * 1000) / 1000) * 1000;
    const windows: { id: string; end: number }[] = [];
    const deps = { redis: r, prefix, queues, clock: systemClock, config };
    for (let i = 0; i < opts.windows; i++) {
      const requestId = randomUUID();
      const done = await scheduleWithNotice(
        deps,
        {
          title: `Bench window ${i + 1}`,
          start,
          end: start + WINDOW_MS,
          createdBy: REQUESTER,
          createdAt: Date.now(),
          requestId,
          ...config.maintenance.defaults,
        },
        { dedupKey: `bench-${requestId}` },
      );
      windows.push({ id: done.windowId, end: start + WINDOW_MS });
    }
    const announcements = () =>
      (slack as FakeSlack).messages(CHANNEL).filter((m) => !m.thread_ts && !m.ephemeral);
    const q = queues.queue(MAINTENANCE_QUEUE);
    const startIds = windows.map((w) => noticeJobId(w.id, { notice: 'start' }));
    // Out before the start: every announcement posted and every start notice queued.
    await until(
      `${opts.windows} announcements and their start notices`,
      async () => {
        if (announcements().length < opts.windows) return false;
        const states = await Promise.all(startIds.map((id) => q.getJobState(id)));
        return states.every((s) => s === 'delayed');
      },
      start - 2_000,
    );
    const announceSeconds = (Date.now() - now) / 1000;
    // Let the last announce jobs' completion land, then measure what N scheduled windows hold.
    await sleep(500);
    const memAfter = await datasetBytes(r);
    const own: string[] = [];
    for (const w of windows) {
      own.push(`${prefix}:mw:w:${w.id}`);
      for (const n of [
        { notice: 'announce' as const },
        { notice: 'start' as const },
        { notice: 'end' as const, end: w.end },
      ]) {
        own.push(`${prefix}:${MAINTENANCE_QUEUE}:${noticeJobId(w.id, n)}`);
      }
    }
    const redisBytes: RedisBytes = {
      ownKeysPerWindow: (await memoryUsage(r, own)) / opts.windows,
      allKeysPerWindow: (await memoryUsage(r, await keysUnder(r, prefix))) / opts.windows,
      ...(opts.privateRedis ? { datasetPerWindow: (memAfter - memBefore) / opts.windows } : {}),
    };

    if (variant !== 'unlimited') slack.setPerChannelPerSecond(1);
    const burstFrom = slack.calls.length;
    opts.log(
      `  ${variant}: ${opts.windows} windows announced in ${announceSeconds.toFixed(1)} s; ` +
        `start notices due at ${new Date(start).toISOString()}`,
    );

    // Wait until every start job is done one way or the other (posted, skipped or failed for good).
    const waitMs = variant === 'unlimited' ? 60_000 : Math.max(120_000, opts.windows * 3_000 + 60_000);
    await until(
      'the start notices',
      async () => {
        const states = await Promise.all(startIds.map((id) => q.getJobState(id)));
        return states.every((s) => s === 'completed' || s === 'failed' || s === 'unknown');
      },
      start + waitMs,
    ).catch((err: Error) => opts.log(`  ${variant}: ${err.message}; counting what arrived`));
    // Anything doubled would have arrived by now; the mails are jobs of their own, after the posts.
    await sleep(2_000);
    await until(
      'the start mails',
      () =>
        (smtp as SmtpCapture).messages.filter((m) => m.text.startsWith('Started:')).length >= opts.windows,
      Date.now() + 30_000,
    ).catch(() => undefined);

    const threadOf = new Map<string, string>();
    for (const m of announcements()) {
      const id = /`(mw-[0-9a-f]+)`/.exec(JSON.stringify(m.blocks ?? ''))?.[1];
      if (id) threadOf.set(m.ts, id);
    }
    const burst = slack.calls.slice(burstFrom);
    const posts = burst.filter((c) => c.method === 'chat.postMessage');
    const accepted = new Map<string, FakeSlackCall[]>();
    for (const c of posts) {
      if (c.ratelimited || !STARTED.test(String(c.args.text))) continue;
      const id = threadOf.get(String(c.args.thread_ts));
      if (!id) continue;
      accepted.set(id, [...(accepted.get(id) ?? []), c]);
    }
    const lags = Float64Array.from(
      [...accepted.values()].map((cs) => (cs[0] as FakeSlackCall).at - start),
    ).sort();
    const states = await Promise.all(startIds.map((id) => q.getJobState(id)));
    const logLines = worker.output();
    return {
      variant,
      windows: opts.windows,
      posted: accepted.size,
      doubled: [...accepted.values()].filter((cs) => cs.length > 1).length,
      lost: opts.windows - accepted.size,
      failedJobs: states.filter((s) => s === 'failed').length,
      lagP50ms: percentile(lags, 50),
      lagP99ms: percentile(lags, 99),
      lagMaxMs: lags.length ? (lags[lags.length - 1] as number) : Number.NaN,
      markedLate: [...accepted.values()].filter((cs) => /\(late:/.test(String(cs[0]?.args.text))).length,
      answered429: posts.filter((c) => c.ratelimited).length,
      attemptsFailed: (logLines.match(/"msg":"job attempt failed"/g) ?? []).length,
      startMails: smtp.messages.filter((m) => m.text.startsWith('Started:')).length,
      announceSeconds,
      redis: redisBytes,
      tookSeconds: (Date.now() - began) / 1000,
    };
  } finally {
    await worker?.stop();
    await queues.close();
    await deleteUnder(r, prefix).catch(() => undefined);
    await slack?.close();
    await smtp?.close();
  }
}

/** Both variants, unlimited first; returns their results. */
export async function runMaintenanceBench(opts: MaintenanceBenchOptions): Promise<VariantResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'chatops-bench-mw-'));
  try {
    const configPath = writeConfig(dir);
    const results: VariantResult[] = [];
    for (const variant of ['unlimited', '1 msg/s/channel'] as const) {
      if (opts.variants && !opts.variants.includes(variant)) continue;
      results.push(await runVariant(opts, variant, configPath));
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (x: number | undefined, digits = 0): string =>
  x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';

/** The report: one column per variant. */
export function maintenanceTable(results: VariantResult[], privateRedis: boolean): string[] {
  const n = results[0]?.windows ?? 0;
  const W = { label: 34, col: 18 };
  const row = (label: string, f: (r: VariantResult) => string) =>
    `${label.padEnd(W.label)}${results.map((r) => f(r).padStart(W.col)).join('')}`;
  const s = (ms: number) => fmt(ms / 1000, ms < 10_000 ? 2 : 1);
  const first = results[0];
  const lines = [
    `maintenance: ${n} windows, every start notice due in the same second, one worker process ` +
      '(bot/main.js, CHATOPS_ROLE=worker, product defaults: maintenance concurrency 16, 3 Web API retries; ' +
      'a notice Slack does not take is retried, backoff capped at 60 s; mail as its own job)',
    '',
    row('figure', (r) => r.variant),
    row('start notices posted once', (r) => `${r.posted - r.doubled}/${r.windows}`),
    row('  doubled / lost', (r) => `${r.doubled} / ${r.lost}`),
    row('lag due -> accepted p50 s', (r) => s(r.lagP50ms)),
    row('lag due -> accepted p99 s', (r) => s(r.lagP99ms)),
    row('lag due -> accepted max s', (r) => s(r.lagMaxMs)),
    row('  floor at 1 msg/s: p50 / p99 s', (r) =>
      r.variant === 'unlimited' ? '-' : `${fmt((r.windows - 1) * 0.5)} / ${fmt((r.windows - 1) * 0.99)}`,
    ),
    row('marked late (> 5 s)', (r) => String(r.markedLate)),
    row('429 answers', (r) => String(r.answered429)),
    row('job attempts failed, retried', (r) => String(r.attemptsFailed)),
    row('start jobs failed for good', (r) => String(r.failedJobs)),
    row('"Started" mails', (r) => `${r.startMails}/${r.windows}`),
    row('took s', (r) => fmt(r.tookSeconds)),
  ];
  if (first) {
    lines.push(
      '',
      `Redis bytes per scheduled window (after the announcements, before the start; announce job kept as completed): ` +
        `${fmt(first.redis.ownKeysPerWindow)} B in its own keys (MEMORY USAGE of the window hash and its announce, start and end job hashes); ` +
        `${fmt(first.redis.allKeysPerWindow)} B counting every key of the run (index, delayed and completed sets, events and audit streams) / ${n}` +
        (privateRedis && first.redis.datasetPerWindow !== undefined
          ? `; ${fmt(first.redis.datasetPerWindow)} B by INFO used_memory_dataset after - before / ${n} (private redis-server)`
          : ' (shared Redis: INFO memory not used)'),
    );
  }
  return lines;
}
