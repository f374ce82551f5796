// infra/metrics.ts: names, types and labels of every metric, bounded labels, the scrape-time reads
// (real BullMQ queues on the real Redis, cached), promtool's lint of the output, the HTTP endpoint,
// refusals counted at Bolt's HTTP receiver. The Slack and AWS adapters and the heartbeat have their
// own files (metrics-adapters.test.ts, metrics-heartbeat.test.ts).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTPReceiver } from '@slack/bolt';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { signSlackRequest } from '../../../devkit/slack-signer.js';
import type { Clock } from '../../../infra/clock.js';
import {
  actionFamily,
  countRefusals,
  createMetrics,
  DROPPED_DEFAULT_METRICS,
  type JobCountSource,
  markRefused,
  metricsRoute,
  startMetricsServer,
} from '../../../infra/metrics.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `test-metrics-${randomUUID()}`;
const queues: Queue[] = [];
afterAll(async () => {
  await Promise.all(queues.map((q) => q.obliterate({ force: true }).then(() => q.close())));
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

/** A clock the test moves by hand. */
function manualClock(start = 1_800_000_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** One sample line's value, e.g. value(text, 'chatops_commands_total{command="dumps",outcome="queued"}'). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every label set exported for `name`, as objects. */
function labelSets(text: string, name: string): Record<string, string>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => {
      const m = /^[^{ ]+\{(.*)\} /.exec(l);
      const out: Record<string, string> = {};
      for (const [, k, v] of (m?.[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)) out[k as string] = v as string;
      return out;
    });
}

// The contract: name -> [type, label names]. Dashboards and the alert rules depend on these.
const EXPECTED: Record<string, [string, string[]]> = {
  chatops_process_role: ['gauge', ['role']],
  chatops_commands_total: ['counter', ['command', 'outcome']],
  chatops_clicks_total: ['counter', ['action', 'outcome']],
  chatops_submissions_total: ['counter', ['view', 'outcome']],
  chatops_ack_duration_seconds: ['histogram', ['kind']],
  chatops_requests_refused_total: ['counter', ['reason']],
  chatops_job_duration_seconds: ['histogram', ['queue', 'outcome']],
  chatops_job_final_failures_total: ['counter', ['queue']],
  chatops_notice_lag_seconds: ['histogram', ['kind']],
  chatops_notices_late_total: ['counter', ['kind']],
  chatops_notices_failed_total: ['counter', ['kind']],
  chatops_slack_api_calls_total: ['counter', ['method', 'result']],
  chatops_aws_api_calls_total: ['counter', ['service', 'result']],
  chatops_scrape_source_up: ['gauge', ['source']],
  chatops_scrape_source_duration_seconds: ['gauge', ['source']],
  chatops_queue_jobs: ['gauge', ['queue', 'state']],
  chatops_dump_last_check_timestamp_seconds: ['gauge', ['dump']],
  chatops_dump_last_pass_timestamp_seconds: ['gauge', ['dump']],
  chatops_dump_alerts: ['gauge', ['state']],
  chatops_maintenance_windows: ['gauge', ['state']],
  chatops_migration_requests: ['gauge', ['kind', 'state']],
  chatops_migration_pending_approvals: ['gauge', []],
  chatops_worker_heartbeat_timestamp_seconds: ['gauge', []],
};

/** Sources with fixed answers, each counting its calls. */
function fixedSources() {
  const calls = { dumps: 0, maintenance: 0, migration: 0, heartbeat: 0, queue: 0 };
  const queue: JobCountSource = {
    name: 'dumps',
    async getJobCounts() {
      calls.queue++;
      return { waiting: 3, prioritized: 1, active: 2, delayed: 5, failed: 7 };
    },
  };
  return {
    calls,
    sources: {
      queues: [queue],
      dumps: async () => {
        calls.dumps++;
        return {
          jobs: [
            { job: 'orders', lastCheckAt: 1_800_000_000_000, lastPassAt: 1_799_999_000_000 },
            { job: 'billing', lastCheckAt: 1_800_000_000_000 },
            { job: 'not-configured', lastCheckAt: 1_800_000_000_000, lastPassAt: 1 },
          ],
          alerts: { open: 1, acked: 2 },
        };
      },
      maintenance: async () => {
        calls.maintenance++;
        return { scheduled: 2, 'in-progress': 1, bogus: 9 };
      },
      migration: async () => {
        calls.migration++;
        return {
          requests: [
            { kind: 'phase3', state: 'pending', count: 1 },
            { kind: 'cleanup', state: 'done', count: 2 },
            { kind: 'evil"kind', state: 'pending', count: 5 },
          ],
          pendingApprovals: 2,
        };
      },
      heartbeat: async () => {
        calls.heartbeat++;
        return 1_800_000_030_000;
      },
    },
  };
}

describe('metrics', () => {
  it('exports every metric with its type and labels, and the default process metrics', async () => {
    const m = createMetrics({
      role: 'bot',
      sources: fixedSources().sources,
      dumpJobs: ['orders', 'billing'],
    });
    const json = await m.registry.getMetricsAsJSON();
    const byName = new Map(json.map((j) => [j.name, j]));
    for (const [name, [type, labels]] of Object.entries(EXPECTED)) {
      const metric = byName.get(name);
      expect(metric, name).toBeDefined();
      expect(String(metric?.type), name).toBe(type);
      const seen = new Set(metric?.values.flatMap((v) => Object.keys(v.labels)).filter((k) => k !== 'le'));
      // Labels in use are exactly the declared ones (metrics with no samples yet are checked below).
      for (const k of seen) expect(labels, `${name} label ${k}`).toContain(k);
    }
    expect(byName.has('process_cpu_seconds_total')).toBe(true);
    expect(byName.has('nodejs_eventloop_lag_seconds')).toBe(true);
    expect(byName.has('nodejs_active_handles')).toBe(true);
    for (const dropped of DROPPED_DEFAULT_METRICS) expect(byName.has(dropped), dropped).toBe(false);
    // Nothing of ours outside the contract.
    const ours = json.map((j) => j.name).filter((n) => n.startsWith('chatops_'));
    expect(ours.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('counts commands, clicks and submissions with bounded labels only', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.commandDone('/dumps', 'queued', 0.02);
    m.commandDone('dumps', 'queued', 0.03);
    m.commandDone('/<!channel> rm -rf', 'queued', 0.01);
    m.commandDone('/chatops', 'succeeded', 0.01);
    m.commandDone('/migration', 'requested', 0.01); // an audit outcome outside the enum
    m.clickDone('mig_approve', 'denied', 0.1);
    m.clickDone('mw_edit-42', 'queued', 0.1);
    m.clickDone('forged<@U1>', 'invalid', 0.1);
    m.submissionDone('mw_edit_submit', 'invalid', 0.2);
    m.submissionDone('whatever', 'failed', 0.2);
    m.requestRefused('replay');
    const text = await m.render();
    expect(value(text, 'chatops_commands_total{command="dumps",outcome="queued"}')).toBe(2);
    expect(value(text, 'chatops_commands_total{command="other",outcome="queued"}')).toBe(1);
    expect(value(text, 'chatops_commands_total{command="chatops",outcome="succeeded"}')).toBe(1);
    expect(value(text, 'chatops_commands_total{command="migration",outcome="succeeded"}')).toBe(1);
    // Known series start at zero, so increase() sees the first one.
    expect(value(text, 'chatops_commands_total{command="reset-password",outcome="failed"}')).toBe(0);
    expect(value(text, 'chatops_clicks_total{action="mig_approve",outcome="denied"}')).toBe(1);
    expect(value(text, 'chatops_clicks_total{action="mw_edit",outcome="queued"}')).toBe(1);
    expect(value(text, 'chatops_clicks_total{action="unknown",outcome="invalid"}')).toBe(1);
    expect(value(text, 'chatops_submissions_total{view="mw_edit_submit",outcome="invalid"}')).toBe(1);
    expect(value(text, 'chatops_submissions_total{view="unknown",outcome="failed"}')).toBe(1);
    expect(value(text, 'chatops_requests_refused_total{reason="replay"}')).toBe(1);
    expect(value(text, 'chatops_requests_refused_total{reason="signature"}')).toBe(0);
    expect(value(text, 'chatops_ack_duration_seconds_count{kind="command"}')).toBe(5);
    expect(value(text, 'chatops_ack_duration_seconds_bucket{le="0.025",kind="command"}')).toBe(4);
    expect(value(text, 'chatops_ack_duration_seconds_count{kind="click"}')).toBe(3);
    expect(value(text, 'chatops_ack_duration_seconds_count{kind="submission"}')).toBe(2);
    expect(text).not.toContain('rm -rf');
    expect(text).not.toContain('forged');
    expect(actionFamily('dump_recheck')).toBe('dump_recheck');
    expect(actionFamily('')).toBe('unknown');
  });

  it('records jobs, notices and outbound calls', async () => {
    const m = createMetrics({
      defaultMetrics: false,
      sources: { queues: [{ name: 'maintenance', getJobCounts: async () => ({}) }] },
    });
    m.jobDone('maintenance', 'completed', 0.4);
    m.jobDone('maintenance', 'retrying', 2);
    m.jobDone('Weird Queue!', 'failed', 1);
    m.jobFailedFinally('maintenance');
    m.noticePosted('start', 3);
    m.noticePosted('start', -1);
    m.noticeLate('end');
    m.noticeFailed('remind');
    m.noticeFailed('a title someone typed');
    m.slackCall('chat.postMessage', '429');
    m.slackCall('https://evil.example/x', 'error');
    m.awsCall('s3', 'throttled');
    const text = await m.render();
    expect(value(text, 'chatops_job_duration_seconds_count{queue="maintenance",outcome="completed"}')).toBe(
      1,
    );
    expect(value(text, 'chatops_job_duration_seconds_count{queue="maintenance",outcome="retrying"}')).toBe(1);
    expect(value(text, 'chatops_job_duration_seconds_count{queue="other",outcome="failed"}')).toBe(1);
    expect(value(text, 'chatops_job_final_failures_total{queue="maintenance"}')).toBe(1);
    expect(value(text, 'chatops_notice_lag_seconds_count{kind="start"}')).toBe(2);
    expect(value(text, 'chatops_notice_lag_seconds_bucket{le="1",kind="start"}')).toBe(1);
    expect(value(text, 'chatops_notices_late_total{kind="end"}')).toBe(1);
    expect(value(text, 'chatops_notices_failed_total{kind="remind"}')).toBe(1);
    expect(value(text, 'chatops_notices_failed_total{kind="other"}')).toBe(1);
    expect(value(text, 'chatops_notices_failed_total{kind="start"}')).toBe(0);
    expect(value(text, 'chatops_slack_api_calls_total{method="chat.postMessage",result="429"}')).toBe(1);
    expect(value(text, 'chatops_slack_api_calls_total{method="other",result="error"}')).toBe(1);
    expect(value(text, 'chatops_aws_api_calls_total{service="s3",result="throttled"}')).toBe(1);
  });

  it('reads Redis-backed state at scrape time, once per source per cache period', async () => {
    const clock = manualClock();
    const { sources, calls } = fixedSources();
    const m = createMetrics({
      defaultMetrics: false,
      clock,
      cacheMs: 5_000,
      sources,
      dumpJobs: ['orders', 'billing'],
    });
    const text = await m.render();
    expect(value(text, 'chatops_queue_jobs{queue="dumps",state="waiting"}')).toBe(4);
    expect(value(text, 'chatops_queue_jobs{queue="dumps",state="active"}')).toBe(2);
    expect(value(text, 'chatops_queue_jobs{queue="dumps",state="delayed"}')).toBe(5);
    expect(value(text, 'chatops_queue_jobs{queue="dumps",state="failed"}')).toBe(7);
    expect(value(text, 'chatops_dump_last_check_timestamp_seconds{dump="orders"}')).toBe(1_800_000_000);
    expect(value(text, 'chatops_dump_last_pass_timestamp_seconds{dump="orders"}')).toBe(1_799_999_000);
    // Never passed: no last-pass series (the rules tell "never passed" from "stopped passing").
    expect(value(text, 'chatops_dump_last_pass_timestamp_seconds{dump="billing"}')).toBeUndefined();
    expect(labelSets(text, 'chatops_dump_last_check_timestamp_seconds').map((l) => l.dump)).toEqual([
      'orders',
      'billing',
    ]);
    expect(value(text, 'chatops_dump_alerts{state="open"}')).toBe(1);
    expect(value(text, 'chatops_dump_alerts{state="acked"}')).toBe(2);
    expect(value(text, 'chatops_maintenance_windows{state="scheduled"}')).toBe(2);
    expect(value(text, 'chatops_maintenance_windows{state="cancelled"}')).toBe(0);
    expect(text).not.toContain('bogus');
    expect(value(text, 'chatops_migration_requests{kind="phase3",state="pending"}')).toBe(1);
    expect(value(text, 'chatops_migration_requests{kind="cleanup",state="done"}')).toBe(2);
    expect(text).not.toContain('evil');
    expect(value(text, 'chatops_migration_pending_approvals')).toBe(2);
    expect(value(text, 'chatops_worker_heartbeat_timestamp_seconds')).toBe(1_800_000_030);
    expect(value(text, 'chatops_scrape_source_up{source="queues"}')).toBe(1);
    // Four gauges read the dumps, two the migration: one read each.
    expect(calls).toEqual({ dumps: 1, maintenance: 1, migration: 1, heartbeat: 1, queue: 1 });

    clock.advance(4_999);
    await m.render();
    expect(calls.queue).toBe(1);
    clock.advance(1);
    await m.render();
    expect(calls).toEqual({ dumps: 2, maintenance: 2, migration: 2, heartbeat: 2, queue: 2 });

    // Even without a cache period, one scrape reads each source once.
    const uncached = fixedSources();
    const m0 = createMetrics({ defaultMetrics: false, cacheMs: 0, sources: uncached.sources });
    await m0.render();
    expect(uncached.calls).toEqual({ dumps: 1, maintenance: 1, migration: 1, heartbeat: 1, queue: 1 });
    await m0.render();
    expect(uncached.calls.dumps).toBe(2);
  });

  it('drops the series of a source whose read fails and says so, instead of failing the scrape', async () => {
    const clock = manualClock();
    let fail = false;
    const m = createMetrics({
      defaultMetrics: false,
      clock,
      sources: {
        queues: [
          {
            name: 'dumps',
            getJobCounts: async () => {
              if (fail) throw new Error('Connection is closed.');
              return { waiting: 1 };
            },
          },
        ],
      },
    });
    expect(value(await m.render(), 'chatops_queue_jobs{queue="dumps",state="waiting"}')).toBe(1);
    fail = true;
    clock.advance(5_000);
    const text = await m.render();
    expect(value(text, 'chatops_queue_jobs{queue="dumps",state="waiting"}')).toBeUndefined();
    expect(value(text, 'chatops_scrape_source_up{source="queues"}')).toBe(0);
    // A failed read is not cached: the next scrape, even within the period, tries again.
    fail = false;
    expect(value(await m.render(), 'chatops_queue_jobs{queue="dumps",state="waiting"}')).toBe(1);
  });

  it('exports no heartbeat (not 0) when none was read, so absent() and the staleness rule stay right', async () => {
    const none = createMetrics({ defaultMetrics: false });
    expect(value(await none.render(), 'chatops_worker_heartbeat_timestamp_seconds')).toBeUndefined();
    expect(value(await none.render(), 'chatops_migration_pending_approvals')).toBeUndefined();
    const failing = createMetrics({
      defaultMetrics: false,
      sources: {
        heartbeat: async () => {
          throw new Error('Connection is closed.');
        },
      },
    });
    const text = await failing.render();
    expect(value(text, 'chatops_worker_heartbeat_timestamp_seconds')).toBeUndefined();
    expect(value(text, 'chatops_scrape_source_up{source="heartbeat"}')).toBe(0);
    const never = createMetrics({ defaultMetrics: false, sources: { heartbeat: async () => undefined } });
    expect(value(await never.render(), 'chatops_worker_heartbeat_timestamp_seconds')).toBeUndefined();
  });

  it('counts real BullMQ queues with one Redis round trip per queue per scrape', async () => {
    // The queues' own connection, its commands counted on the client side (other tests share Redis).
    const conn = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    const sent: string[] = [];
    const send = conn.sendCommand.bind(conn);
    conn.sendCommand = ((cmd: { name: string }, ...rest: unknown[]) => {
      sent.push(cmd.name);
      return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
    }) as typeof conn.sendCommand;
    const a = new Queue('reset-password', { connection: conn, prefix });
    const b = new Queue('maintenance', { connection: conn, prefix });
    queues.push(a, b);
    try {
      await a.add('x', {}, { jobId: 'one' });
      await a.add('x', {}, { jobId: 'two' });
      await b.add('x', {}, { jobId: 'later', delay: 60_000 });
      await b.add('x', {}, { jobId: 'urgent', priority: 1 });
      await Promise.all([a.getJobCounts(), b.getJobCounts()]); // BullMQ loads its scripts once
      const clock = manualClock();
      const m = createMetrics({ defaultMetrics: false, clock, sources: { queues: [a, b] } });
      sent.length = 0;
      const text = await m.render();
      expect(value(text, 'chatops_queue_jobs{queue="reset-password",state="waiting"}')).toBe(2);
      expect(value(text, 'chatops_queue_jobs{queue="maintenance",state="delayed"}')).toBe(1);
      expect(value(text, 'chatops_queue_jobs{queue="maintenance",state="waiting"}')).toBe(1);
      expect(sent).toEqual(['evalsha', 'evalsha']);
      sent.length = 0;
      await m.render(); // within the cache period: no Redis at all
      expect(sent).toEqual([]);
    } finally {
      await Promise.all(queues.splice(0).map((q) => q.obliterate({ force: true }).then(() => q.close())));
      conn.disconnect();
    }
  });

  it('passes promtool check metrics, with every source and with none', async () => {
    const m = createMetrics({ role: 'worker', sources: fixedSources().sources });
    m.commandDone('/dumps', 'queued', 0.05);
    m.jobDone('dumps', 'completed', 1);
    m.slackCall('chat.postMessage', 'ok');
    for (const text of [await m.render(), await createMetrics().render()]) {
      const res = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      if (res.error && (res.error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('promtool not found: install it with apt-get install prometheus');
      }
      expect(`${res.stdout}${res.stderr}`).toBe('');
      expect(res.status).toBe(0);
    }
  });

  it('serves GET /metrics on its own port and as a Bolt custom route', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.commandDone('/dumps', 'queued', 0.01);
    const server = await startMetricsServer({ registry: m.registry, port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      expect(value(await res.text(), 'chatops_commands_total{command="dumps",outcome="queued"}')).toBe(1);
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
    const route = metricsRoute(m.registry);
    expect({ path: route.path, method: route.method }).toEqual({ path: '/metrics', method: 'GET' });
  });

  it('counts 401s of the real Bolt HTTP receiver: bad signatures, and the reasons the code marks', async () => {
    const secret = 'test-signing-secret';
    const m = createMetrics({ defaultMetrics: false });
    const receiver = new HTTPReceiver({
      signingSecret: secret,
      endpoints: '/slack/events',
      processBeforeResponse: false,
    });
    // What the bot's replay guard path does: mark the reason, then answer 401.
    const inner = receiver.requestListener;
    const server = createServer(
      countRefusals((req: IncomingMessage, res: ServerResponse) => {
        if (req.headers['x-test-replay']) {
          markRefused(res, 'replay');
          res.writeHead(401);
          res.end();
          return;
        }
        inner(req, res);
      }, m),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    try {
      const body = 'command=%2Fdumps&text=&user_id=U1';
      const bad = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)),
          'x-slack-signature': 'v0=0000',
        },
        body,
      });
      expect(bad.status).toBe(401);
      const replay = await fetch(url, {
        method: 'POST',
        headers: {
          'x-test-replay': '1',
          ...signSlackRequest(secret, body),
        },
        body,
      });
      expect(replay.status).toBe(401);
      const text = await m.render();
      expect(value(text, 'chatops_requests_refused_total{reason="signature"}')).toBe(1);
      expect(value(text, 'chatops_requests_refused_total{reason="replay"}')).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('counts response URL calls, an unconfirmed ack as not queued, and a late notice', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.slackCall('response_url', 'ok');
    m.commandDone('/dumps', 'unconfirmed', 2.6);
    m.noticePosted('start', 12, true);
    const text = await m.render();
    expect(value(text, 'chatops_slack_api_calls_total{method="response_url",result="ok"}')).toBe(1);
    expect(value(text, 'chatops_commands_total{command="dumps",outcome="not-queued"}')).toBe(1);
    expect(value(text, 'chatops_ack_duration_seconds_bucket{le="2.5",kind="command"}')).toBe(0);
    expect(value(text, 'chatops_notices_late_total{kind="start"}')).toBe(1);
  });
});
