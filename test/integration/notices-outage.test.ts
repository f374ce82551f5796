// Notices and dump alerts through a Slack outage longer than the old retry horizon, on real Redis, a
// real worker, signed requests and the fake Slack API behind a fault proxy that answers 500 to every
// Web API call for a while: every notice still relevant is posted once after recovery, in thread
// order, and the dump alert once. And notices that can no longer go out in time are dropped, logged
// and posted in the alerts channel.
import { Queue } from 'bullmq';
import { describe, expect, onTestFinished } from 'vitest';
import type { FakeSlackMessage } from '../../devkit/index.js';
import { parseEnv } from '../../infra/env.js';
import { postDumpReport } from '../helpers/dumps.js';
import { type HttpFaultProxy, slackMethodOf, startHttpFaultProxy } from '../helpers/fault-proxy.js';
import { it, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const CHANNEL = 'C0MAINT';
const ALERTS = 'C0ALERTS';
const SECRET = 'dump-webhook-secret-outage-not-real';
/**
 * How long the code before this change kept a notice (or an alert) trying with `jobs.attempts: 1`:
 * one postOnce, whose own retries wait 0.5 + 1 + 2 + 4 + 4 x 5 s. An outage longer than this lost it.
 */
const OLD_HORIZON_MS = 27_500;
const OUTAGE_MS = 38_000;

async function schedule(s: Stack, args: string): Promise<string> {
  const res = await s.command('U0OPS', '/maintenance', `schedule ${args}`);
  const id = /`(mw-[0-9a-f]+)`/.exec(res.text)?.[1];
  if (!id) throw new Error(`not scheduled: ${res.text}`);
  return id;
}

const announcements = (s: Stack, id: string) =>
  s.slack.messages(CHANNEL).filter((m) => !m.thread_ts && JSON.stringify(m.blocks ?? '').includes(id));
const replies = (s: Stack, ts: string): FakeSlackMessage[] =>
  s.slack.messages(CHANNEL).filter((m) => m.thread_ts === ts);
const kindOf = (text: string) => /Reminder|has started|is complete/.exec(text)?.[0];

/** A worker process (in this process) whose Slack Web API calls go through a fault proxy. */
async function workerBehindProxy(s: Stack): Promise<HttpFaultProxy> {
  const p = await startHttpFaultProxy({
    upstream: `http://127.0.0.1:${s.slack.port}`,
    nameOf: slackMethodOf,
  });
  await s.startInstance('worker', {
    env: parseEnv({ ...s.env, CHATOPS_ROLE: 'worker', SLACK_API_URL: `${p.url}/api/` }),
  });
  return p;
}

describe('a Slack outage longer than the old retry horizon', () => {
  it('every notice still relevant is posted once after recovery, in thread order, and the dump alert once', async ({
    startStack,
  }) => {
    const s = await startStack({
      topology: { bots: 1, workers: 0 },
      jobs: { attempts: 1, backoffMs: 200 },
      env: { DUMP_WEBHOOK_SECRET: SECRET },
      extraConfig: {
        maintenance: { emailTo: ['stakeholders@example.com'], remindBefore: ['45s'] },
        dumps: {
          account: 'osio',
          bucket: 'jram-gghouse',
          mention: '@here',
          jobs: [{ name: 'ggh_datatransit', cron: '0 3 1 1 *', prefix: 'dumps/', graceMinutes: 0 }],
        },
      },
    });
    const proxy = await workerBehindProxy(s);
    onTestFinished(() => proxy.close());
    let down = false;
    let refused = 0;
    proxy.rule = () => {
      if (!down) return 'pass';
      refused += 1;
      return { status: 500, headers: { 'content-type': 'text/plain' }, body: 'Internal Server Error' };
    };

    // One window announced before the outage; its start and end fall due during it (no reminder: the
    // lead was past when it was scheduled).
    const one = await schedule(s, '+20s 8s Before the outage');
    const oneAnn = await until('the first announcement', () => announcements(s, one)[0]);
    await until('its start and end queued', async () =>
      (await s.redis.zcard(`${s.prefix}:maintenance:delayed`)) >= 2 ? true : undefined,
    );

    down = true;
    const outageFrom = Date.now();
    // A window scheduled during the outage: its announcement and its reminder (due in 10 s, relevant
    // until its start in 55 s) cannot go out until Slack is back.
    const two = await schedule(s, '+55s 5s During the outage');
    // A cron host reports a failed dump: its alert cannot go out either.
    const report = await postDumpReport(
      s,
      JSON.stringify({ job: 'ggh_datatransit', status: 'failed', exitCode: 2, message: 'pg_dump: timeout' }),
      { secret: SECRET },
    );
    expect(report.status).toBe(202);

    await until('the end of the outage', () => Date.now() - outageFrom >= OUTAGE_MS, OUTAGE_MS + 5_000, 250);
    down = false;
    const outageMs = Date.now() - outageFrom;
    expect(outageMs).toBeGreaterThan(OLD_HORIZON_MS);
    expect(refused).toBeGreaterThan(20);

    const twoAnn = await until('the second announcement', () => announcements(s, two)[0], 30_000);
    await until(
      'the first window completed',
      () => replies(s, oneAnn.ts).some((m) => /is complete/.test(m.text)),
      30_000,
    );
    const alert = await until(
      'the dump alert',
      () => s.slack.messages(ALERTS).find((m) => !m.thread_ts && /ggh_datatransit/.test(shown(m))),
      30_000,
    );
    await until(
      'the second window completed',
      () => replies(s, twoAnn.ts).some((m) => /is complete/.test(m.text)),
      40_000,
    );
    await until(
      'the queues idle',
      async () => {
        for (const name of ['maintenance', 'dumps']) {
          const q = new Queue(name, { connection: s.redis, prefix: s.prefix });
          const jobs = await q.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'failed']);
          await q.close();
          // The dump job's scheduler always holds its next fire ('repeat:…').
          if (jobs.some((j) => !j.id?.startsWith('repeat:'))) return undefined;
        }
        return true;
      },
      20_000,
      200,
    );
    await until('anything doubled to arrive', () => Date.now() - outageFrom > outageMs + 30_000, 40_000, 250);

    // Each window: one announcement; its thread in order, each notice once.
    expect(announcements(s, one)).toHaveLength(1);
    expect(announcements(s, two)).toHaveLength(1);
    const threadOne = replies(s, oneAnn.ts).map((m) => m.text);
    const threadTwo = replies(s, twoAnn.ts).map((m) => m.text);
    expect(threadOne.map(kindOf)).toEqual(['has started', 'is complete']);
    expect(threadTwo.map(kindOf)).toEqual(['Reminder', 'has started', 'is complete']);
    // Those that went out after their time say so.
    expect(threadOne[0]).toMatch(/late: due/);
    expect(threadTwo[0]).toMatch(/late: due/);
    expect(s.slack.messages(CHANNEL)).toHaveLength(7);
    // The dump alert: one message (later failures edit it), nothing else in the alerts channel.
    expect(s.slack.messages(ALERTS).filter((m) => !m.thread_ts)).toEqual([alert]);
    // Mailed once each.
    const mails = s.smtp.messages.map((m) => `${m.subject} ${m.text.split(':')[0]}`).sort();
    expect(mails).toEqual(
      [
        '[MAINTENANCE] Before the outage Announcement',
        '[MAINTENANCE] Before the outage Completed',
        '[MAINTENANCE] Before the outage Started',
        '[MAINTENANCE] During the outage Announcement',
        '[MAINTENANCE] During the outage Completed',
        '[MAINTENANCE] During the outage Reminder',
        '[MAINTENANCE] During the outage Started',
      ].sort(),
    );
    // Nothing failed for good (the queues were idle with no failed job), nothing was dropped.
    expect(s.logs.some((l) => l.includes('maintenance notice dropped'))).toBe(false);
  }, 150_000);

  it('a notice that can no longer go out in time is dropped: logged and posted in the alerts channel, once', async ({
    startStack,
  }) => {
    const s = await startStack({
      topology: { bots: 1, workers: 1 },
      extraConfig: { maintenance: { emailTo: [], remindBefore: ['1d'], lateGraceMinutes: 0 } },
    });
    const t0 = Date.now();
    const id = await schedule(s, '+3s 3s Nobody to post it');
    const ann = await until('the announcement', () => announcements(s, id)[0]);
    await until('its start and end queued', async () =>
      (await s.redis.zcard(`${s.prefix}:maintenance:delayed`)) >= 2 ? true : undefined,
    );
    // The only worker stops before the start and comes back after the end (grace 0).
    await s.instances[1]?.close();
    await until('past the end', () => Date.now() > t0 + 7_000, 10_000, 100);
    await s.startInstance('worker');
    const dropped = () => s.slack.messages(ALERTS).filter((m) => /was dropped/.test(m.text));
    await until('two dropped notices', () => (dropped().length >= 2 ? true : undefined), 20_000);
    await until('settled', () => Date.now() > t0 + 12_000, 10_000, 100);
    expect(replies(s, ann.ts)).toHaveLength(0);
    const texts = dropped().map((m) => m.text);
    expect(texts).toHaveLength(2);
    expect(texts.some((t) => /The start notice of maintenance \*Nobody to post it\*/.test(t))).toBe(true);
    expect(texts.some((t) => /The completion notice of maintenance/.test(t))).toBe(true);
    expect(s.logs.filter((l) => l.includes('"msg":"maintenance notice dropped"'))).toHaveLength(2);
  }, 60_000);
});

function shown(m: FakeSlackMessage): string {
  return `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;
}
