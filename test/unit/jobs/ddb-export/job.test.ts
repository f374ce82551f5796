// The ddb-export processor (jobs/ddb-export/job.ts) on a real BullMQ worker with the real worker deps,
// against moto: one job per table, resumable by phase, parking between status checks; the follow-up
// once every table is done, and an alert that says where to look when one fails for good.
import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { worldClient } from '../../../../devkit/worlds/index.js';
import { DDB_EXPORT_QUEUE, type DdbExportResult } from '../../../../jobs/ddb-export/data.js';
import { ddbExportJob } from '../../../../jobs/ddb-export/job.js';
import { readCard } from '../../../../jobs/progress-card.js';
import { BUCKET, ddbConfig, exportData, TABLE, useDdbWorld } from './parts.js';

const world = useDdbWorld(ddbConfig());
beforeAll(() => void world().work(ddbExportJob));
const ALERTS = 'C0ALERTS';
const alerts = () =>
  world()
    .slack.messages(ALERTS)
    .map((m) => m.text);
const cardItem = async (requestId: string) => {
  const ww = world();
  return (await readCard({ redis: ww.redis, prefix: ww.prefix, clock: ww.deps.clock }, requestId))?.items.get(
    TABLE,
  );
};

describe('the ddb-export processor', () => {
  it('exports a table natively: requested, watched until done, the card finished and the follow-up sent', async () => {
    const ww = world();
    const d = await exportData(ww);
    const job = await ww.finish(DDB_EXPORT_QUEUE, d, { attempts: 1 });
    const result = job.returnvalue as unknown as DdbExportResult;
    expect(result).toMatchObject({
      table: TABLE,
      engine: 'native',
      location: `s3://${BUCKET}/backups/${TABLE}/`,
    });
    expect(result.exportArn).toMatch(/^arn:aws:dynamodb:/);
    expect(await cardItem(d.requestId)).toMatchObject({ state: 'finished' });
    const dm = ww.slack.messages('D0OPS').map((m) => m.text);
    expect(dm.some((t) => t.startsWith(':white_check_mark: Export done.'))).toBe(true);
  });

  it('refuses a name that is not a table name before anything runs, and alerts saying nothing ran in AWS', async () => {
    const ww = world();
    const d = await exportData(ww, { table: 'x;rm -rf' });
    const job = await ww.finish(DDB_EXPORT_QUEUE, d, { attempts: 1 });
    expect(job.failedReason).toMatch(/^unsafe_name: /);
    expect(alerts().at(-1)).toContain(`Logs: nothing ran in AWS; the bot's logs, request ${d.requestId}`);
  });

  it('says a table that does not exist does not, on the card and in the alert', async () => {
    const ww = world();
    const d = await exportData(ww, { table: 'no_such_table' });
    const job = await ww.finish(DDB_EXPORT_QUEUE, d, { attempts: 1 });
    expect(job.failedReason).toBe(
      'table_not_found: table no_such_table does not exist in osio (386414299200, us-east-1): check the name',
    );
    expect(alerts().at(-1)).toMatch(
      /^:rotating_light: DynamoDB export of `no_such_table` from osio \(DynamoDB export to S3\) failed \[table_not_found\]: table no_such_table does not exist/,
    );
    const card = await readCard({ redis: ww.redis, prefix: ww.prefix, clock: ww.deps.clock }, d.requestId);
    expect(card?.items.get('no_such_table')).toMatchObject({ state: 'failed' });
  });

  it("alerts with the pipeline's logs when its status checks keep failing", async () => {
    const ww = world();
    const d = await exportData(ww, { engine: 'datapipeline' });
    const job = await ww.finish(DDB_EXPORT_QUEUE, d, { attempts: 1 });
    const pipelineId = job.data.pipelineId;
    expect(pipelineId).toMatch(/^df-/);
    expect(job.data.pollErrors).toBe(4);
    expect(alerts().at(-1)).toContain(
      `Logs: s3://${BUCKET}/logs/${pipelineId}/ (and pipeline ${pipelineId} in the Data Pipeline console of osio)`,
    );
  });

  it('alerts with the export to look at when AWS failed the export (here: the bucket is gone)', async () => {
    const ww = world();
    const s3 = worldClient(
      { endpoint: process.env.AWS_ENDPOINT_URL ?? '', accounts: ww.config.accounts },
      S3Client,
      'osio-dev',
    );
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    for (const o of listed.Contents ?? [])
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: o.Key }));
    await s3.send(new DeleteBucketCommand({ Bucket: BUCKET }));
    const d = await exportData(ww);
    const job = await ww.finish(DDB_EXPORT_QUEUE, d, { attempts: 1 });
    expect(job.failedReason).toBe(
      'export_failed: the export failed: S3NoSuchBucket: The specified bucket does not exist',
    );
    expect(alerts().at(-1)).toContain(
      `Logs: the DynamoDB console of osio, Exports to S3: ${job.data.exportArn}`,
    );
  });

  it('names each job and its outcome for the audit trail', () => {
    expect(
      ddbExportJob.describe({ requestId: 'r', requester: 'U0OPS', table: TABLE, engine: 'native' }),
    ).toBe(`${TABLE} (native)`);
    expect(
      ddbExportJob.summarize?.({
        table: TABLE,
        engine: 'datapipeline',
        location: `s3://${BUCKET}/backups/${TABLE}/`,
        pipelineId: 'df-1',
        seconds: 3,
      }),
    ).toBe(`exported to s3://${BUCKET}/backups/${TABLE}/ by pipeline df-1`);
  });
});
