// What both engines share with AWS: errors worth a retry, and the table's existence check.
import { awsErrorName, awsFailure } from '../../infra/aws-errors.js';
import { TransientError, UserError } from '../../infra/errors.js';
import type { DdbExportConfig, DdbExportContext, DdbExportData } from './data.js';

// Errors worth another try: throttling (awsFailure), and AWS's own 5xx answers.
export function awsError(err: unknown, what: string): Error {
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  if (awsErrorName(err) && status !== undefined && status >= 500) {
    return new TransientError(
      `aws_${awsErrorName(err)}`,
      `AWS failed ${what}: ${awsErrorName(err)} (will retry)`,
    );
  }
  return awsFailure(err, what);
}

/** Awaits one AWS call, its error classified by awsError. */
export async function call<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw awsError(err, what);
  }
}

/** The table's ARN; a table that does not exist is a UserError naming the account. */
export async function describeTable(
  ctx: DdbExportContext,
  cfg: DdbExportConfig,
  d: DdbExportData,
): Promise<string> {
  const ddb = await import('@aws-sdk/client-dynamodb');
  const client = ctx.deps.aws.client(ddb.DynamoDBClient, cfg.sourceAccount, d.requester);
  try {
    const out = await client.send(new ddb.DescribeTableCommand({ TableName: d.table }));
    return out.Table?.TableArn ?? '';
  } catch (err) {
    const name = awsErrorName(err);
    if (name === 'ResourceNotFoundException' || name === 'TableNotFoundException') {
      const a = ctx.deps.aws.account(cfg.sourceAccount);
      throw new UserError(
        'table_not_found',
        `table ${d.table} does not exist in ${cfg.sourceAccount} (${a.id}, ${a.region}): check the name`,
      );
    }
    throw awsError(err, `DescribeTable ${d.table}`);
  }
}
