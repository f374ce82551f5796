// Watching a started export (jobs/ddb-export/watch.ts): one status check per run of the job, which
// parks itself until the next. Native exports and Data Pipeline on moto; moto never runs a pipeline
// (its QueryObjects answers 500), so a running pipeline comes from test/helpers/fake-data-pipeline.ts,
// as in the integration tests.
import { CreatePipelineCommand, DataPipelineClient } from '@aws-sdk/client-data-pipeline';
import { DescribeExportCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DelayedError } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { worldClient } from '../../../../devkit/worlds/index.js';
import { TransientError, UserError } from '../../../../infra/errors.js';
import { type DdbExportData, pollDelayMs } from '../../../../jobs/ddb-export/data.js';
import { startNativeExport } from '../../../../jobs/ddb-export/native.js';
import { watch } from '../../../../jobs/ddb-export/watch.js';
import { readCard } from '../../../../jobs/progress-card.js';
import { activity, FakeDataPipeline } from '../../../helpers/fake-data-pipeline.js';
import { until } from '../../../helpers/wait.js';
import { cfgOf, ddbConfig, exportData, jobWithContext, TABLE, useDdbWorld } from './parts.js';

const world = useDdbWorld();
let dp: FakeDataPipeline | undefined;
afterEach(() => {
  dp?.mock.restore();
  dp = undefined;
});

/** A native export started on moto for `d`, watched once moto has ended it. */
async function nativeExport(over: Partial<DdbExportData> = {}, ddb: Record<string, unknown> = {}) {
  const ww = world();
  const cfg = cfgOf(ddbConfig(ddb));
  const { job, ctx } = await jobWithContext(ww, await exportData(ww, over));
  await startNativeExport(job, ctx, cfg);
  const client = worldClient(
    { endpoint: process.env.AWS_ENDPOINT_URL ?? '', accounts: ww.config.accounts },
    DynamoDBClient,
    'osio',
  );
  await until('moto to end the export', async () => {
    const out = await client.send(new DescribeExportCommand({ ExportArn: job.data.exportArn }));
    return out.ExportDescription?.ExportStatus !== 'IN_PROGRESS';
  });
  return { job, ctx, cfg };
}

/** A Data Pipeline export's job, its pipeline made on moto (or on the fake when `dp` is set). */
async function pipelineJob(over: Partial<DdbExportData> = {}) {
  const ww = world();
  const client = dp
    ? new DataPipelineClient({ region: 'us-east-1' })
    : worldClient(
        { endpoint: process.env.AWS_ENDPOINT_URL ?? '', accounts: ww.config.accounts },
        DataPipelineClient,
        'osio',
      );
  const made = await client.send(
    new CreatePipelineCommand({ name: TABLE, uniqueId: `${TABLE}-${Math.random()}` }),
  );
  const d = await exportData(ww, {
    engine: 'datapipeline',
    pipelineId: made.pipelineId,
    phase: 'watch',
    runStartedAt: ww.deps.clock.now(),
    polls: 2,
    pollErrors: 0,
    ...over,
  });
  return { ...(await jobWithContext(ww, d)), cfg: cfgOf(ww.config) };
}

describe('a native export', () => {
  it('is seen finished, with its item count, and not watched again', async () => {
    const { job, ctx, cfg } = await nativeExport();
    expect(await watch(job, ctx, cfg)).toEqual({ outcome: 'finished', detail: 'export finished (3 items)' });
    expect(ctx.delayedUntil).toBeUndefined();
  });

  it('is seen failed, with the code and the message AWS gave', async () => {
    const { job, ctx, cfg } = await nativeExport({}, { bucket: 'no-such-backup-bucket' });
    expect(await watch(job, ctx, cfg)).toEqual({
      outcome: 'failed',
      detail: 'the export failed: S3NoSuchBucket: The specified bucket does not exist',
    });
  });
});

describe('a check that fails', () => {
  it('does not end the watch: the error is counted and the job parks until the next check', async () => {
    const ww = world();
    const { job, ctx, cfg } = await pipelineJob();
    const now = ww.deps.clock.now();
    await expect(watch(job, ctx, cfg)).rejects.toThrow(DelayedError);
    expect(job.data).toMatchObject({ polls: 2, pollErrors: 1 });
    expect(ctx.delayedUntil).toBeGreaterThanOrEqual(now + pollDelayMs(cfg, 2));
    expect(ww.logs.some((l) => l.includes('status check failed'))).toBe(true);
  });

  it('ends it on the fifth in a row', async () => {
    const { job, ctx, cfg } = await pipelineJob({ pollErrors: 4 });
    await expect(watch(job, ctx, cfg)).rejects.toThrow(TransientError);
    expect(ctx.delayedUntil).toBeUndefined();
  });

  it('ends it at once when AWS refuses: the pipeline is gone', async () => {
    const { job, ctx, cfg } = await pipelineJob({ pipelineId: 'df-0000000000000000gone' });
    await expect(watch(job, ctx, cfg)).rejects.toThrow(UserError);
    expect(ctx.delayedUntil).toBeUndefined();
  });
});

describe('a run still going', () => {
  it('is shown on the card and checked again after a gap that doubles, the error count reset', async () => {
    dp = new FakeDataPipeline();
    dp.scripts.set(TABLE, () => [activity('RUNNING')]);
    const ww = world();
    const { job, ctx, cfg } = await pipelineJob({ pollErrors: 3 });
    const now = ww.deps.clock.now();
    await expect(watch(job, ctx, cfg)).rejects.toThrow(DelayedError);
    expect(job.data).toMatchObject({ polls: 3, pollErrors: 0 });
    expect(ctx.delayedUntil).toBeGreaterThanOrEqual(now + pollDelayMs(cfg, 3));
    const card = await readCard(
      { redis: ww.redis, prefix: ww.prefix, clock: ww.deps.clock },
      job.data.requestId,
    );
    expect(card?.items.get(TABLE)).toMatchObject({
      state: 'running',
      detail: `pipeline ${job.data.pipelineId}: TableBackupActivity RUNNING`,
    });
  });

  it('is left running once the watch has lasted watchTimeoutMinutes, saying so', async () => {
    dp = new FakeDataPipeline();
    dp.scripts.set(TABLE, () => [activity('RUNNING')]);
    const ww = world();
    const { job, ctx, cfg } = await pipelineJob({ runStartedAt: ww.deps.clock.now() - 361 * 60_000 });
    await expect(watch(job, ctx, cfg)).rejects.toThrow(
      /^still not finished after 6h 01m \(pipeline df-\S+: TableBackupActivity RUNNING\); the bot stopped watching and left it running$/,
    );
  });
});
