// The /migration part of `npm run bench`: from the last approval click to StopInstances reaching
// moto, with the maintenance window already open, over N runs. The built bot runs as one bot and one
// worker process; their AWS endpoint is the recording proxy in front of moto (aws-proxy.ts), which
// stamps the StopInstances request when its headers arrive, on the same clock as the click's send.
//
// Each run is a fresh request made as a person would: `/migration phase3 request +1s 2m` inside one
// long window opened at the start (`/maintenance schedule`), the first approver's click, then the
// timed second click. After the run is done, `/migration rollback 3` takes the profile off again so
// every run starts from the same EC2 state; the finished request frees the one open-request slot.

import { seedDumpsWorld, seedMigrationWorld } from '../devkit/worlds/index.js';
import { until } from '../test/helpers/wait.js';
import { type AwsWorld, PROD_ACCOUNT, PROD_ACCOUNTS } from './aws-proxy.js';
import { deleteUnder, type PartContext, slackSide, withPartFleet } from './fleet.js';
import { countBy, counts, fmt, median, percentile, sorted, tableRow } from './report.js';

const OPS = 'U0BENCHOPS';
const APPROVERS = ['U0BENCHAPR1', 'U0BENCHAPR2'] as const;
const APPROVALS = 'C0BENCHAPPROVE';
const MAINT = 'C0BENCHMAINT';
const GENERAL = 'C0BENCHGENERAL';
const BUCKET = 'bench-gghouse';
const ROLE = 'bench-ec2-cron-role';
const PROFILE = 'bench-ec2-cron-profile';
const SECRET_ID = 'bench/prod/rds/cron-credentials';
/** The seed's five cron jobs: phase 2 lists dumps/ and dumps-test/ of each (10 ListObjectsV2). */
const DUMP_JOBS = [
  'ggh_contractstatus',
  'ggh_contractstatusALL',
  'TenantsALL',
  'MovingsALL',
  'ggh_datatransit',
];
const ZONE = 'Asia/Tokyo';

export interface MigrationOptions {
  ctx: PartContext;
  aws: AwsWorld;
  /** Measured runs (one more, the first, is reported apart as the cold run). */
  runs: number;
  clock: () => number;
}

export interface MigrationRun {
  /** Send of the last approval click to StopInstances at the proxy, ms. */
  clickToStopMs: number;
  /** Send of the click to its HTTP ack (the answer itself comes by response_url). */
  clickAckMs: number;
  /** Send of the click to BullMQ's processedOn of the run job (whole ms). */
  clickToJobStartMs: number;
  /** The run job's processedOn to StopInstances at the proxy. */
  jobStartToStopMs: number;
  /** AWS requests the worker sent between the click and StopInstances, by action. */
  awsBeforeStop: Record<string, number>;
  /** Slack Web API calls between the click and StopInstances, by method. */
  slackBeforeStop: Record<string, number>;
  /** Click to the request's state `done` (stop, wait, associate, start, wait, verify, notices). */
  clickToDoneMs: number;
  /** AWS and Slack calls from the run job's start to StopInstances: `+<ms after job start> <call>`. */
  timeline: string[];
}

export interface MigrationResult {
  runs: number;
  cold: MigrationRun;
  clickToStopP50ms: number;
  clickToStopP99ms: number;
  clickToStopMinMs: number;
  clickToStopMaxMs: number;
  clickAckP50ms: number;
  clickToJobStartP50ms: number;
  jobStartToStopP50ms: number;
  jobStartToStopP99ms: number;
  clickToDoneP50ms: number;
  /** The AWS and Slack calls on the way to the stop, of the median run. */
  awsBeforeStop: Record<string, number>;
  slackBeforeStop: Record<string, number>;
  timeline: string[];
  stopInstancesSent: number;
  tookSeconds: number;
  all: MigrationRun[];
}

function config(instanceId: string) {
  return {
    timezone: ZONE,
    accounts: PROD_ACCOUNTS,
    channels: { approvals: APPROVALS, maintenance: MAINT },
    roles: { admin: [OPS], approver: [...APPROVERS] },
    // A reminder lead longer than the bench: none is queued.
    maintenance: { emailTo: [], remindBefore: ['7d'] },
    migration: {
      account: PROD_ACCOUNT,
      instanceId,
      role: ROLE,
      instanceProfile: PROFILE,
      secretId: SECRET_ID,
      bucket: BUCKET,
      approvals: 2,
      runMinutes: 1,
      waitTimeoutSeconds: 60,
      // Product default 5 s: only the stop -> start part of each run (after the measured moment) waits on it.
      pollSeconds: 0.2,
    },
    dumps: {
      account: PROD_ACCOUNT,
      bucket: BUCKET,
      jobs: DUMP_JOBS.map((name) => ({ name, cron: '1 6 * * *', prefix: 'dumps/' })),
    },
  };
}

/** The cron host, the phase-1 role, profile and secret, and 8 matching days of both dumps per job. */
async function seed(aws: AwsWorld): Promise<string> {
  const target = { endpoint: aws.moto.url, accounts: PROD_ACCOUNTS, requester: 'bench-seed' };
  const world = await seedMigrationWorld({
    ...target,
    account: PROD_ACCOUNT,
    instanceName: 'BENCH-CRON-EC2',
    role: ROLE,
    instanceProfile: PROFILE,
    secretId: SECRET_ID,
    bucket: BUCKET,
    secretValue: 'not-read',
  });
  await seedDumpsWorld({
    ...target,
    account: PROD_ACCOUNT,
    bucket: BUCKET,
    jobs: DUMP_JOBS,
    days: 8,
    zone: ZONE,
    prefixes: ['dumps/', 'dumps-test/'],
    extension: '',
  });
  return world.instanceId;
}

const requestOf = (body: string) => /\(request ([0-9a-f-]{36})\)/.exec(body)?.[1];

/** One cold run, then `runs` measured ones, each from a fresh request to its rollback. */
export async function run(o: MigrationOptions): Promise<MigrationResult> {
  const began = Date.now();
  const { ctx, aws, clock } = o;
  const r = ctx.redis;
  const prefix = ctx.prefix;
  await deleteUnder(r, prefix);
  await aws.reset();
  const instanceId = await seed(aws);
  return withPartFleet(
    ctx,
    { name: 'migration', config: config(instanceId), queue: 'migration', awsEndpoint: aws.proxy.url },
    async ({ slack: s, queue, startBot, startWorker }) => {
      const bot = await startBot('bot (migration)');
      await startWorker('worker (migration)');
      const sl = slackSide(bot.port);
      try {
        const rurl = (user: string, ts?: string) => s.responseUrl(GENERAL, user, ts);
        const answers = () => s.callsTo('response_url').length;
        const command = async (text: string, cmd = '/migration') => {
          const reply = await sl.command(OPS, cmd, text, GENERAL, rurl(OPS));
          if (reply.status !== 200)
            throw new Error(`${cmd} ${text}: HTTP ${reply.status} ${reply.body.slice(0, 300)}`);
          return reply.body;
        };

        // One long window, open before the first request: every request links to it.
        const scheduled = await command('schedule +2s 60m Bench phase-3 window', '/maintenance');
        const windowId = /`(mw-[0-9a-z]+)`/.exec(scheduled)?.[1];
        if (!windowId) throw new Error(`/maintenance schedule was not accepted: ${scheduled.slice(0, 300)}`);
        await until(
          `window ${windowId} to open`,
          async () => (await r.hget(`${prefix}:mw:w:${windowId}`, 'state')) === 'in-progress',
          30_000,
        );

        const oneRun = async (n: number): Promise<MigrationRun> => {
          const ack = await command('phase3 request +1s 2m');
          if (!/Queued: checking the phase-3 prerequisites/.test(ack)) {
            throw new Error(`run ${n}: phase3 request not queued: ${ack.slice(0, 300)}`);
          }
          const req = await until(
            `run ${n}: the approval card`,
            async () => {
              const id = await r.get(`${prefix}:mig:current`);
              if (!id) return undefined;
              const h = await r.hgetall(`${prefix}:mig:req:${id}`);
              return h.state === 'pending' && h.cardTs && h.cardChannel
                ? { id, ts: h.cardTs, channel: h.cardChannel }
                : undefined;
            },
            30_000,
          );
          const click = (user: string) =>
            sl.click({
              userId: user,
              actionId: 'mig_approve',
              value: req.id,
              channelId: req.channel,
              messageTs: req.ts,
              responseUrl: s.responseUrl(req.channel, user, req.ts),
            });
          const before = answers();
          await click(APPROVERS[0]);
          const first = await until(
            `run ${n}: the first approval's answer`,
            () => s.callsTo('response_url')[before],
            10_000,
          );
          if (!/1 of 2/.test(String(first.args.text)))
            throw new Error(`run ${n}: first approval: ${String(first.args.text)}`);

          const awsFrom = aws.proxy.calls.length;
          const slackFrom = s.calls.length;
          const t0 = clock();
          const clicked = await click(APPROVERS[1]);
          const ackAt = clock();
          if (clicked.status !== 200) throw new Error(`run ${n}: second click HTTP ${clicked.status}`);
          const stop = await aws.proxy.waitFor('StopInstances', awsFrom, 30_000);
          const awsTo = aws.proxy.calls.indexOf(stop);
          const slackBefore = s.calls.slice(slackFrom).filter((c) => c.at <= stop.at);
          await until(
            `run ${n}: the request to be done`,
            async () => {
              const state = await r.hget(`${prefix}:mig:req:${req.id}`, 'state');
              if (state === 'failed' || state === 'expired') {
                const h = await r.hgetall(`${prefix}:mig:req:${req.id}`);
                throw new Error(`run ${n}: phase 3 ${state}: ${h.error ?? h.reason ?? ''}`);
              }
              return state === 'done';
            },
            60_000,
          );
          const doneAt = clock();
          // The run job's id is the request's (`mig-run-<id>-<try>`), as the approval wrote it.
          const runJob = await r.hget(`${prefix}:mig:req:${req.id}`, 'runJob');
          const job = runJob ? await queue.getJob(runJob) : undefined;
          const processedOn = job?.processedOn ?? Number.NaN;

          // Back to the start: no association, the instance running, no open request.
          const rb = await command('rollback 3');
          const rbId = requestOf(rb);
          if (!rbId) throw new Error(`run ${n}: rollback 3 not queued: ${rb.slice(0, 300)}`);
          await until(
            `run ${n}: the rollback`,
            async () => {
              const st = await queue.getJobState(`mig-rb3-${rbId}`);
              if (st === 'failed') throw new Error(`run ${n}: rollback 3 failed`);
              return st === 'completed';
            },
            60_000,
          );
          if (await r.get(`${prefix}:mig:current`))
            throw new Error(`run ${n}: a request is still open after done`);
          const timeline = [
            ...aws.proxy.calls.slice(awsFrom, awsTo + 1).map((c) => ({ at: c.at, what: c.action })),
            ...slackBefore.map((c) => ({ at: c.at, what: c.method })),
          ]
            .sort((a, b) => a.at - b.at)
            .map((e) => `+${Math.round(e.at - processedOn)} ${e.what}`);
          return {
            timeline,
            clickToStopMs: stop.at - t0,
            clickAckMs: ackAt - t0,
            clickToJobStartMs: processedOn - t0,
            jobStartToStopMs: stop.at - processedOn,
            awsBeforeStop: aws.proxy.countSince(awsFrom, awsTo),
            slackBeforeStop: countBy(slackBefore, (c) => c.method),
            clickToDoneMs: doneAt - t0,
          };
        };

        const cold = await oneRun(0);
        ctx.log(`  cold run: click -> StopInstances ${fmt(cold.clickToStopMs, 1)} ms`);
        const all: MigrationRun[] = [];
        for (let i = 1; i <= o.runs; i++) {
          const run = await oneRun(i);
          all.push(run);
          if (i % 5 === 0 || i === o.runs) {
            ctx.log(
              `  run ${i}/${o.runs}: click -> StopInstances ${fmt(run.clickToStopMs, 1)} ms ` +
                `(click -> job start ${fmt(run.clickToJobStartMs, 0)} ms, job start -> stop ${fmt(run.jobStartToStopMs, 1)} ms)`,
            );
          }
        }
        const p = (f: (x: MigrationRun) => number, pct: number) => percentile(sorted(all.map(f)), pct);
        const stops = sorted(all.map((x) => x.clickToStopMs));
        const mid = [...all].sort((a, b) => a.clickToStopMs - b.clickToStopMs)[
          all.length >> 1
        ] as MigrationRun;
        return {
          runs: all.length,
          cold,
          clickToStopP50ms: percentile(stops, 50),
          clickToStopP99ms: percentile(stops, 99),
          clickToStopMinMs: stops[0] ?? Number.NaN,
          clickToStopMaxMs: stops[stops.length - 1] ?? Number.NaN,
          clickAckP50ms: p((x) => x.clickAckMs, 50),
          clickToJobStartP50ms: p((x) => x.clickToJobStartMs, 50),
          jobStartToStopP50ms: p((x) => x.jobStartToStopMs, 50),
          jobStartToStopP99ms: p((x) => x.jobStartToStopMs, 99),
          clickToDoneP50ms: median(all.map((x) => x.clickToDoneMs)),
          awsBeforeStop: mid.awsBeforeStop,
          slackBeforeStop: mid.slackBeforeStop,
          timeline: mid.timeline,
          stopInstancesSent: aws.proxy.calls.filter((c) => c.action === 'StopInstances').length,
          tookSeconds: (Date.now() - began) / 1000,
          all,
        };
      } finally {
        sl.close();
      }
    },
  );
}

/** The report lines. */
export function table(m: MigrationResult): string[] {
  const row = tableRow(44, 12);
  return [
    `migration: last approval click -> StopInstances reaching moto (at the proxy in front of it), window already open; ` +
      `${m.runs} runs after one cold run; 1 bot + 1 worker process (bot/main.js as npm start runs it)`,
    '',
    row('click -> StopInstances p50 ms', fmt(m.clickToStopP50ms, 1)),
    row(`click -> StopInstances p99 ms (= max of ${m.runs})`, fmt(m.clickToStopP99ms, 1)),
    row('click -> StopInstances min ms', fmt(m.clickToStopMinMs, 1)),
    row('  cold (first) run ms', fmt(m.cold.clickToStopMs, 1)),
    row('click -> HTTP ack p50 ms', fmt(m.clickAckP50ms, 2)),
    row('click -> run job start p50 ms (whole ms)', fmt(m.clickToJobStartP50ms, 0)),
    row('run job start -> StopInstances p50 ms', fmt(m.jobStartToStopP50ms, 1)),
    row('run job start -> StopInstances p99 ms', fmt(m.jobStartToStopP99ms, 1)),
    row('click -> request done p50 ms (pollSeconds 0.2)', fmt(m.clickToDoneP50ms, 0)),
    row('StopInstances sent / runs', `${m.stopInstancesSent}/${m.runs + 1}`),
    '',
    `on the way to the stop (median run): AWS ${counts(m.awsBeforeStop)}; Slack ${counts(m.slackBeforeStop)}`,
    `  ms after the run job started: ${m.timeline.join(', ')}`,
  ];
}
