// The Redis Cluster part of `npm run bench` (issue 15): 2 bots + 2 workers on a 3-master Redis
// Cluster that the bench starts on loopback ports, against 1 bot + 1 worker on the run's single
// Redis, both fleets up at once and measured alternately, round by round: req/s and ack latency of
// /reset-password at c=50 spread over the fleet's bots, and command-to-job-start (send to BullMQ's
// processedOn, 200 commands at c=1, 10 ms apart, alternating bots) as reset-commands.ts measures it.
// The workers run throughout (every job fails at once on a missing GPG key, before any AWS call).
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { type FakeSlack, startFakeSlack } from '../devkit/fake-slack.js';
import { connectRedis, type Redis } from '../infra/redis.js';
import { type RedisCluster, startRedisCluster } from '../test/helpers/redis-cluster.js';
import {
  deleteUnder,
  type FleetEnv,
  logOutputs,
  type PartContext,
  SIGNING_SECRET,
  startBotProcess,
  startWorkerProcess,
  writeConfigFile,
} from './fleet.js';
import { type LoadResult, postSigned, runLoad } from './load.js';
import { fmt, median, ratio, tableRow } from './report.js';
import * as reset from './reset-commands.js';
import type { Target } from './target.js';

export type VariantName = 'single' | 'cluster';

export interface ClusterOptions {
  ctx: PartContext;
  rounds: number;
  warmupMs: number;
  c50Ms: number;
  jobCommands: number;
}

export interface VariantRound {
  load: Omit<LoadResult, 'sample'>;
  jobStart: reset.JobStart;
  /** Commands each master processed during the c=50 window (cluster only). */
  commandsPerMaster?: number[];
}

export interface ClusterResult {
  rounds: number;
  fleets: Record<VariantName, string>;
  median: Record<
    VariantName,
    { rps: number; p50ms: number; p99ms: number; jobStartP50ms: number; jobStartP99ms: number }
  >;
  /** Median over rounds of cluster/single, pairs measured back to back. */
  ratio: { rps: number; p99: number; jobStartP50: number };
  /** Share of the cluster's commands the busiest master took during the c=50 windows. */
  busiestMasterShare: number;
  errors: number;
  badReplies: number;
  all: Record<VariantName, VariantRound[]>;
  tookSeconds: number;
}

interface Fleet {
  name: VariantName;
  bots: Target[];
  workers: Target[];
  redis: Redis;
  queue: Queue;
  masters?: Redis[];
}

async function totalCommands(nodes: Redis[]): Promise<number[]> {
  return Promise.all(
    nodes.map(async (n) =>
      Number(/total_commands_processed:(\d+)/.exec(await n.info('stats'))?.[1] ?? Number.NaN),
    ),
  );
}

async function c50(
  f: Fleet,
  slack: FakeSlack,
  o: ClusterOptions,
): Promise<VariantRound['load'] & { perMaster?: number[] }> {
  // One closed-loop run over all the fleet's bots: worker w sends to bot w % bots.
  const body = reset.loadBody(slack);
  let before: number[] | undefined;
  let after: number[] | undefined;
  const res = await runLoad({
    port: 0,
    concurrency: 50,
    signingSecret: SIGNING_SECRET,
    warmupMs: o.warmupMs,
    durationMs: o.c50Ms,
    maxRequests: 500_000,
    send: (agent, w) =>
      postSigned(agent, (f.bots[w % f.bots.length] as Target).port, SIGNING_SECRET, body(w)),
    accept: reset.botAccepts,
    onWindow: (ev) => {
      if (!f.masters) return;
      // Fire and forget: INFO on each master, read at the window's edges.
      void totalCommands(f.masters).then((v) => {
        if (ev === 'start') before = v;
        else after = v;
      });
    },
  });
  await sleep(100);
  const { sample: _sample, ...load } = res;
  const perMaster = before && after ? after.map((v, i) => v - (before?.[i] ?? 0)) : undefined;
  return { ...load, ...(perMaster ? { perMaster } : {}) };
}

/** Both fleets up at once, measured alternately round by round. */
export async function run(o: ClusterOptions): Promise<ClusterResult> {
  const began = Date.now();
  const { ctx } = o;
  const file = writeConfigFile('cluster', reset.resetConfig(reset.JOB_WARMUP_COMMANDS + o.jobCommands));
  let slack: FakeSlack | undefined;
  let cluster: RedisCluster | undefined;
  const fleets: Fleet[] = [];
  const singlePrefix = `${ctx.prefix}-single`;
  const clusterPrefix = `{${ctx.prefix}-cluster}`;
  try {
    slack = await startFakeSlack();
    cluster = await startRedisCluster(3);
    ctx.log(`  3-master Redis Cluster on ${cluster.nodes}`);
    const base = { slackUrl: slack.url, configPath: file.path };
    const specs: { name: VariantName; bots: number; workers: number; env: FleetEnv; redis: Redis }[] = [
      {
        name: 'single',
        bots: 1,
        workers: 1,
        env: { ...base, prefix: singlePrefix, redisUrl: ctx.redisUrl },
        redis: connectRedis({ REDIS_URL: ctx.redisUrl }),
      },
      {
        name: 'cluster',
        bots: 2,
        workers: 2,
        env: { ...base, prefix: clusterPrefix, redisUrl: cluster.url, clusterNodes: cluster.nodes },
        redis: connectRedis({ REDIS_URL: cluster.url, REDIS_CLUSTER_NODES: cluster.nodes }),
      },
    ];
    for (const s of specs) {
      const f: Fleet = {
        name: s.name,
        bots: [],
        workers: [],
        redis: s.redis,
        queue: new Queue(reset.QUEUE, { connection: s.redis, prefix: s.env.prefix }),
      };
      fleets.push(f);
      if (s.name === 'cluster') {
        const c = s.redis as unknown as { nodes(role: 'master'): Redis[] };
        await s.redis.ping();
        f.masters = c.nodes('master');
      }
      for (let i = 0; i < s.bots; i++)
        f.bots.push(await startBotProcess(ctx, s.env, `bot ${i + 1} (${s.name})`));
      for (let i = 0; i < s.workers; i++) {
        f.workers.push(
          await startWorkerProcess(ctx, s.env, {
            connection: s.redis,
            queue: reset.QUEUE,
            expectWorkers: i + 1,
            name: `worker ${i + 1} (${s.name})`,
          }),
        );
      }
    }
    const all: Record<VariantName, VariantRound[]> = { single: [], cluster: [] };
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 ? [...fleets].reverse() : fleets;
      for (const f of order) {
        const js = await reset.measureJobStart({
          ports: f.bots.map((b) => b.port),
          queue: f.queue,
          slack,
          commands: o.jobCommands,
          name: f.name,
        });
        const { perMaster, ...load } = await c50(f, slack, o);
        all[f.name].push({ load, jobStart: js, ...(perMaster ? { commandsPerMaster: perMaster } : {}) });
        ctx.log(
          `  round ${round + 1}/${o.rounds} ${f.name.padEnd(7)} (${f.bots.length} bot + ${f.workers.length} worker): ` +
            `c=50 ${fmt(load.rps, 0)} req/s, p50 ${fmt(load.p50ms, 2)} ms, p99 ${fmt(load.p99ms, 2)} ms, ` +
            `${load.errors} errors, ${load.badReplies} bad; cmd-to-job-start p50 ${fmt(js.sendToStartP50ms, 2)} ms ` +
            `p99 ${fmt(js.sendToStartP99ms, 2)} ms (${js.processed}/${js.commands})` +
            (perMaster ? `; commands per master ${perMaster.join(' / ')}` : ''),
        );
      }
    }
    const med = (n: VariantName) => ({
      rps: median(all[n].map((r) => r.load.rps)),
      p50ms: median(all[n].map((r) => r.load.p50ms)),
      p99ms: median(all[n].map((r) => r.load.p99ms)),
      jobStartP50ms: median(all[n].map((r) => r.jobStart.sendToStartP50ms)),
      jobStartP99ms: median(all[n].map((r) => r.jobStart.sendToStartP99ms)),
    });
    const paired = (f: (r: VariantRound) => number) =>
      median(all.cluster.map((r, i) => f(r) / f(all.single[i] as VariantRound)));
    const shares = all.cluster
      .map((r) => r.commandsPerMaster)
      .filter((v): v is number[] => Boolean(v))
      .map((v) => Math.max(...v) / v.reduce((a, b) => a + b, 0));
    let errors = 0;
    let badReplies = 0;
    for (const n of ['single', 'cluster'] as const) {
      for (const r of all[n]) {
        errors += r.load.errors;
        badReplies += r.load.badReplies;
      }
    }
    return {
      rounds: o.rounds,
      fleets: {
        single: '1 bot + 1 worker, one redis-server',
        cluster: '2 bots + 2 workers, 3-master Redis Cluster',
      },
      median: { single: med('single'), cluster: med('cluster') },
      ratio: {
        rps: paired((r) => r.load.rps),
        p99: paired((r) => r.load.p99ms),
        jobStartP50: paired((r) => r.jobStart.sendToStartP50ms),
      },
      busiestMasterShare: median(shares),
      errors,
      badReplies,
      all,
      tookSeconds: (Date.now() - began) / 1000,
    };
  } catch (err) {
    logOutputs(
      ctx,
      fleets.flatMap((f) => [...f.bots, ...f.workers]),
      2000,
    );
    throw err;
  } finally {
    for (const f of fleets) {
      await Promise.all([...f.bots, ...f.workers].map((p) => p.stop()));
      await f.queue.close();
    }
    const single = fleets.find((f) => f.name === 'single');
    if (single) await deleteUnder(ctx.redis, singlePrefix).catch(() => undefined);
    for (const f of fleets) f.redis.disconnect();
    await cluster?.close();
    await slack?.close();
    file.remove();
  }
}

/** The report lines. */
export function table(c: ClusterResult, o: { c50Ms: number; jobCommands: number }): string[] {
  const s = c.median.single;
  const k = c.median.cluster;
  const row = tableRow(30, 16);
  return [
    `cluster: ${c.fleets.cluster} vs ${c.fleets.single}, both up, measured alternately; median of ${c.rounds} rounds ` +
      `(ratios: median of per-round cluster/single); /reset-password self, c=50 for ${o.c50Ms / 1000} s over the fleet's bots; ` +
      `cmd-to-job-start: ${o.jobCommands} commands at c=1, ${reset.JOB_GAP_MS} ms apart, alternating bots`,
    '',
    row('figure', 'single 1+1', 'cluster 2+2', 'cluster/single'),
    row('req/s c=50', fmt(s.rps, 0), fmt(k.rps, 0), ratio(c.ratio.rps)),
    row('ack p50 c=50 ms', fmt(s.p50ms, 2), fmt(k.p50ms, 2), ''),
    row('ack p99 c=50 ms', fmt(s.p99ms, 2), fmt(k.p99ms, 2), ratio(c.ratio.p99)),
    row(
      'cmd-to-job-start p50 ms',
      fmt(s.jobStartP50ms, 2),
      fmt(k.jobStartP50ms, 2),
      ratio(c.ratio.jobStartP50),
    ),
    row('cmd-to-job-start p99 ms', fmt(s.jobStartP99ms, 2), fmt(k.jobStartP99ms, 2), ''),
    '',
    `cluster: the busiest master took ${fmt(c.busiestMasterShare * 100, 1)} % of the cluster's commands during the c=50 windows ` +
      `(the bot hash-tags its whole prefix, so every key lives in one slot); errors ${c.errors}, bad replies ${c.badReplies}`,
  ];
}
