import { TransientError, UserError } from './errors.js';

/** The SDK error's name (`NoSuchEntity`, `Throttling`…), or undefined for non-AWS errors. */
export function awsErrorName(err: unknown): string | undefined {
  if (err && typeof err === 'object' && '$metadata' in err && err instanceof Error) return err.name;
  return undefined;
}

/** True for IAM's "no such entity" (named NoSuchEntity or NoSuchEntityException depending on the SDK version). */
export function isNotFound(err: unknown): boolean {
  const name = awsErrorName(err);
  return name === 'NoSuchEntity' || name === 'NoSuchEntityException';
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** Turns an SDK error into a coded error whose text says which call failed; throttling stays retryable. */
export function awsFailure(err: unknown, what: string): Error {
  const name = awsErrorName(err);
  if (!name) return err instanceof Error ? err : new Error(String(err));
  const message = `AWS refused ${what}: ${name}: ${(err as Error).message}`;
  if (THROTTLING.has(name) || name.startsWith('ServiceUnavailable') || name === 'InternalFailure') {
    return new TransientError(`aws_${name}`, `${message} (will retry)`);
  }
  return new UserError(`aws_${name}`, message);
}
