// What an AWS SDK error means for the bot: "no such entity", AWS not reached, throttling (retry), or a
// refusal (tell the user which call failed). Errors are the SDK's own: its exception classes, and a
// real call to a closed port.
import { GetUserCommand, IAMClient, IAMServiceException, NoSuchEntityException } from '@aws-sdk/client-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { awsErrorName, awsFailure, isNetworkError, isNotFound } from '../../../infra/aws-errors.js';
import { TransientError, UserError } from '../../../infra/errors.js';

const notFound = new NoSuchEntityException({
  message: 'The user with name bob cannot be found.',
  $metadata: { httpStatusCode: 404 },
});
const answered = (name: string, status: number) =>
  new IAMServiceException({
    name,
    $fault: 'client',
    message: `${name} said no`,
    $metadata: { httpStatusCode: status },
  });

let unreachable: Error;
beforeAll(async () => {
  const iam = new IAMClient({
    endpoint: 'http://127.0.0.1:1',
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  unreachable = await iam.send(new GetUserCommand({ UserName: 'bob' })).then(
    () => new Error('answered'),
    (e: Error) => e,
  );
  iam.destroy();
});

describe('reading SDK errors', () => {
  it('names an SDK error, and nothing else', () => {
    expect(awsErrorName(notFound)).toBe('NoSuchEntityException');
    expect(awsErrorName(answered('Throttling', 400))).toBe('Throttling');
    expect(awsErrorName(new Error('plain'))).toBeUndefined();
    expect(awsErrorName({ name: 'Throttling', $metadata: {} })).toBeUndefined();
  });

  it('knows "no such entity" under both of its names', () => {
    expect(isNotFound(notFound)).toBe(true);
    expect(isNotFound(answered('NoSuchEntity', 404))).toBe(true);
    expect(isNotFound(answered('AccessDenied', 403))).toBe(false);
    expect(isNotFound(new Error('NoSuchEntity'))).toBe(false);
  });

  it('tells AWS not being reached from an AWS answer', () => {
    expect(isNetworkError(unreachable)).toBe(true);
    const timeout = new Error('the request timed out');
    timeout.name = 'TimeoutError';
    expect(isNetworkError(timeout)).toBe(true);
    expect(isNetworkError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isNetworkError(answered('Throttling', 400))).toBe(false);
    expect(isNetworkError('ECONNREFUSED')).toBe(false);
  });
});

describe('awsFailure', () => {
  it('keeps AWS being unreachable retryable, naming the call', () => {
    const f = awsFailure(unreachable, 'GetUser bob in osio');
    expect(f).toBeInstanceOf(TransientError);
    expect((f as TransientError).code).toBe('aws_unreachable');
    expect(f.message).toMatch(
      /^could not reach AWS for GetUser bob in osio: .*ECONNREFUSED.* \(will retry\)$/,
    );
  });

  it('keeps throttling and AWS-side failures retryable', () => {
    for (const name of [
      'Throttling',
      'ThrottlingException',
      'RequestLimitExceeded',
      'ServiceUnavailableException',
      'InternalFailure',
    ]) {
      const f = awsFailure(answered(name, name === 'InternalFailure' ? 500 : 400), 'GetUser bob');
      expect(f, name).toBeInstanceOf(TransientError);
      expect((f as TransientError).code).toBe(`aws_${name}`);
      expect(f.message).toBe(`AWS refused GetUser bob: ${name}: ${name} said no (will retry)`);
    }
  });

  it('turns a refusal into a UserError saying which call AWS refused', () => {
    const f = awsFailure(answered('AccessDenied', 403), 'UpdateLoginProfile bob');
    expect(f).toBeInstanceOf(UserError);
    expect((f as UserError).code).toBe('aws_AccessDenied');
    expect(f.message).toBe('AWS refused UpdateLoginProfile bob: AccessDenied: AccessDenied said no');
  });

  it("passes an error that is not AWS's through, and wraps a thrown value that is no error", () => {
    const bug = new TypeError('undefined is not a function');
    expect(awsFailure(bug, 'x')).toBe(bug);
    expect(awsFailure('odd', 'x').message).toBe('odd');
  });
});
