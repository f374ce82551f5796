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

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FakeSlack, type FakeSlackCall, startFakeSlack } from '../devkit/fake-slack.js';
import { type SmtpCapture, startSmtpCapture } from '../devkit/smtp-capture.js';
import { systemClock } from '../infra/clock.js';
import { loadConfig } from '../infra/config.js';
import { MAINTENANCE_QUEUE, noticeJobId, scheduleWithNotice } from '../jobs/maintenance/index.js';
import { createQueues } from '../jobs/queues.js';
import { until } from '../test/helpers/wait.js';
import {
  datasetBytes,
  deleteUnder,
  keysUnder,
  memoryUsage,
  type PartContext,
  startWorkerProcess,
  writeConfigFile,
} from './fleet.js';
import { fmt, percentile, sorted, tableRow } from './report.js';
import type { Target } from './target.js';

const CHANNEL = 'C0BENCHMW';
const REQUESTER = 'U0BENCHOPS';
/** Long enough that no end notice falls due during the bench. */
const WINDOW_MS = 3_600_000;
const STARTED = /has started/;

export interface MaintenanceOptions {
  /** The run's Redis and the bot's arguments; each variant uses the key prefix `<prefix>-<free|limited>`. */
  ctx: PartContext;
  windows: number;
  /** Seconds from scheduling to the shared start (the announcements must be out by then). */
  leadSeconds: number;
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

const CONFIG = {
  timezone: 'UTC',
  accounts: { 'bench-dev': { id: '123456789012', region: 'us-east-1' } },
  channels: { maintenance: CHANNEL },
  // A lead longer than the bench: already past at scheduling time, so no reminder is queued.
  maintenance: { emailTo: ['stakeholders@example.com'], remindBefore: ['7d'] },
  resetPassword: { mailFrom: 'chatops@example.com' },
  // jobs: the product's defaults (5 attempts, exponential backoff from 5 s).
};

/** Sum of MEMORY USAGE of `keys`, bytes. */
const bytesOf = async (ctx: PartContext, keys: string[]) =>
  (await memoryUsage(ctx.redis, keys)).reduce((a, b) => a + b, 0);

/** One variant: schedule N windows, announce them, then let every start notice fall due at once. */
async function runVariant(
  opts: MaintenanceOptions,
  variant: VariantResult['variant'],
  configPath: string,
): Promise<VariantResult> {
  const began = Date.now();
  const { ctx } = opts;
  const prefix = `${ctx.prefix}-${variant === 'unlimited' ? 'free' : 'limited'}`;
  const r = ctx.redis;
  await deleteUnder(r, prefix);
  let slack: FakeSlack | undefined;
  let smtp: SmtpCapture | undefined;
  let worker: Target | undefined;
  const config = loadConfig(configPath);
  const queues = createQueues({ connection: r, prefix, config });
  try {
    slack = await startFakeSlack();
    smtp = await startSmtpCapture();
    // Info logs kept whole: the failed attempts are counted from them.
    worker = await startWorkerProcess(
      ctx,
      {
        slackUrl: slack.url,
        configPath,
        prefix,
        redisUrl: ctx.redisUrl,
        extra: { SMTP_URL: smtp.url, LOG_LEVEL: 'info' },
      },
      {
        connection: r,
        queue: MAINTENANCE_QUEUE,
        name: `worker (maintenance, ${variant})`,
      },
    );
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
      start - 2_000 - Date.now(),
      100,
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
      ownKeysPerWindow: (await bytesOf(ctx, own)) / opts.windows,
      allKeysPerWindow: (await bytesOf(ctx, await keysUnder(r, prefix))) / opts.windows,
      ...(ctx.privateRedis ? { datasetPerWindow: (memAfter - memBefore) / opts.windows } : {}),
    };

    if (variant !== 'unlimited') slack.setPerChannelPerSecond(1);
    const burstFrom = slack.calls.length;
    ctx.log(
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
      start + waitMs - Date.now(),
      100,
    ).catch((err: Error) => ctx.log(`  ${variant}: ${err.message}; counting what arrived`));
    // Anything doubled would have arrived by now; the mails are jobs of their own, after the posts.
    await sleep(2_000);
    await until(
      'the start mails',
      () =>
        (smtp as SmtpCapture).messages.filter((m) => m.text.startsWith('Started:')).length >= opts.windows,
      30_000,
      100,
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
    const lags = sorted([...accepted.values()].map((cs) => (cs[0] as FakeSlackCall).at - start));
    const states = await Promise.all(startIds.map((id) => q.getJobState(id)));
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
      attemptsFailed: worker.records().filter((rec) => rec.msg === 'job attempt failed').length,
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
export async function run(opts: MaintenanceOptions): Promise<VariantResult[]> {
  const file = writeConfigFile('maintenance', CONFIG);
  try {
    const results: VariantResult[] = [];
    for (const variant of ['unlimited', '1 msg/s/channel'] as const) {
      if (opts.variants && !opts.variants.includes(variant)) continue;
      results.push(await runVariant(opts, variant, file.path));
    }
    return results;
  } finally {
    file.remove();
  }
}

/** Nothing lost and nothing doubled, in either variant. */
export const ok = (results: VariantResult[]): boolean =>
  results.every((v) => v.lost === 0 && v.doubled === 0);

/** The report: one column per variant. */
export function table(results: VariantResult[], privateRedis: boolean): string[] {
  const n = results[0]?.windows ?? 0;
  const cells = tableRow(34, 18);
  const row = (label: string, f: (r: VariantResult) => string) => cells(label, ...results.map(f));
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
      r.variant === 'unlimited'
        ? '-'
        : `${fmt((r.windows - 1) * 0.5, 0)} / ${fmt((r.windows - 1) * 0.99, 0)}`,
    ),
    row('marked late (> 5 s)', (r) => String(r.markedLate)),
    row('429 answers', (r) => String(r.answered429)),
    row('job attempts failed, retried', (r) => String(r.attemptsFailed)),
    row('start jobs failed for good', (r) => String(r.failedJobs)),
    row('"Started" mails', (r) => `${r.startMails}/${r.windows}`),
    row('took s', (r) => fmt(r.tookSeconds, 0)),
  ];
  if (first) {
    lines.push(
      '',
      `Redis bytes per scheduled window (after the announcements, before the start; announce job kept as completed): ` +
        `${fmt(first.redis.ownKeysPerWindow, 0)} B in its own keys (MEMORY USAGE of the window hash and its announce, start and end job hashes); ` +
        `${fmt(first.redis.allKeysPerWindow, 0)} B counting every key of the run (index, delayed and completed sets, events and audit streams) / ${n}` +
        (privateRedis && first.redis.datasetPerWindow !== undefined
          ? `; ${fmt(first.redis.datasetPerWindow, 0)} B by INFO used_memory_dataset after - before / ${n} (private redis-server)`
          : ' (shared Redis: INFO memory not used)'),
    );
  }
  lines.push(
    ok(results)
      ? 'PASS: no start notice lost or doubled'
      : `FAIL: start notices lost or doubled: ${results.map((v) => `${v.variant} ${v.lost}/${v.doubled}`).join(', ')}`,
  );
  return lines;
}
