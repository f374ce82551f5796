// Watching, finishing and failing, with SDK-level fakes: moto has no QueryObjects and never
// finishes a pipeline. The bot, Redis, BullMQ, the workers and fake Slack are real; only the
// AWS clients' send() is replaced (aws-sdk-client-mock), so the recorder middleware does not run:
// each test adds the actions its fakes answered to the stack's record, for the IAM policy test.
import { join } from 'node:path';
import {
  ActivatePipelineCommand,
  CreatePipelineCommand,
  ListPipelinesCommand,
} from '@aws-sdk/client-data-pipeline';
import { ExportTableToPointInTimeCommand } from '@aws-sdk/client-dynamodb';
import { Queue } from 'bullmq';
import { describe, expect, inject } from 'vitest';
import { startChatops } from '../../bot/start.js';
import { parseEnv } from '../../infra/env.js';
import { createLogger } from '../../infra/logger.js';
import {
  activity,
  cluster,
  FakeDataPipeline,
  fakeDynamoDb,
  recordFakedActions,
} from '../helpers/fake-data-pipeline.js';
import { BOT_TOKEN, type Stack, type StackOptions, test } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const BUCKET = 'dynamodb-migration-backups-osio';
const FAST = { pollStartSeconds: 0.05, pollMaxSeconds: 0.1 };

let dp: FakeDataPipeline | undefined;
let ddb: ReturnType<typeof fakeDynamoDb> | undefined;

// Torn down before the stacks close: the fakes' answers join each stack's record of AWS actions.
const it = test.extend<{ fakes: undefined }>({
  fakes: [
    async ({ stacks }, use) => {
      await use(undefined);
      for (const stack of stacks) recordFakedActions(stack, { dp, ddb });
      dp?.mock.restore();
      ddb?.mock.restore();
      dp = undefined;
      ddb = undefined;
    },
    { auto: true },
  ],
});

function watchOptions(ddbExport: Record<string, unknown> = {}, opts: StackOptions = {}): StackOptions {
  return {
    ...opts,
    extraConfig: {
      ddbExport: { sourceAccount: 'osio', targetAccount: 'osio-dev', bucket: BUCKET, ...FAST, ...ddbExport },
    },
  };
}

function card(s: Stack, user: string, pattern: RegExp) {
  const dm = `D${user.slice(1)}`;
  return until(
    `a card matching ${pattern}; DM has ${JSON.stringify(s.slack.messages(dm).map((m) => m.text))}`,
    () => s.slack.messages(dm).find((m) => m.text.includes('DynamoDB export') && pattern.test(m.text)),
  );
}

/** Every text the card showed, in order: its post and each edit. */
function cardHistory(s: Stack): string[] {
  return s.slack.calls
    .filter(
      (c) =>
        (c.method === 'chat.postMessage' || c.method === 'chat.update') &&
        String(c.args.text).includes('DynamoDB export'),
    )
    .map((c) => String(c.args.text));
}

function alert(s: Stack) {
  return s.slack.waitFor((c) => c.method === 'chat.postMessage' && c.args.channel === 'C0ALERTS');
}

describe('watching a Data Pipeline export', () => {
  it('follows the run to FINISHED on one card, edited through each state, then sends the follow-up', async ({
    startStack,
  }) => {
    dp = new FakeDataPipeline(5);
    ddb ??= fakeDynamoDb({ ExportStatus: 'COMPLETED' });
    dp.scripts.set('prod_txlog', (n) =>
      n === 0
        ? []
        : n < 3
          ? [cluster('RUNNING'), activity('RUNNING')]
          : [cluster('SHUTTING_DOWN'), activity('FINISHED')],
    );
    const s = await startStack(watchOptions());
    await s.command('U0CAROL', '/ddb-export', 'prod_txlog');
    const done = await card(s, 'U0CAROL', /prod_txlog finished/);
    expect(JSON.stringify(done.blocks)).toMatch(
      /`prod_txlog` \*finished\*: pipeline df-\w+: export finished: s3:\/\/dynamodb-migration-backups-osio\/backups\/prod_txlog\/ _\(after \d+s\)_/,
    );
    // Created once (found by paging through the other pipelines first), defined, activated once.
    expect(dp.byName('prod_txlog')).toHaveLength(1);
    expect(dp.count(ListPipelinesCommand)).toBe(3);
    expect(dp.mock.commandCalls(CreatePipelineCommand)[0]?.args[0].input).toMatchObject({
      name: 'prod_txlog',
      uniqueId: 'prod_txlog',
    });
    expect(dp.count(ActivatePipelineCommand)).toBe(1);
    expect(dp.polls.get(dp.byName('prod_txlog')[0]?.id as string)).toBe(4);

    const history = cardHistory(s);
    const order = ['creating', 'activating', 'running', 'finished'].map((st) =>
      history.findIndex((t) => t.includes(`prod_txlog ${st}`)),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(history.some((t) => t.includes('prod_txlog running'))).toBe(true);
    expect(JSON.stringify(s.slack.calls)).toMatch(
      /1 validation warning about the cross-account bucket, as expected/,
    );
    expect(JSON.stringify(s.slack.calls)).toMatch(/EmrClusterForBackup RUNNING, TableBackupActivity RUNNING/);

    const follow = await until('the follow-up', () =>
      s.slack.messages('D0CAROL').find((m) => m.text.includes('Good luck!')),
    );
    expect(follow.text).toContain(
      'used a Data Pipeline to have that backup created in the "osio-dev" account',
    );
    expect(follow.text).toContain('dp-importexport-ddb-part1.html');
    // The card and the follow-up: nothing else in the DM.
    expect(s.slack.messages('D0CAROL')).toHaveLength(2);
    const audit = await until('the audit entry', async () => {
      const rows = await s.auditRows();
      return rows.length === 2 ? rows : undefined;
    });
    expect(audit.map((r) => `${r.action}:${r.outcome}`)).toEqual([
      'ddb-export:queued',
      'ddb-export:succeeded',
    ]);
    expect(audit[1]?.detail).toMatch(
      /exported to s3:\/\/dynamodb-migration-backups-osio\/backups\/prod_txlog\/ by pipeline df-/,
    );
    expect(s.slack.messages('C0ALERTS')).toHaveLength(0);
  });

  it('reports a failed run on the card and alerts the channel with the table, the error and the logs', async ({
    startStack,
  }) => {
    dp = new FakeDataPipeline();
    ddb ??= fakeDynamoDb({ ExportStatus: 'COMPLETED' });
    dp.scripts.set('prod_txlog', (n) =>
      n < 1
        ? [cluster('RUNNING'), activity('RUNNING')]
        : [
            cluster('FAILED'),
            activity('CASCADE_FAILED', 'upstream failed'),
            { ...cluster('FAILED'), error: 'EMR: Insufficient capacity <@U0BOB>' },
          ],
    );
    const s = await startStack(watchOptions());
    await s.command('U0OPS', '/ddb-export', 'prod_txlog');
    const failed = await card(s, 'U0OPS', /prod_txlog failed/);
    expect(JSON.stringify(failed.blocks)).toMatch(
      /the run failed: EmrClusterForBackup FAILED: EMR: Insufficient capacity &lt;@U0BOB&gt;/,
    );
    const a = await alert(s);
    const id = dp.byName('prod_txlog')[0]?.id as string;
    expect(String(a.args.text)).toContain(
      'DynamoDB export of `prod_txlog` from osio (Data Pipeline) failed [export_failed]',
    );
    expect(String(a.args.text)).toContain('Insufficient capacity');
    expect(String(a.args.text)).not.toContain('<@U0BOB>');
    expect(String(a.args.text)).toContain(`Logs: s3://${BUCKET}/logs/${id}/`);
    expect(s.slack.messages('D0OPS').some((m) => m.text.includes('Good luck!'))).toBe(false);
    // A failed run is not retried (it would start the export again).
    expect(dp.count(ActivatePipelineCommand)).toBe(1);
  });

  it('fails with the validation errors and never activates; warnings alone are accepted', async ({
    startStack,
  }) => {
    dp = new FakeDataPipeline();
    ddb ??= fakeDynamoDb({ ExportStatus: 'COMPLETED' });
    dp.putResult = {
      errored: true,
      validationErrors: [{ id: 'EmrClusterForBackup', errors: ['releaseLabel emr-5.23.0 is not supported'] }],
      validationWarnings: [{ id: 'S3BackupLocation', warnings: ['cannot validate bucket'] }],
    };
    const s = await startStack(watchOptions());
    await s.command('U0CAROL', '/ddb-export', 'prod_txlog');
    const failed = await card(s, 'U0CAROL', /prod_txlog failed/);
    expect(JSON.stringify(failed.blocks)).toMatch(
      /Data Pipeline refused the definition of pipeline df-\w+: EmrClusterForBackup: releaseLabel emr-5.23.0 is not supported/,
    );
    expect(dp.count(ActivatePipelineCommand)).toBe(0);
    expect(String((await alert(s)).args.text)).toMatch(/failed \[pipeline_invalid\]/);
  });

  it('keeps watching through a throttled status check', async ({ startStack }) => {
    dp = new FakeDataPipeline();
    ddb ??= fakeDynamoDb({ ExportStatus: 'COMPLETED' });
    dp.throttleNextQuery = 2;
    dp.scripts.set('prod_txlog', () => [activity('FINISHED')]);
    const s = await startStack(watchOptions());
    await s.command('U0CAROL', '/ddb-export', 'prod_txlog');
    await card(s, 'U0CAROL', /prod_txlog finished/);
    expect(s.logs.filter((l) => l.includes('status check failed'))).toHaveLength(2);
    expect(s.logs.filter((l) => l.includes('job attempt failed'))).toHaveLength(0);
  });

  it('stops watching after the timeout, leaves the run alone and alerts', async ({ startStack }) => {
    dp = new FakeDataPipeline();
    ddb ??= fakeDynamoDb({ ExportStatus: 'COMPLETED' });
    dp.scripts.set('prod_txlog', () => [cluster('RUNNING'), activity('RUNNING')]);
    const s = await startStack(watchOptions({ watchTimeoutMinutes: 0.01 }));
    await s.command('U0CAROL', '/ddb-export', 'prod_txlog');
    const failed = await card(s, 'U0CAROL', /prod_txlog failed/);
    expect(JSON.stringify(failed.blocks)).toMatch(
      /still not finished after \d+s .*the bot stopped watching and left it running/,
    );
    expect(String((await alert(s)).args.text)).toMatch(/failed \[watch_timeout\]/);
    const sent = new Set(dp.mock.calls().map((c) => c.args[0].constructor.name));
    expect(sent).toEqual(
      new Set([
        'ListPipelinesCommand',
        'CreatePipelineCommand',
        'PutPipelineDefinitionCommand',
        'ActivatePipelineCommand',
        'DescribePipelinesCommand',
        'QueryObjectsCommand',
        'DescribeObjectsCommand',
      ]),
    );
  });

  it('shows several tables on one card; the follow-up names the finished ones', async ({ startStack }) => {
    dp = new FakeDataPipeline();
    ddb ??= fakeDynamoDb({ ExportStatus: 'COMPLETED' });
    dp.scripts.set('users_prod', (n) => (n < 2 ? [activity('RUNNING')] : [activity('FINISHED')]));
    dp.scripts.set('orders_prod', (n) =>
      n < 1 ? [activity('RUNNING')] : [activity('FAILED', 'table throttled')],
    );
    const s = await startStack(watchOptions());
    const ack = await s.command('U0CAROL', '/ddb-export', 'users_prod orders_prod');
    expect(ack.text).toMatch(/Queued: exporting `users_prod`, `orders_prod`/);
    await card(s, 'U0CAROL', /users_prod finished, orders_prod failed/);
    const follow = await until('the follow-up', () =>
      s.slack.messages('D0CAROL').find((m) => m.text.includes('Good luck!')),
    );
    expect(follow.text).toContain('of the tables `users_prod` (`orders_prod` could not be exported');
    const cards = s.slack.messages('D0CAROL').filter((m) => m.text.includes('DynamoDB export'));
    expect(cards).toHaveLength(1);
    expect(
      s.slack
        .callsTo('chat.postMessage')
        .filter((c) => c.args.channel === 'U0CAROL' && String(c.args.text).includes('DynamoDB export')),
    ).toHaveLength(1);
    const alerts = s.slack.messages('C0ALERTS');
    expect(alerts, JSON.stringify(alerts)).toHaveLength(1);
    expect(alerts[0]?.text).toMatch(/`orders_prod`.*table throttled/);
  });
});

describe('watching survives a worker restart', () => {
  it('a new worker resumes the parked watch and finishes it, without creating or activating again', async ({
    startStack,
  }) => {
    dp = new FakeDataPipeline();
    ddb ??= fakeDynamoDb({ ExportStatus: 'COMPLETED' });
    let finished = false;
    dp.scripts.set('prod_txlog', () =>
      finished ? [activity('FINISHED')] : [cluster('RUNNING'), activity('RUNNING')],
    );
    const s = await startStack(watchOptions({}, { topology: { bots: 1, workers: 1 } }));
    await s.command('U0CAROL', '/ddb-export', 'prod_txlog');
    const id = await until('a pipeline', () => dp?.byName('prod_txlog')[0]?.id);
    await until('two status checks', () => (dp?.polls.get(id) ?? 0) >= 2);

    // The worker goes away mid-watch: the job waits in Redis as a delayed job, nobody checks.
    await s.instances[1]?.close();
    const queue = new Queue('ddb-export', { connection: s.redis, prefix: s.prefix });
    try {
      const [job] = await queue.getJobs(['delayed', 'wait', 'active']);
      expect(await job?.getState()).toBe('delayed');
      expect(job?.data).toMatchObject({ phase: 'watch', pipelineId: id, table: 'prod_txlog' });
    } finally {
      await queue.close();
    }
    const pollsWhileDown = dp.polls.get(id);
    await new Promise((r) => setTimeout(r, 400));
    expect(dp.polls.get(id)).toBe(pollsWhileDown);
    finished = true;

    const env = parseEnv({
      CHATOPS_ROLE: 'worker',
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: s.slack.url,
      REDIS_URL: inject('redisUrl'),
      CHATOPS_REDIS_PREFIX: s.prefix,
      CHATOPS_CONFIG: join(s.config.baseDir, 'chatops.yaml'),
      CHATOPS_SHUTDOWN_TIMEOUT_MS: '5000',
    });
    const logger = createLogger({
      level: 'debug',
      destination: { write: (l: string) => void s.logs.push(l) },
    });
    s.instances.push(
      await startChatops({
        env,
        config: s.config,
        logger: logger.child({ instance: 'restarted' }),
        recorder: (a) => s.actions.add(a),
      }),
    );

    await card(s, 'U0CAROL', /prod_txlog finished/);
    expect(dp.count(CreatePipelineCommand)).toBe(1);
    expect(dp.count(ActivatePipelineCommand)).toBe(1);
    expect(
      s.slack
        .callsTo('chat.postMessage')
        .filter((c) => c.args.channel === 'U0CAROL' && String(c.args.text).includes('DynamoDB export')),
    ).toHaveLength(1);
    const audit = await until('the audit entry', async () => {
      const rows = await s.auditRows();
      return rows.length === 2 ? rows : undefined;
    });
    expect(audit.map((r) => r.outcome)).toEqual(['queued', 'succeeded']);
    expect(s.logs.some((l) => l.includes('"instance":"restarted"') && l.includes('job succeeded'))).toBe(
      true,
    );
  });
});

describe('watching a native export', () => {
  it('follows DescribeExport to COMPLETED and sends the follow-up with the import manual', async ({
    startStack,
  }) => {
    ddb = fakeDynamoDb({ ExportStatus: 'COMPLETED' });
    const s = await startStack(watchOptions());
    await s.command('U0CAROL', '/ddb-export', 'prod_txlog --native');
    const done = await card(s, 'U0CAROL', /prod_txlog finished/);
    expect(JSON.stringify(done.blocks)).toMatch(/export finished \(42 items\)/);
    const req = ddb.mock.commandCalls(ExportTableToPointInTimeCommand)[0]?.args[0].input;
    expect(req).toMatchObject({
      TableArn: 'arn:aws:dynamodb:us-east-1:386414299200:table/prod_txlog',
      S3Bucket: BUCKET,
      S3BucketOwner: '619539278362',
      S3Prefix: 'backups/prod_txlog',
    });
    expect(req?.ClientToken).toMatch(/^[0-9a-f]{40}$/);
    expect(cardHistory(s).some((t) => t.includes('prod_txlog running'))).toBe(true);
    const follow = await until('the follow-up', () =>
      s.slack.messages('D0CAROL').find((m) => m.text.includes('Good luck!')),
    );
    expect(follow.text).toContain('S3DataImport.HowItWorks.html');
  });

  it('reports a failed export with its code, and alerts with the export to look at', async ({
    startStack,
  }) => {
    ddb = fakeDynamoDb({
      ExportStatus: 'FAILED',
      FailureCode: 'S3NoSuchBucket',
      FailureMessage: 'The specified bucket does not exist',
    });
    const s = await startStack(watchOptions());
    await s.command('U0CAROL', '/ddb-export', 'prod_txlog --native');
    const failed = await card(s, 'U0CAROL', /prod_txlog failed/);
    expect(JSON.stringify(failed.blocks)).toMatch(
      /the export failed: S3NoSuchBucket: The specified bucket does not exist/,
    );
    const text = String((await alert(s)).args.text);
    expect(text).toContain('(DynamoDB export to S3) failed [export_failed]');
    expect(text).toContain(`Logs: the DynamoDB console of osio, Exports to S3: ${ddb.arn}`);
    expect(ddb.mock.commandCalls(ExportTableToPointInTimeCommand)).toHaveLength(1);
  });
});
