// The native engine: DynamoDB's export to S3 (needs point-in-time recovery on the table).
import { createHash } from 'node:crypto';
import type { Job } from 'bullmq';
import { awsErrorName } from '../../infra/aws-errors.js';
import { TransientError, UserError } from '../../infra/errors.js';
import { awsError, call, describeTable } from './aws.js';
import { mark } from './card.js';
import type { DdbExportConfig, DdbExportContext, DdbExportData, RunStatus } from './data.js';

/** The native export's idempotency token: the same request and table always ask for the same export. */
export function exportClientToken(requestId: string, table: string): string {
  return createHash('sha256').update(`${requestId}/${table}`).digest('hex').slice(0, 40);
}

function pitrOff(cfg: DdbExportConfig, table: string): UserError {
  return new UserError(
    'pitr_disabled',
    `point-in-time recovery is off for table ${table} in ${cfg.sourceAccount}, and a native export needs it. ` +
      'Nothing was changed. Turn it on (DynamoDB console: the table, Backups, Point-in-time recovery, Edit; or ' +
      `aws dynamodb update-continuous-backups --table-name ${table} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true) ` +
      'and run the command again, or export without --native to use Data Pipeline.',
  );
}

/** Checks the table and its point-in-time recovery, then requests the export (idempotent per request and table). */
export async function startNativeExport(
  job: Job<DdbExportData>,
  ctx: DdbExportContext,
  cfg: DdbExportConfig,
): Promise<void> {
  const d = job.data;
  const ddb = await import('@aws-sdk/client-dynamodb');
  const client = ctx.deps.aws.client(ddb.DynamoDBClient, cfg.sourceAccount, d.requester);
  await mark(ctx, d, 'activating', 'checking the table and its point-in-time recovery');
  const tableArn = await describeTable(ctx, cfg, d);
  const backups = await call(
    'DescribeContinuousBackups',
    client.send(new ddb.DescribeContinuousBackupsCommand({ TableName: d.table })),
  );
  const pitr =
    backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus;
  if (pitr !== 'ENABLED') throw pitrOff(cfg, d.table);
  await mark(ctx, d, 'activating', 'requesting the export');
  const owner = ctx.deps.aws.account(cfg.targetAccount).id;
  let exportArn: string | undefined;
  try {
    const out = await client.send(
      new ddb.ExportTableToPointInTimeCommand({
        TableArn: tableArn,
        S3Bucket: cfg.bucket,
        S3BucketOwner: owner,
        S3Prefix: `backups/${d.table}`,
        ExportFormat: 'DYNAMODB_JSON',
        ClientToken: exportClientToken(d.requestId, d.table),
      }),
    );
    exportArn = out.ExportDescription?.ExportArn;
  } catch (err) {
    const name = awsErrorName(err);
    if (name === 'PointInTimeRecoveryUnavailableException') throw pitrOff(cfg, d.table);
    if (name === 'ExportConflictException') {
      throw new UserError('export_conflict', `an export of ${d.table} to the same place is already running`);
    }
    throw awsError(err, `ExportTableToPointInTime ${d.table}`);
  }
  if (!exportArn) throw new TransientError('no_export_arn', 'DynamoDB returned no export ARN');
  ctx.log.info({ exportArn, owner }, 'export requested');
  await ctx.save({ exportArn, phase: 'watch', runStartedAt: ctx.deps.clock.now(), polls: 0, pollErrors: 0 });
}

/** One status check of the export. */
export async function nativeStatus(
  ctx: DdbExportContext,
  cfg: DdbExportConfig,
  d: DdbExportData,
): Promise<RunStatus> {
  const ddb = await import('@aws-sdk/client-dynamodb');
  const client = ctx.deps.aws.client(ddb.DynamoDBClient, cfg.sourceAccount, d.requester);
  const out = await call(
    'DescribeExport',
    client.send(new ddb.DescribeExportCommand({ ExportArn: d.exportArn as string })),
  );
  const e = out.ExportDescription;
  if (e?.ExportStatus === 'COMPLETED') {
    return { outcome: 'finished', detail: `export finished (${e.ItemCount ?? '?'} items)` };
  }
  if (e?.ExportStatus === 'FAILED') {
    return {
      outcome: 'failed',
      detail: `the export failed: ${e.FailureCode ?? 'no code'}: ${e.FailureMessage ?? 'no message'}`,
    };
  }
  return { outcome: 'running', detail: `export ${e?.ExportStatus ?? 'IN_PROGRESS'}` };
}
