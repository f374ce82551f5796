// The same bot on a 3-master Redis Cluster (REDIS_CLUSTER_NODES): queues, audit, windows, the
// replay guard and job state all work, with every multi-key operation in one slot.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSlackClient, slashCommandBody } from '../../devkit/index.js';
import { type RedisCluster, startRedisCluster } from '../helpers/redis-cluster.js';
import { SIGNING_SECRET, type Stack, seedIamUser, startStack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

let cluster: RedisCluster;
let stack: Stack | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function clusterStack(topology = { bots: 1, workers: 1 }) {
  return startStack({
    redisUrl: cluster.url,
    env: { REDIS_CLUSTER_NODES: cluster.nodes },
    topology,
    extraConfig: { maintenance: { emailTo: ['ops-list@example.com'], remindBefore: ['3s'] } },
  });
}

describe('on a Redis Cluster', () => {
  it('runs a password reset end to end, refuses a duplicate in the ack and a replayed request with 401', async () => {
    stack = await clusterStack({ bots: 2, workers: 2 });
    const s = stack;
    expect(s.prefix).toMatch(/^\{.+\}$/);
    await seedIamUser(s.iam('osio-dev'), 'alice');
    const body = slashCommandBody({
      command: '/reset-password',
      text: '',
      userId: 'U0ALICE',
      responseUrl: s.slack.responseUrl('C0GENERAL', 'U0ALICE'),
    });
    const ts = Math.floor(Date.now() / 1000);
    const [a, b] = s.instances
      .filter((i) => i.port)
      .map((i) =>
        createSlackClient({ url: `http://127.0.0.1:${i.port}/slack/events`, signingSecret: SIGNING_SECRET }),
      );
    const first = await a?.send(body, { timestamp: ts });
    expect(JSON.stringify(first?.json)).toMatch(/Queued: resetting/);
    expect((await b?.send(body, { timestamp: ts }))?.status).toBe(401);
    const dup = await s.command('U0ALICE', '/reset-password', '', 1);
    expect(dup.text).toMatch(/already queued or running|Queued: resetting/);
    await until('the mail', () => (s.smtp.messages.length >= 1 ? true : undefined), 30_000);
    await until('the audit', async () =>
      (await s.auditRows()).some((r) => r.action === 'reset-password' && r.outcome === 'succeeded')
        ? true
        : undefined,
    );
    const jobs = (await s.command('U0OPS', '/chatops', 'jobs')).text;
    expect(jobs).toMatch(/alice@osio-dev: \*completed\*/);
  });

  it('posts a maintenance window notices once each, in order', async () => {
    stack = await clusterStack();
    const s = stack;
    const res = await s.command('U0OPS', '/maintenance', 'schedule +6s 3s Cluster window');
    expect(res.text).toMatch(/Scheduled `mw-/);
    await until(
      'the completion',
      () => s.slack.messages('C0MAINT').find((m) => m.thread_ts && /is complete/.test(m.text)),
      30_000,
    );
    const replies = s.slack
      .messages('C0MAINT')
      .filter((m) => m.thread_ts)
      .map((m) => /Reminder|started|complete/.exec(m.text)?.[0]);
    expect(replies).toEqual(['Reminder', 'started', 'complete']);
    await until('the four mails', () => (s.smtp.messages.length >= 4 ? true : undefined));
    expect(s.smtp.messages.map((m) => m.subject)).toEqual(Array(4).fill('[MAINTENANCE] Cluster window'));
  }, 60_000);
});
