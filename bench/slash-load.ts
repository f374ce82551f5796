// The slash-command bench: signed /reset-password load against the bot (the tsc build, run as
// `npm start` runs it), against bare Bolt as published plus one BullMQ add before the ack
// (bench/bare-bolt.mjs with BENCH_ENQUEUE=1: `bare+q`, the floor of any truthful ack) and against
// bare Bolt alone, in the same run, alternating: CPU per request, ack latency, req/s, idle memory,
// start-up time and command-to-job-start, each as a figure and as a ratio against the targets
// (issue 20: CPU and ack p99 within 1.5x of bare+q, req/s at c=50 at least 0.67x of it; issue 11:
// memory and start-up within 1.5x of bare Bolt).
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { type FakeSlack, startFakeSlack } from '../devkit/fake-slack.js';
import { freePort } from '../devkit/free-port.js';
import {
  BOT_TOKEN,
  deleteUnder,
  type FleetEnv,
  type PartContext,
  SIGNING_SECRET,
  startBotProcess,
  writeConfigFile,
} from './fleet.js';
import { type HttpReply, type LoadResult, runLoad } from './load.js';
import { cpuJiffies, findRedisPid, type Memory, machineBusyPct, readCpuMs } from './proc.js';
import { fmt, median, ratio, tableRow } from './report.js';
import {
  botAccepts,
  JOB_GAP_MS,
  JOB_WARMUP_COMMANDS,
  type JobStart,
  LOAD_PEOPLE,
  loadBody,
  measureJobStart,
  QUEUE,
  resetConfig,
} from './reset-commands.js';
import { startNodeTarget, type Target } from './target.js';

const IDLE_MS = 2_000;
const MAX_REQUESTS = 500_000;
const LEVELS = [1, 50] as const;
type Level = (typeof LEVELS)[number];
/**
 * bare: Bolt that only acks; bot: the product; bare+q: bare plus one BullMQ add before the ack, the
 * floor for any ack that waits for Redis to confirm the job.
 */
type TargetName = 'bare' | 'bot' | 'bare+q';
const TARGETS: TargetName[] = ['bare', 'bot', 'bare+q'];

/** CPU, ack p99 and req/s against bare+q (issue 20); memory and start-up against bare Bolt (issue 11). */
const TARGETS_SPEC = {
  cpuMaxRatio: 1.5,
  ackP99MaxRatio: 1.5,
  rpsC50MinRatio: 0.67,
  idleRssMaxRatio: 1.5,
  startToReadyMaxRatio: 1.5,
  jobStartP50MaxMs: 5,
};

export interface SlashOptions {
  /** The bot's arguments, the run's Redis; `prefix` for the load, `<prefix>-jobs` for job start. */
  ctx: PartContext;
  /** Node flags for every target (--node-options); the bot's are in ctx.botArgs too. */
  nodeArgs: string[];
  /** How the bot is run, for the report (`node <npm start's flags> dist/bot/main.js`). */
  botCommand: string;
  rounds: number;
  c1Ms: number;
  c50Ms: number;
  warmupMs: number;
  jobCommands: number;
}

interface Run extends LoadResult {
  /** CPU time the target process used per measured request, µs: robust to other people's load. */
  cpuUsPerReq: number;
  /** CPU time redis-server used per measured request, µs (a shared server also serves others). */
  redisCpuUsPerReq: number;
  /** Share of the machine's CPUs busy with processes other than the bench's, during the window. */
  foreignLoadPct: number;
}
interface RoundTarget {
  startToReadyMs: number;
  idle: Memory;
  peak: Memory;
  runs: Record<Level, Run>;
}
type Round = Partial<Record<TargetName, RoundTarget>> & {
  /** auth.test calls the fake Slack saw while the bot was under load (should be 0). */
  authTestDuringLoad: number;
};

type ByLevel = Record<Level, number>;
/** One target's figures over the rounds: their medians, or the medians of per-round ratios. */
export interface Figures {
  rps: ByLevel;
  p50ms: ByLevel;
  p99ms: ByLevel;
  cpuUsPerReq: ByLevel;
  redisCpuUsPerReq: ByLevel;
  foreignLoadPct: ByLevel;
  idleRssMiB: number;
  peakRssMiB: number;
  startToReadyMs: number;
}

export interface Check {
  name: string;
  value: number;
  unit: 'x' | 'ms';
  op: '<=' | '>=' | '<';
  target: number;
  pass: boolean;
}

export interface SlashResult {
  options: {
    rounds: number;
    c1Seconds: number;
    c50Seconds: number;
    warmupSeconds: number;
    targets: TargetName[];
    redis: 'private' | 'shared';
    botCommand: string;
  };
  targets: typeof TARGETS_SPEC;
  median: Record<TargetName, Figures>;
  ratios: { 'bot/bare+q': Figures; 'bot/bare': Figures; 'bare+q/bare': Figures };
  checks: Check[];
  pass: boolean;
  jobStart: JobStart;
  authTest: { total: number; botStarts: number; duringLoad: number };
  errors: number;
  badReplies: number;
  otherLoadPct: { before: number; after: number };
  rounds: unknown[];
  tookSeconds: number;
}

/** CPU counters of everything the bench runs, to tell its own load from other people's. */
interface CpuSnapshot {
  at: number;
  machine: { busy: number; total: number };
  ownMs: number;
  /** Every target process (the loaded one and the idle ones). */
  childrenMs: number;
  /** The loaded target alone. */
  targetMs: number;
  redisMs: number;
}

function cpuSnapshot(procs: Target[], loaded: Target, redisPid: number | undefined): CpuSnapshot {
  const own = process.cpuUsage();
  return {
    targetMs: loaded.cpuMs(),
    at: performance.now(),
    machine: cpuJiffies(),
    ownMs: (own.user + own.system) / 1000,
    childrenMs: procs.reduce((s, p) => s + p.cpuMs(), 0),
    redisMs: redisPid ? readCpuMs(redisPid) : Number.NaN,
  };
}

/** What one load window cost: the target's CPU and Redis's per request, and everyone else's share. */
function costOf(load: LoadResult, a: CpuSnapshot, b: CpuSnapshot): Run {
  const targetMs = b.targetMs - a.targetMs;
  const machineMs = (b.machine.busy - a.machine.busy) * 10; // jiffies are 10 ms
  const redisMs = b.redisMs - a.redisMs;
  const oursMs = b.ownMs - a.ownMs + (b.childrenMs - a.childrenMs) + (Number.isFinite(redisMs) ? redisMs : 0);
  const capacityMs = (b.at - a.at) * cpus().length;
  return {
    ...load,
    cpuUsPerReq: (targetMs * 1000) / load.requests,
    redisCpuUsPerReq: (redisMs * 1000) / load.requests,
    foreignLoadPct: Math.max(0, (100 * (machineMs - oursMs)) / capacityMs),
  };
}

/** The run's fixed parts: the fake Slack, the two configs, the Redis pid. */
interface World {
  o: SlashOptions;
  slack: FakeSlack;
  load: FleetEnv;
  jobs: FleetEnv;
  redisPid: number | undefined;
}

async function startBare(w: World, enqueue: boolean): Promise<Target> {
  const { ctx } = w.o;
  const port = await freePort();
  return startNodeTarget({
    name: enqueue ? 'bare Bolt + enqueue' : 'bare Bolt',
    args: [...w.o.nodeArgs, 'bench/bare-bolt.mjs'],
    cwd: ctx.cwd,
    port,
    env: {
      ...ctx.baseEnv,
      PORT: String(port),
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: w.slack.url,
      NODE_ENV: 'production',
      ...(enqueue ? { BENCH_ENQUEUE: '1', REDIS_URL: ctx.redisUrl, CHATOPS_REDIS_PREFIX: ctx.prefix } : {}),
    },
  });
}

function startNamed(w: World, name: TargetName): Promise<Target> {
  if (name === 'bot') return startBotProcess(w.o.ctx, w.load, 'bot (CHATOPS_ROLE=bot)');
  return startBare(w, name === 'bare+q');
}

async function runRound(w: World, round: number): Promise<Round> {
  const { o, slack } = w;
  // Rotate who starts first, so nobody always meets a colder page cache.
  const order = TARGETS.map((_, i) => TARGETS[(i + round) % TARGETS.length] as TargetName);
  const procs: Partial<Record<TargetName, Target>> = {};
  try {
    for (const name of order) procs[name] = await startNamed(w, name);
    const all = Object.values(procs);
    const idle: Partial<Record<TargetName, Memory>> = {};
    for (const name of order) {
      const t = procs[name] as Target;
      const wait = t.readyAt + IDLE_MS - performance.now();
      if (wait > 0) await sleep(wait);
      idle[name] = t.memory();
    }
    o.ctx.log(
      `round ${round + 1}/${o.rounds}: ` +
        TARGETS.map(
          (n) =>
            `${n} ready in ${fmt(procs[n]?.startToReadyMs ?? Number.NaN, 0)} ms, idle ${fmt(idle[n]?.rssMiB ?? Number.NaN)} MiB`,
        ).join('; '),
    );
    const runs = Object.fromEntries(TARGETS.map((n) => [n, {}])) as Record<
      TargetName,
      Partial<Record<Level, Run>>
    >;
    const body = loadBody(slack);
    let authTestDuringLoad = 0;
    for (const c of LEVELS) {
      for (const name of TARGETS) {
        const t = procs[name] as Target;
        const authBefore = slack.callsTo('auth.test').length;
        let start: CpuSnapshot | undefined;
        let end: CpuSnapshot | undefined;
        const load = await runLoad({
          port: t.port,
          concurrency: c,
          signingSecret: SIGNING_SECRET,
          warmupMs: o.warmupMs,
          durationMs: c === 1 ? o.c1Ms : o.c50Ms,
          maxRequests: MAX_REQUESTS,
          body,
          ...(name === 'bot' ? { accept: botAccepts } : name === 'bare+q' ? { accept: bareQAccepts } : {}),
          onWindow: (ev) => {
            if (ev === 'start') start = cpuSnapshot(all, t, w.redisPid);
            else end = cpuSnapshot(all, t, w.redisPid);
          },
        });
        authTestDuringLoad += slack.callsTo('auth.test').length - authBefore;
        const res = costOf(load, start as CpuSnapshot, end as CpuSnapshot);
        runs[name][c] = res;
        o.ctx.log(
          `  ${name.padEnd(6)} c=${String(c).padStart(2)}: ${fmt(res.rps, 0).padStart(5)} req/s  p50 ${fmt(res.p50ms, 2)} ms  ` +
            `p99 ${fmt(res.p99ms, 2)} ms (p98 ${fmt(res.tailMs.p98, 2)}, p99.5 ${fmt(res.tailMs.p995, 2)}, ` +
            `p99.9 ${fmt(res.tailMs.p999, 2)})  cpu ${fmt(res.cpuUsPerReq, 0)} µs/req, redis ${fmt(res.redisCpuUsPerReq, 0)} µs/req; ` +
            `${res.requests} requests, ${res.errors} errors, ${res.badReplies} bad replies, ` +
            `${res.newConnections} new connections; other load ${fmt(res.foreignLoadPct, 0)}%`,
        );
      }
    }
    const result: Round = { authTestDuringLoad };
    for (const name of TARGETS) {
      const t = procs[name] as Target;
      result[name] = {
        startToReadyMs: t.startToReadyMs,
        idle: idle[name] as Memory,
        peak: t.memory(),
        runs: runs[name] as Record<Level, Run>,
      };
    }
    return result;
  } finally {
    await Promise.all(Object.values(procs).map((p) => p.stop()));
  }
}

const bareQAccepts = (r: HttpReply) => r.body.includes(':key:');

const byLevel = (f: (c: Level) => number) => Object.fromEntries(LEVELS.map((c) => [c, f(c)])) as ByLevel;

/** Every figure of a target, each reduced over the rounds by `over`. */
function figures(over: (f: (t: RoundTarget) => number) => number): Figures {
  const level = (f: (r: Run) => number) => byLevel((c) => over((t) => f(t.runs[c])));
  return {
    rps: level((r) => r.rps),
    p50ms: level((r) => r.p50ms),
    p99ms: level((r) => r.p99ms),
    cpuUsPerReq: level((r) => r.cpuUsPerReq),
    redisCpuUsPerReq: level((r) => r.redisCpuUsPerReq),
    foreignLoadPct: level((r) => r.foreignLoadPct),
    idleRssMiB: over((t) => t.idle.rssMiB),
    peakRssMiB: over((t) => t.peak.hwmMiB),
    startToReadyMs: over((t) => t.startToReadyMs),
  };
}

/** Median across rounds of each figure of one target. */
const summarize = (rounds: Round[], name: TargetName): Figures =>
  figures((f) => median(rounds.map((r) => f(r[name] as RoundTarget))));

/** Median across rounds of the per-round ratio `name`/`base`: pairs measured back to back. */
const ratios = (rounds: Round[], name: TargetName, base: TargetName): Figures =>
  figures((f) => median(rounds.map((r) => f(r[name] as RoundTarget) / f(r[base] as RoundTarget))));

function check(name: string, value: number, unit: Check['unit'], op: Check['op'], target: number): Check {
  const pass = op === '<=' ? value <= target : op === '>=' ? value >= target : value < target;
  return { name, value, unit, op, target, pass };
}

/** Command-to-job-start on one CHATOPS_ROLE=all process (its own prefix and config), then the rounds. */
export async function run(o: SlashOptions): Promise<SlashResult> {
  const began = performance.now();
  const { ctx } = o;
  const jobsPrefix = `${ctx.prefix}-jobs`;
  const slack = await startFakeSlack();
  const loadFile = writeConfigFile('load', resetConfig(LOAD_PEOPLE));
  const jobsFile = writeConfigFile('jobs', resetConfig(JOB_WARMUP_COMMANDS + o.jobCommands));
  const base = { slackUrl: slack.url, redisUrl: ctx.redisUrl };
  const w: World = {
    o,
    slack,
    load: { ...base, configPath: loadFile.path, prefix: ctx.prefix },
    jobs: { ...base, configPath: jobsFile.path, prefix: jobsPrefix },
    redisPid: await findRedisPid(ctx.redis),
  };
  try {
    const busyBefore = await machineBusyPct(1_000);
    ctx.log(
      `slash: ${o.rounds} rounds of ${TARGETS.join(', ')}; c=1 ${o.c1Ms / 1000} s and c=50 ${o.c50Ms / 1000} s ` +
        `after ${o.warmupMs / 1000} s warm-up; Node ${process.version}, ${cpus().length} CPUs; ` +
        `Redis ${ctx.redisUrl}${ctx.privateRedis ? ' (private)' : ' (shared)'}; ` +
        `machine ${fmt(busyBefore, 0)}% busy before start`,
    );

    // First, because it also loads every module of the bot and of Bolt into the page cache.
    ctx.log(
      `command-to-job-start: ${o.jobCommands} commands at c=1, ${JOB_GAP_MS} ms apart (CHATOPS_ROLE=all)`,
    );
    const bot = await startBotProcess(ctx, w.jobs, 'bot (CHATOPS_ROLE=all)', 'all');
    const queue = new Queue(QUEUE, { connection: ctx.redis, prefix: jobsPrefix });
    let jobStart: JobStart;
    try {
      jobStart = await measureJobStart({ ports: [bot.port], queue, slack, commands: o.jobCommands });
    } finally {
      await queue.close();
      await bot.stop();
    }
    ctx.log(
      `  send -> job start p50 ${fmt(jobStart.sendToStartP50ms, 2)} ms, p99 ${fmt(jobStart.sendToStartP99ms, 2)} ms`,
    );

    const rounds: Round[] = [];
    for (let i = 0; i < o.rounds; i++) rounds.push(await runRound(w, i));
    const busyAfter = await machineBusyPct(1_000);

    const botQ = ratios(rounds, 'bot', 'bare+q');
    const bot1 = ratios(rounds, 'bot', 'bare');
    const checks: Check[] = [
      ...LEVELS.map((c) => check(`cpu c=${c}`, botQ.cpuUsPerReq[c], 'x', '<=', TARGETS_SPEC.cpuMaxRatio)),
      ...LEVELS.map((c) => check(`ack p99 c=${c}`, botQ.p99ms[c], 'x', '<=', TARGETS_SPEC.ackP99MaxRatio)),
      check('req/s c=50', botQ.rps[50], 'x', '>=', TARGETS_SPEC.rpsC50MinRatio),
      check('idle RSS', bot1.idleRssMiB, 'x', '<=', TARGETS_SPEC.idleRssMaxRatio),
      check('start-to-ready', bot1.startToReadyMs, 'x', '<=', TARGETS_SPEC.startToReadyMaxRatio),
      check('cmd-to-job-start p50', jobStart.sendToStartP50ms, 'ms', '<', TARGETS_SPEC.jobStartP50MaxMs),
    ];
    const runsOf = (r: Round) => TARGETS.flatMap((n) => LEVELS.map((c) => (r[n] as RoundTarget).runs[c]));
    const all = rounds.flatMap(runsOf);
    return {
      options: {
        rounds: o.rounds,
        c1Seconds: o.c1Ms / 1000,
        c50Seconds: o.c50Ms / 1000,
        warmupSeconds: o.warmupMs / 1000,
        targets: TARGETS,
        redis: ctx.privateRedis ? 'private' : 'shared',
        botCommand: o.botCommand,
      },
      targets: TARGETS_SPEC,
      median: Object.fromEntries(TARGETS.map((n) => [n, summarize(rounds, n)])) as Record<
        TargetName,
        Figures
      >,
      ratios: { 'bot/bare+q': botQ, 'bot/bare': bot1, 'bare+q/bare': ratios(rounds, 'bare+q', 'bare') },
      checks,
      pass: checks.every((c) => c.pass),
      jobStart,
      authTest: {
        total: slack.callsTo('auth.test').length,
        botStarts: o.rounds + 1,
        duringLoad: rounds.reduce((s, r) => s + r.authTestDuringLoad, 0),
      },
      errors: all.reduce((s, r) => s + r.errors, 0),
      badReplies: all.reduce((s, r) => s + r.badReplies, 0),
      otherLoadPct: { before: busyBefore, after: busyAfter },
      rounds: rounds.map((r) => ({
        authTestDuringLoad: r.authTestDuringLoad,
        ...Object.fromEntries(
          TARGETS.map((n) => {
            const t = r[n] as RoundTarget;
            return [
              n,
              {
                startToReadyMs: t.startToReadyMs,
                idleRssMiB: t.idle.rssMiB,
                peakRssMiB: t.peak.hwmMiB,
                runs: LEVELS.map((c) => {
                  const { sample: _sample, ...rest } = t.runs[c];
                  return rest;
                }),
              },
            ];
          }),
        ),
      })),
      tookSeconds: (performance.now() - began) / 1000,
    };
  } finally {
    await slack.close();
    loadFile.remove();
    jobsFile.remove();
    await deleteUnder(ctx.redis, ctx.prefix).catch(() => undefined);
    await deleteUnder(ctx.redis, jobsPrefix).catch(() => undefined);
  }
}

/** No request failed and every reply was what the target answers when it works. */
export const ok = (r: SlashResult): boolean => r.errors === 0 && r.badReplies === 0;

/** The report: one line per figure, the three targets from the same rounds, the ratios and the target. */
export function table(r: SlashResult): string[] {
  const checkOf = (name: string) => r.checks.find((c) => c.name === name);
  interface Line {
    label: string;
    digits: number;
    figure: (f: Figures) => number;
    check?: Check;
    /** Which ratio the check is on (default bare+q). */
    against?: 'bare+q' | 'bare';
    /** No ratio shown (the figure is not the target's own). */
    noRatio?: boolean;
  }
  const lines: Line[] = [
    ...LEVELS.map(
      (c): Line => ({
        label: `cpu µs/req c=${c}`,
        digits: 0,
        figure: (f) => f.cpuUsPerReq[c],
        check: checkOf(`cpu c=${c}`),
      }),
    ),
    ...LEVELS.map(
      (c): Line => ({
        label: `ack p99 c=${c} ms`,
        digits: 2,
        figure: (f) => f.p99ms[c],
        check: checkOf(`ack p99 c=${c}`),
      }),
    ),
    { label: 'req/s c=50', digits: 0, figure: (f) => f.rps[50], check: checkOf('req/s c=50') },
    {
      label: 'idle RSS MiB',
      digits: 1,
      figure: (f) => f.idleRssMiB,
      check: checkOf('idle RSS'),
      against: 'bare',
    },
    {
      label: 'start-to-ready ms',
      digits: 0,
      figure: (f) => f.startToReadyMs,
      check: checkOf('start-to-ready'),
      against: 'bare',
    },
  ];
  const info: Line[] = [
    { label: 'req/s c=1', digits: 0, figure: (f) => f.rps[1] },
    { label: 'ack p50 c=1 ms', digits: 2, figure: (f) => f.p50ms[1] },
    { label: 'ack p50 c=50 ms', digits: 2, figure: (f) => f.p50ms[50] },
    { label: 'redis cpu µs/req c=50', digits: 0, figure: (f) => f.redisCpuUsPerReq[50], noRatio: true },
    { label: 'peak RSS MiB', digits: 1, figure: (f) => f.peakRssMiB },
  ];
  const row = tableRow(24, [10, 10, 10, 10, 10, 14, 8]);
  // More digits when rounding would hide which side of the target the ratio is on.
  const ratioCell = (x: number, target?: number) =>
    ratio(x, target !== undefined && Math.abs(x - target) < 0.005 ? 4 : 2);
  const { median: m, ratios: q, jobStart: js } = r;
  const out: string[] = [
    `median of ${r.options.rounds} rounds (ratios: median of per-round pairs measured back to back); ` +
      `bot = ${r.options.botCommand} (as npm start; CHATOPS_ROLE=bot, /reset-password self), ` +
      'bare+q = bench/bare-bolt.mjs + one BullMQ add before the ack, bare = bench/bare-bolt.mjs (acks only)',
    '',
    row('figure', 'bot', 'bare+q', 'bot/q', 'bare', 'bot/bare', 'target', 'result'),
  ];
  const push = (l: Line) => {
    const ch = l.check;
    const vsBare = l.against === 'bare';
    const shown = (f: Figures) => (l.noRatio ? Number.NaN : l.figure(f));
    out.push(
      row(
        l.label,
        fmt(l.figure(m.bot), l.digits),
        fmt(l.figure(m['bare+q']), l.digits),
        ratioCell(shown(q['bot/bare+q']), vsBare ? undefined : ch?.target),
        fmt(l.figure(m.bare), l.digits),
        ratioCell(shown(q['bot/bare']), vsBare ? ch?.target : undefined),
        ch ? `${ch.op} ${ch.target}x ${vsBare ? 'bare' : 'q'}` : '',
        ch ? (ch.pass ? 'PASS' : 'FAIL') : '',
      ),
    );
  };
  for (const l of lines) push(l);
  const jsCheck = checkOf('cmd-to-job-start p50') as Check;
  out.push(
    row(
      'cmd-to-job-start p50 ms',
      fmt(js.sendToStartP50ms, 2),
      '-',
      '-',
      '-',
      '-',
      `${jsCheck.op} ${jsCheck.target} ms`,
      jsCheck.pass ? 'PASS' : 'FAIL',
    ),
  );
  out.push('(info, no target)');
  for (const l of info) push(l);
  const failed = r.checks.filter((c) => !c.pass).map((c) => c.name);
  const noisy = Math.max(
    r.otherLoadPct.before,
    r.otherLoadPct.after,
    ...TARGETS.flatMap((n) => LEVELS.map((c) => m[n].foreignLoadPct[c])),
  );
  out.push(
    '',
    `command-to-job-start: send -> BullMQ processedOn (the worker moved the job to active), ` +
      `${js.processed}/${js.commands} jobs at c=1, one CHATOPS_ROLE=all process: ` +
      `p50 ${fmt(js.sendToStartP50ms, 2)} ms, p99 ${fmt(js.sendToStartP99ms, 2)} ms; ` +
      `add -> start p50 ${fmt(js.enqueueToStartP50ms, 0)} ms, p99 ${fmt(js.enqueueToStartP99ms, 0)} ms ` +
      `(BullMQ stamps whole ms); ack p50 ${fmt(js.ackP50ms, 2)} ms, p99 ${fmt(js.ackP99ms, 2)} ms`,
    `auth.test calls: ${r.authTest.total} for ${r.authTest.botStarts} bot starts, ${r.authTest.duringLoad} during load; ` +
      `errors ${r.errors}, bad replies ${r.badReplies}`,
    `other load on the machine: ${fmt(r.otherLoadPct.before, 0)}% before, ${fmt(r.otherLoadPct.after, 0)}% after` +
      (noisy > 15 ? ' -- NOISY: absolute numbers are low; ratios compare back-to-back runs' : ''),
    failed.length ? `FAIL: ${failed.join(', ')}` : 'PASS: every target met',
  );
  return out;
}
