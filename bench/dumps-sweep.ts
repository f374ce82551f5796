// The dumps part of `npm run bench`, on the built bot (one worker, then one bot process), moto S3
// behind the recording proxy and the run's Redis:
//
// 1. Sweep: N dump jobs configured with the same cron second, each with today's object and the 7 days
//    before it in S3. The worker's job schedulers fire all N at once; the figures are the wall time
//    from the fire to the last check recorded (`dump:last:<job>`), the S3 (and STS) requests per job
//    counted at the proxy, and the Redis bytes per job (MEMORY USAGE of every key of the run, after
//    the schedulers are in place and after the sweep). Then `/dumps check` (all N in one job), the same
//    figures for the sweep a person asks for.
// 2. Webhook: signed `failed` reports to POST /hooks/dumps (fresh timestamp, unique body, so the replay
//    guard accepts each) against GET /healthz of the same bot process, same load shape, alternating, at
//    c=1 and c=10. The worker is stopped first, so nothing but the bot competes for the CPUs.

import { createHmac } from 'node:crypto';
import type { Agent } from 'node:http';
import { seedDumpsWorld } from '../devkit/worlds/index.js';
import { until } from '../test/helpers/wait.js';
import { type AwsWorld, PROD_ACCOUNT, PROD_ACCOUNTS } from './aws-proxy.js';
import {
  datasetBytes,
  deleteUnder,
  keysUnder,
  memoryUsage,
  type PartContext,
  slackSide,
  withPartFleet,
} from './fleet.js';
import { httpRequest, type LoadResult, runLoad } from './load.js';
import { countBy, counts, fmt, median, ratio, tableRow } from './report.js';

const BUCKET = 'bench-dumps';
const ALERTS = 'C0BENCHALERTS';
const USER = 'U0BENCHDUMPS';
const HOOK_SECRET = 'bench-dump-webhook-secret-0123456789';
const PUT_CONCURRENCY = 16;
const LEVELS = [1, 10] as const;
type Level = (typeof LEVELS)[number];
type Route = 'healthz' | 'hook';

export interface DumpsOptions {
  ctx: PartContext;
  aws: AwsWorld;
  jobs: number;
  /** Seconds from writing the config to the shared fire (the worker upserts N schedulers first). */
  leadSeconds: number;
  hookRounds: number;
  hookWarmupMs: number;
  hookMs: number;
}

export interface SweepResult {
  kind: 'scheduled' | '/dumps check';
  jobs: number;
  checked: number;
  /** Fire (or command sent) to the last check recorded, s. */
  wallSeconds: number;
  /** Fire to the median job's check recorded, s. */
  p50Seconds: number;
  listPerJob: number;
  s3PerJob: number;
  stsPerJob: number;
  /** Every AWS request of the sweep, by action. */
  aws: Record<string, number>;
  verdicts: Record<string, number>;
}

export interface DumpsRedisBytes {
  /** After the worker upserted the schedulers, before the fire: MEMORY USAGE of every key / N. */
  configuredPerJob: number;
  /** After the scheduled sweep (ticks and checks kept as completed, last-check hashes, audit) / N. */
  afterSweepPerJob: number;
  /** The same, by key family. */
  afterSweepByFamily: Record<string, number>;
  /** INFO used_memory_dataset after the sweep - before the worker started, / N (private Redis only). */
  datasetPerJob?: number;
}

export interface HookRun extends LoadResult {
  route: Route;
}

export interface DumpsResult {
  jobs: number;
  schedulerSyncSeconds: number;
  sweeps: SweepResult[];
  redis: DumpsRedisBytes;
  /** Length of the `/dumps check` DM (Slack truncates a message's text past 40,000 characters). */
  manualReportChars: number;
  hook: Record<Level, { healthz: HookSummary; hook: HookSummary; p99Ratio: number; p50Ratio: number }>;
  hookErrors: number;
  hookBadReplies: number;
  tookSeconds: number;
}

export interface HookSummary {
  rps: number;
  p50ms: number;
  p99ms: number;
}

const jobName = (i: number) => `bench_dump_${String(i).padStart(4, '0')}`;

function config(jobs: number, fireAt: number) {
  const t = new Date(fireAt);
  const cron = `${t.getUTCSeconds()} ${t.getUTCMinutes()} ${t.getUTCHours()} * * *`;
  return {
    timezone: 'UTC',
    accounts: PROD_ACCOUNTS,
    channels: { alerts: ALERTS },
    dumps: {
      account: PROD_ACCOUNT,
      bucket: BUCKET,
      jobs: Array.from({ length: jobs }, (_, i) => ({
        name: jobName(i),
        cron,
        prefix: 'dumps/',
        graceMinutes: 0,
      })),
    },
  };
}

/** Each job's last check (`at`, `verdict`, `reason`), from its hash. */
async function lastChecks(ctx: PartContext, jobs: number) {
  const p = ctx.redis.pipeline();
  for (let i = 0; i < jobs; i++) p.hmget(`${ctx.prefix}:dump:last:${jobName(i)}`, 'at', 'verdict', 'reason');
  return ((await p.exec()) ?? []).map(([, v]) => {
    const [at, verdict, reason] = (v ?? []) as (string | null)[];
    return { at: Number(at ?? Number.NaN), verdict: verdict ?? '', reason: reason ?? '' };
  });
}

/** Waits until every job's last check is one for `reason` made at `since` or later; returns them. */
function checkedSince(ctx: PartContext, jobs: number, reason: 'scheduled' | 'manual', since: number) {
  return until(
    `${jobs} ${reason} checks`,
    async () => {
      const c = await lastChecks(ctx, jobs);
      return c.every((x) => x.at >= since && x.reason === reason) ? c : undefined;
    },
    300_000,
    100,
  );
}

function family(key: string, prefix: string): string {
  const k = key.slice(prefix.length + 1);
  if (k.startsWith('dump:last:')) return 'dump:last:<job> (last check)';
  if (k.startsWith('dump:')) return 'dump:* (alerts, replay marks)';
  if (k.startsWith('dumps:repeat:')) return 'BullMQ tick jobs (repeat:…)';
  if (k === 'dumps:repeat') return 'BullMQ scheduler index';
  if (/^dumps:dc-/.test(k)) return 'BullMQ check jobs (dc-…)';
  if (
    /^dumps:(completed|failed|delayed|wait|events|meta|id|stalled-check|marker|active|prioritized|pc|de):?/.test(
      k,
    ) ||
    k === 'dumps'
  )
    return 'BullMQ queue structures (sets, events stream)';
  if (k.startsWith('dumps:')) return 'BullMQ other dumps:*';
  if (k.startsWith('audit')) return 'audit stream';
  return 'other';
}

async function redisBytes(
  ctx: PartContext,
  jobs: number,
): Promise<{ total: number; byFamily: Record<string, number> }> {
  const keys = await keysUnder(ctx.redis, ctx.prefix);
  const sizes = await memoryUsage(ctx.redis, keys);
  const byFamily: Record<string, number> = {};
  let total = 0;
  keys.forEach((k, i) => {
    const f = family(k, ctx.prefix);
    byFamily[f] = (byFamily[f] ?? 0) + (sizes[i] ?? 0) / jobs;
    total += sizes[i] ?? 0;
  });
  return { total: total / jobs, byFamily };
}

function sweepOf(
  kind: SweepResult['kind'],
  jobs: number,
  from: number,
  checks: { at: number; verdict: string }[],
  awsCalls: Record<string, number>,
): SweepResult {
  const ats = checks.map((c) => c.at - from).sort((a, b) => a - b);
  const s3 = ['ListObjectsV2', 'ListObjects', 'GetObject', 'HeadObject', 'PutObject', 'DeleteObject'];
  return {
    kind,
    jobs,
    checked: checks.length,
    wallSeconds: (ats[ats.length - 1] ?? Number.NaN) / 1000,
    p50Seconds: median(ats) / 1000,
    listPerJob: (awsCalls.ListObjectsV2 ?? 0) / jobs,
    s3PerJob: s3.reduce((n, a) => n + (awsCalls[a] ?? 0), 0) / jobs,
    stsPerJob: (awsCalls.AssumeRole ?? 0) / jobs,
    aws: awsCalls,
    verdicts: countBy(checks, (c) => c.verdict || 'none'),
  };
}

/** The scheduled sweep, `/dumps check`, then the webhook against /healthz. */
export async function run(o: DumpsOptions): Promise<DumpsResult> {
  const began = Date.now();
  const { ctx, aws } = o;
  const r = ctx.redis;
  const N = o.jobs;
  await deleteUnder(r, ctx.prefix);
  await aws.reset();
  // The fire is fixed before seeding, so the day seeded is the day checked.
  const seedStart = Date.now();
  const seededFor = Math.ceil((Date.now() + 60_000) / 1000) * 1000;
  const utcDay = (t: number) => new Date(t).toISOString().slice(0, 10);
  // Today's object and the 7 days before it for every job (sizes within the tolerance: all pass).
  await seedDumpsWorld({
    endpoint: aws.moto.url,
    accounts: PROD_ACCOUNTS,
    requester: 'bench-seed',
    account: PROD_ACCOUNT,
    bucket: BUCKET,
    jobs: Array.from({ length: N }, (_, i) => jobName(i)),
    days: 8,
    today: utcDay(seededFor),
    extension: '',
    concurrency: PUT_CONCURRENCY,
  });
  ctx.log(`  seeded ${N * 8} objects in ${fmt((Date.now() - seedStart) / 1000, 1)} s`);
  const fireAt = Math.ceil((Date.now() + o.leadSeconds * 1000) / 1000) * 1000;
  if (utcDay(fireAt) !== utcDay(seededFor)) {
    throw new Error('dumps bench: the fire falls on another UTC day than the one seeded; run it again');
  }
  return withPartFleet(
    ctx,
    {
      name: 'dumps',
      config: config(N, fireAt),
      queue: 'dumps',
      awsEndpoint: aws.proxy.url,
      extra: { DUMP_WEBHOOK_SECRET: HOOK_SECRET },
    },
    async ({ slack, queue, startBot, startWorker }) => {
      const memBefore = await datasetBytes(r);
      const spawned = Date.now();
      const worker = await startWorker('worker (dumps)');
      await until(
        `${N} dump schedulers`,
        async () => (await queue.getJobSchedulersCount()) >= N,
        Math.max(5_000, fireAt - Date.now() - 500),
        50,
      );
      const schedulerSyncSeconds = (Date.now() - spawned) / 1000;
      if (Date.now() > fireAt - 500)
        throw new Error(
          `dumps bench: the schedulers took past the fire; raise --dump-lead (${o.leadSeconds} s)`,
        );
      await until(
        'the delayed ticks',
        async () => (await queue.getDelayedCount()) >= N,
        fireAt - Date.now() - 200,
        50,
      );
      const configured = await redisBytes(ctx, N);
      ctx.log(
        `  worker synced ${N} schedulers in ${fmt(schedulerSyncSeconds, 1)} s; all fire at ${new Date(fireAt).toISOString()}`,
      );

      // 1a. The scheduled sweep.
      await until('the fire', () => Date.now() >= fireAt - 50, 60_000, 10);
      const awsFrom = aws.proxy.calls.length;
      const checks = await checkedSince(ctx, N, 'scheduled', fireAt);
      // Let the last jobs' completions land before counting bytes.
      await until(
        'the queue to drain',
        async () => (await queue.getActiveCount()) + (await queue.getWaitingCount()) === 0,
        30_000,
        50,
      );
      const scheduled = sweepOf('scheduled', N, fireAt, checks, aws.proxy.countSince(awsFrom));
      const after = await redisBytes(ctx, N);
      const memAfter = await datasetBytes(r);
      ctx.log(`  scheduled sweep: ${N} checks in ${fmt(scheduled.wallSeconds, 2)} s`);

      // 1b. `/dumps check`: all N in one job, from a person.
      const bot = await startBot('bot (dumps)');
      const side = slackSide(bot.port);
      const manualFrom = aws.proxy.calls.length;
      const sentAt = Date.now();
      const ack = await side.command(
        USER,
        '/dumps',
        'check',
        'C0BENCHGENERAL',
        slack.responseUrl('C0BENCHGENERAL', USER),
      );
      side.close();
      if (!/Checking all/.test(ack.body))
        throw new Error(`/dumps check was not queued: ${ack.body.slice(0, 300)}`);
      const manualChecks = await checkedSince(ctx, N, 'manual', sentAt);
      const report = await until(
        'the /dumps check report',
        () => slack.callsTo('chat.postMessage').find((c) => /\*Dump check\*/.test(String(c.args.text))),
        30_000,
      );
      const manual = sweepOf('/dumps check', N, sentAt, manualChecks, aws.proxy.countSince(manualFrom));
      ctx.log(`  /dumps check: ${N} checks in ${fmt(manual.wallSeconds, 2)} s`);

      // 2. The webhook against /healthz: bot only.
      await worker.stop();
      const hook = await hookVsHealthz(o, bot.port);

      return {
        jobs: N,
        schedulerSyncSeconds,
        sweeps: [scheduled, manual],
        redis: {
          configuredPerJob: configured.total,
          afterSweepPerJob: after.total,
          afterSweepByFamily: after.byFamily,
          ...(ctx.privateRedis ? { datasetPerJob: (memAfter - memBefore) / N } : {}),
        },
        manualReportChars: String(report.args.text).length,
        ...hook,
        tookSeconds: (Date.now() - began) / 1000,
      };
    },
  );
}

async function hookVsHealthz(
  o: DumpsOptions,
  port: number,
): Promise<Pick<DumpsResult, 'hook' | 'hookErrors' | 'hookBadReplies'>> {
  let seq = 0;
  const send = (route: Route) =>
    route === 'healthz'
      ? (agent: Agent) => httpRequest(agent, port, 'GET', '/healthz')
      : (agent: Agent, w: number) => {
          // A fresh timestamp and a unique body: a new signature each time, which the replay guard accepts.
          seq += 1;
          const body = JSON.stringify({
            job: jobName(seq % o.jobs),
            status: 'failed',
            exitCode: 1,
            message: `bench ${process.pid} ${w} ${seq}`,
          });
          const ts = Math.floor(Date.now() / 1000);
          const sig = `v0=${createHmac('sha256', HOOK_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
          return httpRequest(
            agent,
            port,
            'POST',
            '/hooks/dumps',
            {
              'content-type': 'application/json',
              'x-chatops-timestamp': String(ts),
              'x-chatops-signature': sig,
            },
            body,
          );
        };
  const runs: Record<Level, Record<Route, HookRun[]>> = {
    1: { healthz: [], hook: [] },
    10: { healthz: [], hook: [] },
  };
  let errors = 0;
  let bad = 0;
  for (let round = 0; round < o.hookRounds; round++) {
    for (const c of LEVELS) {
      const order: Route[] = round % 2 ? ['hook', 'healthz'] : ['healthz', 'hook'];
      for (const route of order) {
        const res = await runLoad({
          port,
          concurrency: c,
          signingSecret: '',
          warmupMs: o.hookWarmupMs,
          durationMs: o.hookMs,
          maxRequests: 200_000,
          send: send(route),
          expectStatus: route === 'hook' ? 202 : 200,
          accept: (reply) => reply.body.includes(route === 'hook' ? '"status":"accepted"' : '"status":"ok"'),
        });
        errors += res.errors;
        bad += res.badReplies;
        runs[c][route].push({ ...res, route });
        o.ctx.log(
          `  round ${round + 1}/${o.hookRounds} ${route.padEnd(7)} c=${String(c).padStart(2)}: ${fmt(res.rps, 0)} req/s  ` +
            `p50 ${fmt(res.p50ms, 2)} ms  p99 ${fmt(res.p99ms, 2)} ms; ${res.requests} requests, ${res.errors} errors, ${res.badReplies} bad replies`,
        );
      }
    }
  }
  const summary = (xs: HookRun[]): HookSummary => ({
    rps: median(xs.map((x) => x.rps)),
    p50ms: median(xs.map((x) => x.p50ms)),
    p99ms: median(xs.map((x) => x.p99ms)),
  });
  const ratio = (c: Level, f: (x: HookRun) => number) =>
    median(runs[c].hook.map((h, i) => f(h) / f(runs[c].healthz[i] as HookRun)));
  const hook = Object.fromEntries(
    LEVELS.map((c) => [
      c,
      {
        healthz: summary(runs[c].healthz),
        hook: summary(runs[c].hook),
        p99Ratio: ratio(c, (x) => x.p99ms),
        p50Ratio: ratio(c, (x) => x.p50ms),
      },
    ]),
  ) as DumpsResult['hook'];
  return { hook, hookErrors: errors, hookBadReplies: bad };
}

/** The report lines. */
export function table(d: DumpsResult, o: { hookRounds: number; hookMs: number }): string[] {
  const cells = tableRow(40, 16);
  const row = (label: string, f: (s: SweepResult) => string) => cells(label, ...d.sweeps.map(f));
  const hookRow = tableRow(24, [12, 12, 14]);
  const lines = [
    `dumps: ${d.jobs} configured jobs, each with today's object and 7 earlier days in moto S3; one worker process ` +
      '(bot/main.js, CHATOPS_ROLE=worker, product defaults); S3/STS requests counted at the proxy in front of moto',
    '',
    row('figure', (s) => s.kind),
    row('jobs checked', (s) => `${s.checked}/${s.jobs}`),
    row('wall s (fire/send -> last check)', (s) => fmt(s.wallSeconds, 2)),
    row('  median job checked after s', (s) => fmt(s.p50Seconds, 2)),
    row('ListObjectsV2 per job', (s) => fmt(s.listPerJob, 2)),
    row('S3 requests per job (all kinds)', (s) => fmt(s.s3PerJob, 2)),
    row('STS AssumeRole per job', (s) => fmt(s.stsPerJob, 2)),
    row('verdicts', (s) => counts(s.verdicts)),
    '',
    `scheduler sync at worker start: ${fmt(d.schedulerSyncSeconds, 1)} s (spawn -> ${d.jobs} job schedulers in Redis)`,
    `Redis bytes per job (MEMORY USAGE of every key of the run / ${d.jobs}): ${fmt(d.redis.configuredPerJob, 0)} B configured ` +
      `(schedulers and their next ticks), ${fmt(d.redis.afterSweepPerJob, 0)} B after one sweep` +
      (d.redis.datasetPerJob !== undefined
        ? `; ${fmt(d.redis.datasetPerJob, 0)} B by INFO used_memory_dataset (after the sweep - before the worker) / ${d.jobs}`
        : ''),
    `  after the sweep, by family: ${Object.entries(d.redis.afterSweepByFamily)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${fmt(v, 0)} B`)
      .join('; ')}`,
    `/dumps check report: ${d.manualReportChars} characters in one DM (Slack truncates text past 40,000)`,
    '',
    `webhook vs /healthz, same bot process (CHATOPS_ROLE=bot), alternating, median of ${o.hookRounds} rounds of ${o.hookMs / 1000} s; ` +
      'signed `failed` reports, fresh timestamp, unique body (202 accepted, job queued)',
    '',
    hookRow('figure', '/healthz', 'webhook', 'hook/healthz'),
  ];
  for (const c of LEVELS) {
    const h = d.hook[c];
    lines.push(
      hookRow(`req/s c=${c}`, fmt(h.healthz.rps, 0), fmt(h.hook.rps, 0), ratio(h.hook.rps / h.healthz.rps)),
      hookRow(`p50 c=${c} ms`, fmt(h.healthz.p50ms, 2), fmt(h.hook.p50ms, 2), ratio(h.p50Ratio)),
      hookRow(`p99 c=${c} ms`, fmt(h.healthz.p99ms, 2), fmt(h.hook.p99ms, 2), ratio(h.p99Ratio)),
    );
  }
  lines.push(`webhook errors ${d.hookErrors}, bad replies ${d.hookBadReplies}`);
  return lines;
}
