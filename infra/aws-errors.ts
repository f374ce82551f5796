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

// Errors of the connection itself (the SDK gives them $metadata after its own retries): AWS never
// answered, so nothing was refused and a later try may work.
const NETWORK =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|socket hang up/i;
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'NetworkingError', 'AbortError']);

/** True when AWS was not reached (a connection error or a timeout), as opposed to an AWS answer. */
export function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code ?? '';
  return NETWORK_NAMES.has(err.name) || NETWORK.test(code) || NETWORK.test(err.message);
}

/**
 * Turns an SDK error into a coded error whose text says which call failed; throttling and AWS being
 * unreachable stay retryable.
 */
export function awsFailure(err: unknown, what: string): Error {
  if (isNetworkError(err)) {
    return new TransientError(
      'aws_unreachable',
      `could not reach AWS for ${what}: ${(err as Error).message} (will retry)`,
    );
  }
  const name = awsErrorName(err);
  if (!name) return err instanceof Error ? err : new Error(String(err));
  const message = `AWS refused ${what}: ${name}: ${(err as Error).message}`;
  if (THROTTLING.has(name) || name.startsWith('ServiceUnavailable') || name === 'InternalFailure') {
    return new TransientError(`aws_${name}`, `${message} (will retry)`);
  }
  return new UserError(`aws_${name}`, message);
}
