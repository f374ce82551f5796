// The same bot on a 3-master Redis Cluster (REDIS_CLUSTER_NODES): queues, audit, windows, the
// replay guard, approvals, alert state and job state all work, with every multi-key operation in
// one slot. The end-to-end path: a reset, an export, a maintenance window, a phase-3 run with two
// approvals, a dump alert.
import { ActivatePipelineCommand } from '@aws-sdk/client-data-pipeline';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createSlackClient, slashCommandBody } from '../../devkit/index.js';
import { seedMissingTodaysDump } from '../helpers/dumps.js';
import {
  activity,
  cluster as emrCluster,
  FakeDataPipeline,
  fakeDynamoDb,
  recordFakedActions,
} from '../helpers/fake-data-pipeline.js';
import {
  cardText,
  instance,
  instanceIdOf,
  requestAndApprove,
  withMigrationWorld,
} from '../helpers/migration.js';
import { type RedisCluster, startRedisCluster } from '../helpers/redis-cluster.js';
import { it, SIGNING_SECRET, type Stack, type StackOptions, seedIamUser } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});

const onCluster = () => ({ redisUrl: cluster.url, env: { REDIS_CLUSTER_NODES: cluster.nodes } });

function clusterOptions(
  topology = { bots: 1, workers: 1 },
  extraConfig: Record<string, unknown> = {},
): StackOptions {
  return {
    ...onCluster(),
    topology,
    extraConfig: { maintenance: { emailTo: ['ops-list@example.com'], remindBefore: ['3s'] }, ...extraConfig },
  };
}

describe('on a Redis Cluster', () => {
  it('runs a password reset end to end, refuses a duplicate in the ack and a replayed request with 401', async ({
    startStack,
  }) => {
    const s = await startStack(clusterOptions({ bots: 2, workers: 2 }));
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

  it('posts a maintenance window notices once each, in order', async ({ startStack }) => {
    const s = await startStack(clusterOptions());
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

  it('runs a DynamoDB export to FINISHED on one card (Data Pipeline faked: moto never finishes one)', async ({
    startStack,
  }) => {
    const dp = new FakeDataPipeline();
    const ddb = fakeDynamoDb({ ExportStatus: 'COMPLETED' });
    dp.scripts.set('prod_txlog', (n) =>
      n < 2 ? [emrCluster('RUNNING'), activity('RUNNING')] : [activity('FINISHED')],
    );
    let stack: Stack | undefined;
    try {
      stack = await startStack(
        clusterOptions(undefined, {
          ddbExport: {
            sourceAccount: 'osio',
            targetAccount: 'osio-dev',
            bucket: 'dynamodb-migration-backups-osio',
            pollStartSeconds: 0.05,
            pollMaxSeconds: 0.1,
          },
        }),
      );
      const s = stack;
      expect((await s.command('U0CAROL', '/ddb-export', 'prod_txlog')).text).toMatch(/Queued: exporting/);
      await until(
        'the card saying finished',
        () => s.slack.messages('D0CAROL').find((m) => /prod_txlog finished/.test(m.text)),
        30_000,
      );
      expect(dp.byName('prod_txlog')).toHaveLength(1);
      expect(dp.count(ActivatePipelineCommand)).toBe(1);
      await until('the audit', async () =>
        (await s.auditRows()).some((r) => r.action === 'ddb-export' && r.outcome === 'succeeded')
          ? true
          : undefined,
      );
    } finally {
      if (stack) recordFakedActions(stack, { dp, ddb });
      dp.mock.restore();
      ddb.mock.restore();
    }
  });

  it('runs phase 3 after two approvals: stopped, associated, started once; notices in the window thread; card done', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld({}, { ...onCluster(), topology: { bots: 1, workers: 1 } }));
    expect(s.prefix).toMatch(/^\{.+\}$/);
    const instanceId = instanceIdOf(s);
    await requestAndApprove(s, '+2s 60s');
    await until('the card says done', () => (/Done/.test(cardText(s)) ? true : undefined), 40_000);
    const after = await instance(instanceId);
    expect(after.state).toBe('running');
    expect(after.associations).toHaveLength(1);
    const thread = s.slack
      .messages('C0MAINT')
      .filter((m) => m.thread_ts)
      .map((m) => m.text);
    expect(thread.filter((t) => /Phase 3 \(`p3-[0-9a-z]+`\) starts/.test(t))).toHaveLength(1);
    expect(thread.filter((t) => /Phase 3 \(`p3-[0-9a-z]+`\) is done/.test(t))).toHaveLength(1);
    const steps = (await s.auditRows()).filter((r) => r.action === 'migration.phase3.step');
    expect(steps.length).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it('raises one dump alert for a missing dump, with its buttons', async ({ startStack }) => {
    const s = await startStack({
      ...onCluster(),
      topology: { bots: 1, workers: 1 },
      seed: seedMissingTodaysDump,
    });
    expect(s.prefix).toMatch(/^\{.+\}$/);
    expect((await s.command('U0ALICE', '/dumps', 'check ggh_datatransit')).text).toMatch(/Checking/);
    const alert = await until(
      'the alert',
      () => s.slack.messages('C0ALERTS').find((m) => !m.thread_ts),
      30_000,
    );
    const shown = JSON.stringify(alert.blocks ?? '');
    expect(shown).toMatch(/ggh_datatransit/);
    expect(shown).toMatch(/\*Failures:\* 1 /);
    expect(shown).toMatch(/dump_ack/);
    await until('the check result in the DM', () =>
      s.slack.messages('D0ALICE').find((m) => /Dump check/.test(m.text)),
    );
    expect(s.slack.messages('C0ALERTS').filter((m) => !m.thread_ts)).toHaveLength(1);
  });
});
