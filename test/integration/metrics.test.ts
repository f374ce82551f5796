// Monitoring end to end: a bot and a worker (each serving /metrics on its own METRICS_PORT), scraped by
// a real Prometheus (Debian's `prometheus`) with the shipped alert rules; after a few commands, a dump
// check and a maintenance notice, PromQL through its HTTP API returns what happened. promtool lints a
// live scrape of each. Without METRICS_PORT the bot answers /metrics on PORT.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect } from 'vitest';
import { createSlackClient } from '../../devkit/index.js';
import { type PrometheusServer, type PromSample, startPrometheus } from '../../devkit/prometheus.js';
import { parseEnv } from '../../infra/env.js';
import { seedMissingTodaysDump } from '../helpers/dumps.js';
import { it } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

let prom: PrometheusServer | undefined;
afterEach(async () => {
  await prom?.close();
  prom = undefined;
});

const one = (s: PromSample[]) => (s.length === 1 ? s[0]?.value : undefined);

/** Runs `promtool check metrics` on `text`; a missing binary fails with how to install it. */
function promtoolCheck(text: string): { status: number | null; output: string } {
  const res = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if ((res.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('promtool not found: install it with apt-get install prometheus');
  }
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

describe('metrics scraped by a real Prometheus', () => {
  it('counts commands, a dump check and a notice across a bot and a worker, answered by PromQL', async ({
    startStack,
  }) => {
    const s = await startStack({
      topology: { bots: 1, workers: 1 },
      // 0: each process binds a free port of its own (Chatops.metricsPort says which).
      env: { METRICS_PORT: '0' },
      seed: seedMissingTodaysDump,
      extraConfig: { maintenance: { remindBefore: [] } },
    });
    const [bot, worker] = s.instances;
    if (!bot || !worker) throw new Error('expected a bot and a worker');
    expect(bot.metricsPort).not.toBe(bot.port);
    // METRICS_PORT moves /metrics off the Slack port.
    expect((await fetch(`${s.baseUrl}/metrics`)).status).toBe(404);
    const botTarget = `127.0.0.1:${bot.metricsPort}`;
    const workerTarget = `127.0.0.1:${worker.metricsPort}`;
    prom = await startPrometheus({
      jobs: [
        { job: 'chatops-bot', targets: [botTarget] },
        { job: 'chatops-worker', targets: [workerTarget] },
      ],
      ruleFiles: ['infra/prometheus/alerts.yml'],
    });
    const p = prom;

    // Two queued commands, one denied, one invalid, one request with a forged signature.
    expect((await s.command('U0ALICE', '/dumps', 'check')).text).toMatch(/Checking all 1 dump jobs/);
    expect((await s.command('U0OPS', '/maintenance', 'schedule +1h 30m Metrics window')).text).toMatch(
      /Scheduled/,
    );
    expect((await s.command('U0ALICE', '/maintenance', 'list')).text).toMatch(/not allowed/);
    expect((await s.command('U0ALICE', '/dumps', 'frobnicate')).text).toMatch(/Usage/);
    const forged = await createSlackClient({
      url: `${s.baseUrl}/slack/events`,
      signingSecret: 'not-the-signing-secret',
    }).command({
      command: '/dumps',
      text: '',
      userId: 'U0ALICE',
      responseUrl: s.slack.responseUrl('C0', 'U0ALICE'),
    });
    expect(forged.status).toBe(401);

    await p.waitFor('sum(chatops_commands_total{outcome="queued"})', (r) => one(r) === 2);
    expect(one(await p.query('sum(chatops_commands_total{outcome="denied"})'))).toBe(1);
    expect(one(await p.query('sum(chatops_commands_total{outcome="invalid"})'))).toBe(1);
    expect(
      one(await p.query('sum(chatops_commands_total{job="chatops-bot",command="dumps",outcome="queued"})')),
    ).toBe(1);
    await p.waitFor('sum(chatops_requests_refused_total{reason="signature"})', (r) => one(r) === 1);
    // Four acks timed, each well under Slack's 3 s.
    expect(one(await p.query('sum(chatops_ack_duration_seconds_count{kind="command"})'))).toBe(4);
    expect(one(await p.query('sum(chatops_ack_duration_seconds_bucket{kind="command",le="2.5"})'))).toBe(4);

    // The dump check ran on the worker: today's dump is missing, so it was checked, never passed, and
    // its alert is open. Every process exports the same state (read from Redis at scrape time).
    const checked = await p.waitFor(
      'chatops_dump_last_check_timestamp_seconds{dump="ggh_datatransit"}',
      (r) => r.length === 2,
    );
    expect(new Set(checked.map((x) => x.metric.instance))).toEqual(new Set([botTarget, workerTarget]));
    expect(Math.abs((checked[0]?.value ?? 0) - Date.now() / 1000)).toBeLessThan(120);
    expect(await p.query('chatops_dump_last_pass_timestamp_seconds')).toEqual([]);
    await p.waitFor('max(chatops_dump_alerts{state="open"})', (r) => one(r) === 1);
    await p.waitFor(
      'sum(chatops_job_duration_seconds_count{job="chatops-worker",queue="dumps",outcome="completed"})',
      (r) => (one(r) ?? 0) >= 1,
    );
    // Its S3 listing went through the SDK (with an assumed role), and the alert through Slack.
    await p.waitFor('sum(chatops_aws_api_calls_total{service="s3",result="ok"})', (r) => (one(r) ?? 0) >= 1);
    expect(one(await p.query('sum(chatops_aws_api_calls_total{service="sts",result="ok"})'))).toBeGreaterThan(
      0,
    );
    expect(
      one(
        await p.query(
          'sum(chatops_slack_api_calls_total{job="chatops-worker",method="chat.postMessage",result="ok"})',
        ),
      ),
    ).toBeGreaterThan(0);

    // The window's announcement (a notice) posted on time; the window counted by state.
    await p.waitFor('sum(chatops_notice_lag_seconds_count{kind="announce"})', (r) => one(r) === 1);
    expect(one(await p.query('sum(chatops_notice_lag_seconds_bucket{kind="announce",le="5"})'))).toBe(1);
    expect(one(await p.query('sum(chatops_notices_late_total)'))).toBe(0);
    await p.waitFor('max(chatops_maintenance_windows{state="scheduled"})', (r) => one(r) === 1);

    // The heartbeat a worker touches is visible from the bot too; no heartbeat alert is pending.
    await p.waitFor(
      'time() - chatops_worker_heartbeat_timestamp_seconds{job="chatops-bot"} < 120',
      (r) => r.length === 1,
    );
    // An alert that went pending before the first heartbeat clears at the next rule evaluation.
    await until('no heartbeat, target or Redis alert', async () =>
      (await p.alerts()).some((a) => /Heartbeat|TargetDown|RedisUnreadable/.test(a.labels.alertname ?? ''))
        ? undefined
        : true,
    );
    // Queue counts come from every queue, housekeeping included.
    const queues = await p.query('count by (queue) (chatops_queue_jobs{job="chatops-bot"})');
    expect(queues.map((q) => q.metric.queue).sort()).toEqual(
      ['ddb-export', 'dumps', 'housekeeping', 'maintenance', 'migration', 'reset-password'].sort(),
    );
    expect(
      (await p.targets()).map((t) => t.health),
      JSON.stringify(await p.targets()),
    ).toEqual(['up', 'up']);

    // promtool lints each live scrape.
    for (const target of [botTarget, workerTarget]) {
      const text = await (await fetch(`http://${target}/metrics`)).text();
      const lint = promtoolCheck(text);
      expect(lint.status, lint.output).toBe(0);
      expect(lint.output.trim(), lint.output).toBe('');
    }

    // Without METRICS_PORT a bot serves /metrics on its Slack port.
    const plain = await s.startInstance('bot', {
      env: parseEnv({ ...s.env, CHATOPS_ROLE: 'bot', METRICS_PORT: '' }),
    });
    expect(plain.metricsPort).toBe(plain.port);
    const res = await until('the bot answering /metrics', async () => {
      const r = await fetch(`http://127.0.0.1:${plain.port}/metrics`);
      return r.status === 200 ? r.text() : undefined;
    });
    expect(res).toContain('chatops_process_role{role="bot"} 1');
    expect(res).toContain('chatops_commands_total{command="dumps",outcome="queued"} 0');
  });
});
