// What a refusal looks like to a test: the UserError a call throws.
import { expect } from 'vitest';
import { UserError } from '../../infra/errors.js';

/** Runs `fn` and returns the UserError it throws, failing the test otherwise. */
export async function userErrorOf(fn: () => Promise<unknown>): Promise<UserError> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}
