// What both export engines share with AWS (jobs/ddb-export/aws.ts): which errors are worth another
// try, and the table's existence check, against moto with the worker's real clients.
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { TransientError, UserError } from '../../../../infra/errors.js';
import { awsError, call, describeTable } from '../../../../jobs/ddb-export/aws.js';
import { cfgOf, exportData, jobWithContext, TABLE, useDdbWorld } from './parts.js';

const world = useDdbWorld();

/** An error as the SDK throws it for an AWS answer with this status. */
const answered = (name: string, status: number) =>
  new DynamoDBServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `${name} (${status})`,
  });

describe('AWS errors', () => {
  it('are worth another try when AWS itself failed (5xx) or throttled, and not when it refused', () => {
    const internal = awsError(answered('InternalServerError', 500), 'DescribeExport');
    expect(internal).toBeInstanceOf(TransientError);
    expect(internal.message).toBe('AWS failed DescribeExport: InternalServerError (will retry)');
    expect(awsError(answered('ThrottlingException', 400), 'DescribeExport')).toBeInstanceOf(TransientError);
    const refused = awsError(answered('AccessDeniedException', 400), 'DescribeExport');
    expect(refused).toBeInstanceOf(UserError);
    expect(refused.message).toBe(
      'AWS refused DescribeExport: AccessDeniedException: AccessDeniedException (400)',
    );
  });

  it('are classified as a call awaits them, and a call that succeeds passes its answer through', async () => {
    expect(await call('X', Promise.resolve(42))).toBe(42);
    await expect(
      call('DescribeExport', Promise.reject(answered('InternalServerError', 503))),
    ).rejects.toThrow(TransientError);
  });
});

describe("the table's existence check", () => {
  it('gives the ARN of a table that exists, asked in the source account', async () => {
    const ww = world();
    const d = await exportData(ww);
    const { ctx } = await jobWithContext(ww, d);
    const arn = await describeTable(ctx, cfgOf(ww.config), d);
    expect(arn).toMatch(new RegExp(`^arn:aws:dynamodb:us-east-1:\\d{12}:table/${TABLE}$`));
  });

  it('says a table that does not exist does not, naming the account, and asks nothing else', async () => {
    const ww = world();
    const d = await exportData(ww, { table: 'no_such_table' });
    const { ctx } = await jobWithContext(ww, d);
    await expect(describeTable(ctx, cfgOf(ww.config), d)).rejects.toThrow(
      'table no_such_table does not exist in osio (386414299200, us-east-1): check the name',
    );
  });
});
