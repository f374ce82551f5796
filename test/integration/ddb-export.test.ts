// /ddb-export against moto_server with real SDK clients. Moto never finishes a pipeline and has no
// QueryObjects, so these tests watch nothing for Data Pipeline (the first status check is an hour
// away); ddb-export-watch.test.ts covers watching with SDK-level fakes. Moto does run native exports.
import {
  DataPipelineClient,
  DescribePipelinesCommand,
  GetPipelineDefinitionCommand,
  ListPipelinesCommand,
  CreatePipelineCommand as SeedCreatePipeline,
} from '@aws-sdk/client-data-pipeline';
import {
  DescribeContinuousBackupsCommand,
  DescribeExportCommand,
  DynamoDBClient,
  ListExportsCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { describe, expect } from 'vitest';
import { seedTable } from '../../devkit/worlds/index.js';
import { createAwsClients } from '../../infra/aws.js';
import { ACCOUNTS, it, type Stack, type StackOptions } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const BUCKET = 'dynamodb-migration-backups-osio';
const DDB = { sourceAccount: 'osio', targetAccount: 'osio-dev', bucket: BUCKET };
const POST_STEP = `aws s3 cp s3://${BUCKET}/backups/prod_txlog/ s3://${BUCKET}/backups/prod_txlog/ --recursive --acl bucket-owner-full-control --storage-class STANDARD`;

/** A stack whose Data Pipeline watch never checks during the test (moto would not answer QueryObjects). */
function ddbOptions(ddb: Record<string, unknown> = {}): StackOptions {
  return { extraConfig: { ddbExport: { ...DDB, pollStartSeconds: 3600, ...ddb } } };
}

// Seeding and inspecting clients: not recorded as bot actions.
function seed<C>(s: Stack, ctor: new (config: never) => C, alias: 'osio' | 'osio-dev'): C {
  // biome-ignore lint/suspicious/noExplicitAny: the seed clients are ordinary SDK clients
  return createAwsClients(s.config).client(ctor as any, alias, 'test-seed') as C;
}

/** The progress card in the requester's DM, once its text matches. */
function card(s: Stack, user: string, pattern: RegExp) {
  const dm = `D${user.slice(1)}`;
  return until(
    `a card matching ${pattern}; DM has ${JSON.stringify(s.slack.messages(dm).map((m) => m.text))}`,
    () => s.slack.messages(dm).find((m) => m.text.includes('DynamoDB export') && pattern.test(m.text)),
  );
}

/** A table in osio, devkit's /ddb-export world. */
function createTable(s: Stack, table: string, opts: { pitr?: boolean; items?: number } = {}) {
  return seedTable(s.world, 'osio', { name: table, ...opts });
}

async function pipelines(s: Stack, alias: 'osio' | 'osio-dev' = 'osio') {
  const out = await seed(s, DataPipelineClient, alias).send(new ListPipelinesCommand({}));
  return out.pipelineIdList ?? [];
}

async function definition(s: Stack, pipelineId: string) {
  const out = await seed(s, DataPipelineClient, 'osio').send(
    new GetPipelineDefinitionCommand({ pipelineId }),
  );
  const objects: Record<string, Record<string, string>> = {};
  for (const o of out.pipelineObjects ?? []) {
    const f: Record<string, string> = {};
    for (const x of o.fields ?? []) f[x.key as string] = (x.stringValue ?? `ref:${x.refValue}`) as string;
    objects[o.id as string] = f;
  }
  return objects;
}

async function pipelineFields(s: Stack, pipelineId: string) {
  const out = await seed(s, DataPipelineClient, 'osio').send(
    new DescribePipelinesCommand({ pipelineIds: [pipelineId] }),
  );
  return Object.fromEntries(
    (out.pipelineDescriptionList?.[0]?.fields ?? []).map((f) => [f.key, f.stringValue]),
  );
}

async function jobKeys(s: Stack) {
  return s.redis.keys(`${s.prefix}:ddb-export:ddb-*`);
}

describe('/ddb-export with Data Pipeline, against moto', () => {
  it("creates the table's pipeline in the source account with the export definition, and activates it", async ({
    startStack,
  }) => {
    const s = await startStack(ddbOptions());
    await createTable(s, 'prod_txlog');
    const ack = await s.command('U0CAROL', '/ddb-export', 'prod_txlog');
    expect(ack.text).toMatch(
      /Queued: exporting `prod_txlog` from osio to `s3:\/\/dynamodb-migration-backups-osio\/backups\/`/,
    );
    await card(s, 'U0CAROL', /prod_txlog running/);

    const list = await pipelines(s);
    expect(list).toHaveLength(1);
    const id = list[0]?.id as string;
    expect(list[0]?.name).toBe('prod_txlog');
    const fields = await pipelineFields(s, id);
    expect(fields.uniqueId).toBe('prod_txlog');
    expect(fields['@pipelineState']).toBe('SCHEDULED'); // moto's state after ActivatePipeline
    // Created in the source account only.
    expect(await pipelines(s, 'osio-dev')).toHaveLength(0);

    const def = await definition(s, id);
    expect(def.DDBSourceTable).toMatchObject({ type: 'DynamoDBDataNode', tableName: 'prod_txlog' });
    expect(def.S3BackupLocation?.directoryPath).toMatch(
      /^s3:\/\/dynamodb-migration-backups-osio\/backups\/prod_txlog\/#\{format\(@scheduledStartTime/,
    );
    expect(def.Default?.pipelineLogUri).toBe(`s3://${BUCKET}/logs/`);
    expect(def.TableBackupActivity).toMatchObject({ type: 'EmrActivity', postStepCommand: POST_STEP });

    // One card, edited in place through the states.
    const dm = s.slack.messages('D0CAROL');
    expect(dm).toHaveLength(1);
    expect(dm[0]?.edits).toBeGreaterThanOrEqual(2);
    const texts = s.slack.calls
      .filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.update')
      .map((c) => String(c.args.text));
    expect(texts.some((t) => /prod_txlog creating/.test(t))).toBe(true);
    expect(texts.some((t) => /prod_txlog activating/.test(t))).toBe(true);
    expect(JSON.stringify(dm[0]?.blocks)).toMatch(new RegExp(`pipeline ${id} activated`));

    for (const a of [
      'sts:AssumeRole',
      'dynamodb:DescribeTable',
      'datapipeline:ListPipelines',
      'datapipeline:CreatePipeline',
      'datapipeline:PutPipelineDefinition',
      'datapipeline:ActivatePipeline',
    ]) {
      expect(s.actions).toContain(a);
    }
    const audit = await s.auditRows();
    expect(audit.map((r) => `${r.user}:${r.action}:${r.outcome}`)).toEqual(['U0CAROL:ddb-export:queued']);
  });

  it('refuses a second export of the same table while one runs; once it ended, reuses the pipeline', async ({
    startStack,
  }) => {
    const s = await startStack(ddbOptions());
    await createTable(s, 'prod_txlog');
    await s.command('U0OPS', '/ddb-export', 'prod_txlog');
    await card(s, 'U0OPS', /prod_txlog running/);

    const again = await s.command('U0CAROL', '/ddb-export', 'prod_txlog');
    // Answered in the ack itself; nothing runs twice.
    expect(again.text).toMatch(
      /Not started twice, already queued or running: `prod_txlog` \(job ddb-[^)]+\)/,
    );
    expect(again.text).not.toMatch(/Queued/);
    expect(await pipelines(s)).toHaveLength(1);

    // The first run ends (moto never ends it): its job goes away, as a finished one would.
    const queue = new Queue('ddb-export', { connection: s.redis, prefix: s.prefix });
    try {
      const [first] = await queue.getDelayed();
      expect(first?.data.phase).toBe('watch');
      await first?.remove();
    } finally {
      await queue.close();
    }

    const third = await s.command('U0CAROL', '/ddb-export', 'prod_txlog');
    expect(third.text).toMatch(/Queued: exporting `prod_txlog`/);
    await until('the third card says running', () =>
      s.slack.messages('D0CAROL').filter((m) => /prod_txlog running/.test(m.text)).length === 1
        ? true
        : undefined,
    );
    const list = await pipelines(s);
    expect(list).toHaveLength(1);
    expect(s.logs.filter((l) => l.includes('"msg":"pipeline created"'))).toHaveLength(1);
    expect(
      s.logs.some((l) => l.includes('activating the existing pipeline') && l.includes(list[0]?.id as string)),
    ).toBe(true);
    expect(s.actions).toContain('datapipeline:DescribePipelines');
    const audit = await s.auditRows();
    expect(audit.map((r) => `${r.user}:${r.outcome}`)).toEqual([
      'U0OPS:queued',
      'U0CAROL:invalid',
      'U0CAROL:queued',
    ]);
    expect(audit[1]?.detail).toMatch(/duplicates 1$/);
  });

  it('activates a pipeline made by hand as in the runbook, without redefining it', async ({ startStack }) => {
    const s = await startStack(ddbOptions());
    await createTable(s, 'prod_txlog');
    const made = await seed(s, DataPipelineClient, 'osio').send(
      new SeedCreatePipeline({ name: 'prod_txlog', uniqueId: 'console-token-1' }),
    );
    await s.command('U0CAROL', '/ddb-export', 'prod_txlog');
    await card(s, 'U0CAROL', /prod_txlog running/);
    expect(await pipelines(s)).toHaveLength(1);
    expect((await pipelineFields(s, made.pipelineId as string))['@pipelineState']).toBe('SCHEDULED');
    expect(await definition(s, made.pipelineId as string)).toEqual({});
    expect(s.actions).not.toContain('datapipeline:CreatePipeline');
    expect(s.actions).not.toContain('datapipeline:PutPipelineDefinition');
  });

  it('says so when the table does not exist, and creates no pipeline', async ({ startStack }) => {
    const s = await startStack(ddbOptions());
    await s.command('U0CAROL', '/ddb-export', 'no_such_table');
    const failed = await card(s, 'U0CAROL', /no_such_table failed/);
    expect(JSON.stringify(failed.blocks)).toMatch(
      /table no_such_table does not exist in osio \(386414299200/,
    );
    expect(await pipelines(s)).toHaveLength(0);
    const alert = await s.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && c.args.channel === 'C0ALERTS',
    );
    expect(String(alert.args.text)).toMatch(
      /`no_such_table` from osio .* failed \[table_not_found\].*nothing ran in AWS/s,
    );
    const audit = await s.auditRows();
    expect(audit.map((r) => `${r.action}:${r.outcome}:${r.detail}`)).toContain(
      'ddb-export:failed:table_not_found',
    );
  });
});

describe('/ddb-export --native, against moto', () => {
  it('exports to the bucket owned by the target account and sends the follow-up', async ({ startStack }) => {
    const s = await startStack(ddbOptions({ pollStartSeconds: 0.1, pollMaxSeconds: 0.2 }));
    await createTable(s, 'prod_txlog', { pitr: true, items: 3 });
    await seed(s, S3Client, 'osio-dev').send(new CreateBucketCommand({ Bucket: BUCKET }));

    const ack = await s.command('U0CAROL', '/ddb-export', 'prod_txlog --native');
    expect(ack.text).toMatch(/with DynamoDB export to S3/);
    const done = await card(s, 'U0CAROL', /prod_txlog finished/);
    expect(JSON.stringify(done.blocks)).toMatch(/export finished \(3 items\)/);

    const ddb = seed(s, DynamoDBClient, 'osio');
    const arn = `arn:aws:dynamodb:us-east-1:${ACCOUNTS.osio.id}:table/prod_txlog`;
    const exports = (await ddb.send(new ListExportsCommand({ TableArn: arn }))).ExportSummaries ?? [];
    expect(exports).toHaveLength(1);
    const desc = (await ddb.send(new DescribeExportCommand({ ExportArn: exports[0]?.ExportArn })))
      .ExportDescription;
    expect(desc).toMatchObject({
      S3Bucket: BUCKET,
      S3BucketOwner: ACCOUNTS['osio-dev'].id,
      S3Prefix: 'backups/prod_txlog',
    });
    // The data landed in the target account's bucket.
    const objects = await seed(s, S3Client, 'osio-dev').send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'backups/prod_txlog/' }),
    );
    expect(objects.Contents?.length).toBeGreaterThan(0);

    const follow = await until('the follow-up', () =>
      s.slack.messages('D0CAROL').find((m) => m.text.includes('Good luck!')),
    );
    expect(follow.text).toContain('I have created a backup of all the requested tables (`prod_txlog`)');
    expect(follow.text).toContain(`"${BUCKET}" (you should have read access to it)`);
    expect(follow.text).toContain('S3DataImport.HowItWorks.html');
    for (const a of [
      'dynamodb:DescribeTable',
      'dynamodb:DescribeContinuousBackups',
      'dynamodb:ExportTableToPointInTime',
      'dynamodb:DescribeExport',
    ]) {
      expect(s.actions).toContain(a);
    }
    const audit = await s.auditRows();
    expect(audit.map((r) => `${r.action}:${r.outcome}`)).toEqual([
      'ddb-export:queued',
      'ddb-export:succeeded',
    ]);
    expect(s.slack.messages('C0ALERTS')).toHaveLength(0);
  });

  it('says point-in-time recovery is off and how to turn it on, changing nothing', async ({ startStack }) => {
    const s = await startStack(ddbOptions({ pollStartSeconds: 0.1 }));
    await createTable(s, 'prod_txlog');
    await s.command('U0CAROL', '/ddb-export', 'prod_txlog --native');
    const failed = await card(s, 'U0CAROL', /prod_txlog failed/);
    const text = JSON.stringify(failed.blocks);
    expect(text).toMatch(/point-in-time recovery is off for table prod_txlog in osio/);
    expect(text).toMatch(/update-continuous-backups --table-name prod_txlog/);
    const ddb = seed(s, DynamoDBClient, 'osio');
    const pitr = await ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'prod_txlog' }));
    expect(pitr.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus).toBe(
      'DISABLED',
    );
    const arn = `arn:aws:dynamodb:us-east-1:${ACCOUNTS.osio.id}:table/prod_txlog`;
    expect((await ddb.send(new ListExportsCommand({ TableArn: arn }))).ExportSummaries ?? []).toHaveLength(0);
    expect(s.actions).not.toContain('dynamodb:ExportTableToPointInTime');
    // Refused for a reason retrying cannot fix: one attempt.
    expect(s.logs.filter((l) => l.includes('job attempt failed'))).toHaveLength(1);
  });
});

describe('/ddb-export input and permissions', () => {
  it('refuses shell characters, $(…), a 300-character name and no name, creating nothing', async ({
    startStack,
  }) => {
    const s = await startStack(ddbOptions());
    await createTable(s, 'prod_txlog');
    const answers = [
      await s.command('U0CAROL', '/ddb-export', '"a;rm -rf /"'),
      await s.command('U0CAROL', '/ddb-export', '$(id)'),
      await s.command('U0CAROL', '/ddb-export', `prod_txlog ${'t'.repeat(300)}`),
      await s.command('U0CAROL', '/ddb-export', ''),
    ];
    expect(answers[0]?.text).toMatch(/is not a table name|are not table names/);
    expect(answers[1]?.text).toMatch(/"\$\(id\)" is not a table name/);
    expect(answers[2]?.text).toMatch(/"t{40}…" is not a table name/);
    expect(answers[3]?.text).toMatch(/name at least one DynamoDB table/);
    for (const a of answers) expect(a.text).toMatch(/Usage: `\/ddb-export <table> \[table…\] \[--native\]`/);
    await new Promise((r) => setTimeout(r, 300));
    expect(await pipelines(s)).toHaveLength(0);
    expect(await jobKeys(s)).toEqual([]);
    expect(await s.redis.keys(`${s.prefix}:card:*`)).toEqual([]);
    expect(s.slack.messages('D0CAROL')).toHaveLength(0);
    expect([...s.actions].filter((a) => !a.startsWith('sts:'))).toEqual([]);
    const audit = await s.auditRows();
    expect(audit.map((r) => `${r.action}:${r.outcome}`)).toEqual(Array(4).fill('ddb-export:invalid'));
  });

  it('denies a user without the role: audited, nothing created', async ({ startStack }) => {
    const s = await startStack(ddbOptions());
    const ack = await s.command('U0ALICE', '/ddb-export', 'prod_txlog');
    expect(ack.text).toMatch(/not allowed.*ddb-export.*admin, interrupt-catcher/);
    await new Promise((r) => setTimeout(r, 300));
    expect(await pipelines(s)).toHaveLength(0);
    expect(await jobKeys(s)).toEqual([]);
    expect((await s.auditRows()).map((r) => `${r.user}:${r.action}:${r.outcome}`)).toEqual([
      'U0ALICE:ddb-export:denied',
    ]);
  });
});
