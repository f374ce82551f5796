// `npm run bench`: the flags, which parts run, their tables and the JSON (.artifacts/bench.json, or
// .artifacts/bench-<parts>.json with --only). Each part is a module with a typed run(options), run
// here one after the other on one Redis, each with its own key prefix:
//   slash        bench/slash-load.ts: the bot against bare+q and bare Bolt, ratios from the same rounds
//   maintenance  bench/maintenance-burst.ts: N windows whose start notices fall due in the same second
//   migration    bench/migration-run.ts: last approval click -> StopInstances at moto
//   dumps        bench/dumps-sweep.ts: a sweep of N configured jobs, the webhook against /healthz
//   cluster      bench/cluster-scale.ts: 2 bots + 2 workers on a 3-master Redis Cluster against 1 + 1
//   metrics      bench/metrics-scrape.ts: one GET /metrics with N configured dump jobs
// A part that fails is reported and the next one runs; the exit code is then 1.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { EnsuredRedis } from '../devkit/redis-server.js';
import { type AwsWorld, startAwsWorld } from './aws-proxy.js';
import * as cluster from './cluster-scale.js';
import * as dumps from './dumps-sweep.js';
import { deleteUnder, type PartContext, removeConfigFiles, wallClock } from './fleet.js';
import * as maintenance from './maintenance-burst.js';
import * as metrics from './metrics-scrape.js';
import * as migration from './migration-run.js';
import { fmt } from './report.js';
import { baseEnv, buildIfStale, pickRedis, snapshotDist, startScriptNodeArgs } from './setup.js';
import * as slash from './slash-load.js';
import { killAllChildren } from './target.js';

const ROOT = resolve(import.meta.dirname, '..');
const PARTS = ['slash', 'maintenance', 'migration', 'dumps', 'cluster', 'metrics'] as const;
type Part = (typeof PARTS)[number];
/** The parts a full run may leave out with --no-<part>. */
const SKIPPABLE = ['maintenance', 'migration', 'dumps', 'cluster', 'metrics'] as const;

const OPTIONS = {
  rounds: { type: 'string', default: '3' },
  seconds: { type: 'string', default: '8' },
  warmup: { type: 'string', default: '2' },
  'job-commands': { type: 'string', default: '200' },
  // Accepted for old command lines: bare+q is always measured now.
  calibrate: { type: 'boolean', default: false },
  redis: { type: 'string', default: 'private' },
  'no-build': { type: 'boolean', default: false },
  dist: { type: 'string', default: 'dist' },
  'node-options': { type: 'string', default: '' },
  'maintenance-windows': { type: 'string', default: '200' },
  'no-maintenance': { type: 'boolean', default: false },
  'maintenance-only': { type: 'boolean', default: false },
  'migration-runs': { type: 'string', default: '20' },
  'no-migration': { type: 'boolean', default: false },
  'dump-jobs': { type: 'string', default: '500' },
  'dump-lead': { type: 'string', default: '20' },
  'hook-rounds': { type: 'string', default: '3' },
  'hook-seconds': { type: 'string', default: '4' },
  'no-dumps': { type: 'boolean', default: false },
  'cluster-rounds': { type: 'string', default: '2' },
  'no-cluster': { type: 'boolean', default: false },
  'metrics-jobs': { type: 'string', default: '1000' },
  'no-metrics': { type: 'boolean', default: false },
  only: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

const HELP = `npm run bench -- [flags]   (or: npx tsx bench/main.ts [flags])

Parts, in the order they run: slash, maintenance, migration, dumps, cluster, metrics. Each figure is
given with its baseline measured in the same run, and as a ratio against it, where the part has one.

  --only a,b              just these parts (comma-separated); writes .artifacts/bench-a-b.json
                          instead of .artifacts/bench.json
  --no-maintenance | --no-migration | --no-dumps | --no-cluster | --no-metrics
                          leave that part out
  --maintenance-only      the maintenance part alone (as --only maintenance)
  --redis private         the run's Redis: private (default: its own redis-server), shared (REDIS_URL
                          or redis://127.0.0.1:6379) or a redis:// URL
  --no-build              run dist/ as it is (default: npm run build when dist/ is older than a source)
  --dist DIR              a built bot elsewhere (implies --no-build)
  --node-options "..."    node flags for every process the bench starts (e.g. --cpu-prof ...)
  --help                  this text

slash (the bot vs bare+q vs bare Bolt, alternating, CHATOPS_ROLE=bot, /reset-password self):
  --rounds 3              rounds of the three targets
  --seconds 8             the c=50 window (c=1 gets 5/8 of it, at least 1 s); also the cluster part's
  --warmup 2              seconds of warm-up load before each window (0: none); also the cluster
                          part's, and the dumps webhook's (at most 1 s)
  --job-commands 200      command-to-job-start: commands at c=1, 10 ms apart; also the cluster part's
  --calibrate             accepted for old command lines (bare+q is always measured)
maintenance (start notices due in the same second, without and with 1 msg/s/channel):
  --maintenance-windows 200
                          windows; with 1 msg/s/channel the part takes about N s
migration (last approval click -> StopInstances at moto):
  --migration-runs 20     measured runs after one cold run
dumps (one sweep of N jobs, then the webhook against /healthz):
  --dump-jobs 500         configured dump jobs (one sweep)
  --dump-lead 20          seconds from writing the config to the shared fire
  --hook-rounds 3         rounds of webhook vs /healthz
  --hook-seconds 4        seconds of each webhook or /healthz window
cluster (2 bots + 2 workers on a 3-master Redis Cluster vs 1 + 1 on one Redis):
  --cluster-rounds 2      rounds of the two fleets
metrics (one GET /metrics render, the real readers, cache off):
  --metrics-jobs 1000     configured dump jobs
`;

/** Every flag, checked and turned into what the parts take. */
export interface Settings {
  parts: Part[];
  /** Parts of a full run left out (for the report). */
  skipped: Part[];
  jsonName: string;
  rounds: number;
  c1Ms: number;
  c50Ms: number;
  warmupMs: number;
  jobCommands: number;
  redis: string;
  noBuild: boolean;
  dist: string;
  nodeArgs: string[];
  maintenanceWindows: number;
  migrationRuns: number;
  dumpJobs: number;
  dumpLeadSeconds: number;
  hookRounds: number;
  hookMs: number;
  clusterRounds: number;
  metricsJobs: number;
}

/** The settings of a command line, or 'help'; throws on a bad value or flags that exclude each other. */
export function parseSettings(argv: string[]): Settings | 'help' {
  const { values: f } = parseArgs({ args: argv, options: OPTIONS });
  if (f.help) return 'help';
  const positive = (name: keyof typeof f & string): number => {
    const v = String(f[name]);
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${v}"`);
    return n;
  };
  const count = (name: keyof typeof f & string) => Math.round(positive(name));
  if (f['no-maintenance'] && f['maintenance-only']) {
    throw new Error('--no-maintenance and --maintenance-only exclude each other');
  }
  if (f.only !== undefined && f['maintenance-only']) {
    throw new Error('--only and --maintenance-only exclude each other');
  }
  const only = f['maintenance-only'] ? ['maintenance'] : f.only?.split(',').map((p) => p.trim());
  for (const p of only ?? []) {
    if (!(PARTS as readonly string[]).includes(p)) {
      throw new Error(`--only: unknown part "${p}"; parts: ${PARTS.join(', ')}`);
    }
  }
  const left = (p: Part) =>
    (SKIPPABLE as readonly string[]).includes(p) && Boolean(f[`no-${p}` as keyof typeof f]);
  const chosen = PARTS.filter((p) => (only ? only.includes(p) : true));
  const c50Ms = positive('seconds') * 1000;
  return {
    parts: chosen.filter((p) => !left(p)),
    skipped: PARTS.filter((p) => !chosen.includes(p) || left(p)),
    // A partial run must not replace the full run's figures.
    jsonName: only ? `bench-${only.join('-')}.json` : 'bench.json',
    rounds: count('rounds'),
    c50Ms,
    c1Ms: Math.max(1_000, Math.round((c50Ms * 5) / 8)),
    warmupMs: f.warmup === '0' ? 0 : positive('warmup') * 1000,
    jobCommands: count('job-commands'),
    redis: f.redis,
    noBuild: f['no-build'],
    dist: resolve(ROOT, f.dist),
    nodeArgs: f['node-options'].split(/\s+/).filter(Boolean),
    maintenanceWindows: count('maintenance-windows'),
    migrationRuns: count('migration-runs'),
    dumpJobs: count('dump-jobs'),
    dumpLeadSeconds: positive('dump-lead'),
    hookRounds: count('hook-rounds'),
    hookMs: positive('hook-seconds') * 1000,
    clusterRounds: count('cluster-rounds'),
    metricsJobs: count('metrics-jobs'),
  };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** One part as main runs it: what to log first, the run, its report and whether it passed. */
interface PartRun<R> {
  what: string;
  run(): Promise<R>;
  table(result: R): string[];
  ok?(result: R): boolean;
}

/** What the run holds, for the cleanup at the end or on a signal. */
interface Held {
  redisServer?: EnsuredRedis;
  redis?: Redis;
  distDir?: string;
  aws?: Promise<AwsWorld>;
}

const PREFIX = `bench-${process.pid}`;
/** Every key prefix the parts write under (each deletes its own; these are for a run stopped midway). */
const PREFIXES = ['', '-jobs', '-mw-free', '-mw-limited', '-mig', '-dumps', '-cl-single', '-metrics'].map(
  (s) => `${PREFIX}${s}`,
);

let cleaning: Promise<void> | undefined;
function cleanup(held: Held): Promise<void> {
  cleaning ??= (async () => {
    await killAllChildren();
    removeConfigFiles();
    if (held.redis) {
      try {
        for (const p of PREFIXES) await deleteUnder(held.redis, p);
      } catch (err) {
        log(`could not delete the bench's Redis keys: ${String(err)}`);
      }
      held.redis.disconnect();
    }
    await held.aws?.then(
      (w) => w.close(),
      () => undefined,
    );
    await held.redisServer?.close();
    if (held.distDir) rmSync(held.distDir, { recursive: true, force: true });
  })();
  return cleaning;
}

async function main(argv: string[]): Promise<void> {
  let settings: Settings | 'help';
  try {
    settings = parseSettings(argv);
  } catch (err) {
    log(`${err instanceof Error ? err.message : String(err)} (--help lists the flags)`);
    process.exitCode = 1;
    return;
  }
  if (settings === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const s = settings;
  const held: Held = {};
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      log(`\n${sig}: stopping`);
      void cleanup(held).finally(() => process.exit(130));
    });
  }
  try {
    await runParts(s, held);
  } finally {
    await cleanup(held);
  }
}

async function runParts(s: Settings, held: Held): Promise<void> {
  const began = performance.now();
  const artifacts = join(ROOT, '.artifacts');
  mkdirSync(artifacts, { recursive: true });
  const startArgs = startScriptNodeArgs(ROOT);
  // Every part but metrics runs the built bot.
  if (s.parts.some((p) => p !== 'metrics')) {
    const build = { root: ROOT, dist: s.dist, noBuild: s.noBuild, log };
    buildIfStale(build);
    held.distDir = snapshotDist(build);
  }
  const redisServer = await pickRedis(s.redis, log);
  held.redisServer = redisServer;
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
  held.redis = redis;
  const ctx = (suffix: string): PartContext => ({
    botArgs: [...startArgs, ...s.nodeArgs, join(held.distDir ?? s.dist, 'bot/main.js')],
    cwd: ROOT,
    baseEnv: baseEnv(),
    redisUrl: redisServer.url,
    redis,
    privateRedis: redisServer.started,
    prefix: `${PREFIX}${suffix}`,
    log,
  });
  const clock = wallClock();
  const aws = () => {
    held.aws ??= startAwsWorld(clock).catch((err: unknown) => {
      throw new Error(`moto did not start: ${err instanceof Error ? err.message : String(err)}`);
    });
    return held.aws;
  };

  const parts: { [P in Part]: PartRun<unknown> } = {
    slash: {
      what: `the bot, bare+q and bare Bolt, ${s.rounds} rounds`,
      run: () =>
        slash.run({
          ctx: ctx(''),
          nodeArgs: s.nodeArgs,
          botCommand: `node ${[...startArgs, ''].join(' ')}dist/bot/main.js`,
          rounds: s.rounds,
          c1Ms: s.c1Ms,
          c50Ms: s.c50Ms,
          warmupMs: s.warmupMs,
          jobCommands: s.jobCommands,
        }),
      table: slash.table,
      ok: slash.ok,
    } satisfies PartRun<slash.SlashResult>,
    maintenance: {
      what:
        `${s.maintenanceWindows} windows with their start notices due in the same second, against a fake ` +
        `Slack without a limit, then with 1 msg/s/channel (that one takes about ${s.maintenanceWindows} s)`,
      run: () =>
        maintenance.run({
          ctx: ctx('-mw'),
          windows: s.maintenanceWindows,
          leadSeconds: Math.max(20, Math.ceil(s.maintenanceWindows / 20)),
        }),
      table: (r) => maintenance.table(r, redisServer.started),
      ok: maintenance.ok,
    } satisfies PartRun<maintenance.VariantResult[]>,
    migration: {
      what: `last approval click -> StopInstances at moto, ${s.migrationRuns} runs after a cold one`,
      run: async () => migration.run({ ctx: ctx('-mig'), aws: await aws(), runs: s.migrationRuns, clock }),
      table: migration.table,
    } satisfies PartRun<migration.MigrationResult>,
    dumps: {
      what: `${s.dumpJobs} jobs checked in one sweep, then the webhook against /healthz`,
      run: async () =>
        dumps.run({
          ctx: ctx('-dumps'),
          aws: await aws(),
          jobs: s.dumpJobs,
          leadSeconds: s.dumpLeadSeconds,
          hookRounds: s.hookRounds,
          hookWarmupMs: Math.min(s.warmupMs, 1_000),
          hookMs: s.hookMs,
        }),
      table: (r) => dumps.table(r, s),
    } satisfies PartRun<dumps.DumpsResult>,
    cluster: {
      what: '2 bots + 2 workers on a 3-master Redis Cluster against 1 + 1 on one Redis',
      run: () =>
        cluster.run({
          ctx: ctx('-cl'),
          rounds: s.clusterRounds,
          warmupMs: s.warmupMs,
          c50Ms: s.c50Ms,
          jobCommands: s.jobCommands,
        }),
      table: (r) => cluster.table(r, s),
    } satisfies PartRun<cluster.ClusterResult>,
    metrics: {
      what: `one GET /metrics with ${s.metricsJobs} configured dump jobs, cache off`,
      run: () => metrics.run({ ctx: ctx('-metrics'), jobs: s.metricsJobs }),
      table: metrics.table,
    } satisfies PartRun<metrics.MetricsResult>,
  };

  const json: Record<string, unknown> = {};
  const out: string[] = [];
  let ok = true;
  for (const name of s.parts) {
    const part = parts[name];
    log(`${name}: ${part.what}`);
    const t0 = performance.now();
    try {
      const result = await part.run();
      // The slash part's figures stay at the top of the JSON, as before the parts were modules.
      if (name === 'slash') Object.assign(json, result);
      else json[name] = result;
      out.push('', ...part.table(result), `(${name} part took ${fmt((performance.now() - t0) / 1000, 0)} s)`);
      if (part.ok && !part.ok(result)) ok = false;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`${name} part failed: ${err instanceof Error ? (err.stack ?? message) : message}`);
      json[name] = { error: message };
      out.push('', `${name}: FAILED: ${message.split('\n')[0]}`);
      ok = false;
    }
  }
  const totalSeconds = (performance.now() - began) / 1000;
  if (s.skipped.length) out.push('', `skipped: ${s.skipped.join(', ')} (--no-<part> or --only)`);
  out.push('', `total run time ${fmt(totalSeconds, 0)} s`);
  process.stdout.write(`${out.map((l) => l.trimEnd()).join('\n')}\n`);
  writeFileSync(
    join(artifacts, s.jsonName),
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, cpus: cpus().length, ...json, totalSeconds }, null, 2)}\n`,
  );
  log(`wrote .artifacts/${s.jsonName}`);
  if (!ok) process.exitCode = 1;
}

// Runs only as the program (`tsx bench/main.ts`), not when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  });
}
