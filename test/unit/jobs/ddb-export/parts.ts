// The real parts the /ddb-export unit tests run on, once per file: a private moto_server with the
// source table (point-in-time recovery on) and the backup bucket (devkit/worlds), and a worker's real
// deps over the real Redis and the fake Slack (test/helpers/worker-world.ts). A job's context is the
// one the processor gives, over a real BullMQ job.
import { randomUUID } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import { afterAll, beforeAll } from 'vitest';
import { seedDdbExportWorld } from '../../../../devkit/worlds/index.js';
import type { Config } from '../../../../infra/config.js';
import {
  DDB_EXPORT_QUEUE,
  type DdbExportConfig,
  type DdbExportContext,
  type DdbExportData,
} from '../../../../jobs/ddb-export/data.js';
import { initCard, markReady } from '../../../../jobs/progress-card.js';
import { testConfig } from '../../../helpers/config.js';
import { useMoto } from '../../../helpers/moto.js';
import { startWorkerWorld, type WorkerWorld } from '../../../helpers/worker-world.js';

export const BUCKET = 'dynamodb-migration-backups-osio';
export const TABLE = 'prod_txlog';
export const REQUESTER = 'U0OPS';

/**
 * The config of these tests: exports from osio to osio-dev's bucket, polled every 50-100 ms. Each
 * account is reached through its role, as in production: moto then files the table and the bucket
 * under their own account ids, which a native export's S3BucketOwner names.
 */
export function ddbConfig(ddb: Record<string, unknown> = {}): Config {
  const role = (id: string) => ({ id, region: 'us-east-1', roleArn: `arn:aws:iam::${id}:role/chatops-bot` });
  return testConfig({
    accounts: { 'osio-dev': role('619539278362'), osio: role('386414299200') },
    ddbExport: {
      sourceAccount: 'osio',
      targetAccount: 'osio-dev',
      bucket: BUCKET,
      pollStartSeconds: 0.05,
      pollMaxSeconds: 0.1,
      ...ddb,
    },
  });
}

/** The ddbExport section of a config. */
export const cfgOf = (config: Config): DdbExportConfig => config.ddbExport as DdbExportConfig;

/** Starts moto (seeded with the table and the bucket) and a worker world before the file's tests. */
export function useDdbWorld(config: Config = ddbConfig()): () => WorkerWorld {
  let ww: WorkerWorld | undefined;
  useMoto();
  beforeAll(async () => {
    await seedDdbExportWorld({
      endpoint: process.env.AWS_ENDPOINT_URL ?? '',
      accounts: config.accounts,
      source: 'osio',
      tables: [{ name: TABLE, items: 3, pitr: true }],
      target: 'osio-dev',
      bucket: BUCKET,
    });
    ww = await startWorkerWorld({ config });
  }, 60_000);
  afterAll(() => ww?.close());
  return () => {
    if (!ww) throw new Error('the world starts in beforeAll');
    return ww;
  };
}

/** A table's job data for a new command, its progress card written and ready as the handler leaves it. */
export async function exportData(ww: WorkerWorld, over: Partial<DdbExportData> = {}): Promise<DdbExportData> {
  const d: DdbExportData = {
    requestId: `req-${randomUUID()}`,
    requester: REQUESTER,
    table: TABLE,
    engine: 'native',
    ...over,
  };
  const store = { redis: ww.redis, prefix: ww.prefix, clock: ww.deps.clock };
  const meta = { title: '*DynamoDB export*', channel: REQUESTER, items: [d.table], requestId: d.requestId };
  await initCard(store, meta, 3_600);
  await markReady(store, d.requestId);
  return d;
}

/** A real job of the queue for `d`, and the context the processor would give it (parking recorded). */
export async function jobWithContext(ww: WorkerWorld, d: DdbExportData) {
  const job: Job<DdbExportData> = await ww.deps.queues.queue(DDB_EXPORT_QUEUE).add('t', d);
  const ctx: DdbExportContext & { delayedUntil?: number } = {
    deps: ww.deps,
    log: ww.deps.logger,
    report: async () => {},
    save: async (patch) => {
      await job.updateData({ ...job.data, ...patch });
    },
    isLastAttempt: () => true,
    delayUntil: async (at) => {
      ctx.delayedUntil = at;
      throw new DelayedError();
    },
    retryLater: async () => {
      throw new DelayedError();
    },
  };
  return { job, ctx };
}
