// A reset's state key on the real Redis: where it lives, how long it may live (the job's retry
// horizon, refreshed at every read and write), and that dropping it leaves nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ATTEMPT_ALLOWANCE_MS,
  dropState,
  readState,
  resetStateKey,
  retryHorizonMs,
  writeState,
} from '../../../../jobs/reset-password/state.js';
import { testRedis } from '../../../helpers/test-redis.js';

const { redis, prefix, cleanup } = testRedis('rp-state');
const ctx = { deps: { redis, prefix } };
afterAll(cleanup);

const job = (id: string, attemptsMade = 0) => ({
  id,
  attemptsMade,
  opts: { attempts: 3, backoff: { type: 'exponential', delay: 1_000 } },
});

describe('retryHorizonMs', () => {
  it('adds the backoff before each remaining retry and an allowance per remaining attempt plus one', () => {
    // Attempt 1 fails: 1 s; attempt 2 fails: 2 s; then three allowances and one for a stall.
    expect(retryHorizonMs(job('a'))).toBe(1_000 + 2_000 + 4 * ATTEMPT_ALLOWANCE_MS);
    expect(retryHorizonMs(job('a', 1))).toBe(2_000 + 3 * ATTEMPT_ALLOWANCE_MS);
    expect(retryHorizonMs(job('a', 3))).toBe(ATTEMPT_ALLOWANCE_MS);
  });

  it('reads a fixed backoff, a bare number, a custom strategy and none', () => {
    const horizon = (backoff: unknown) =>
      retryHorizonMs({ attemptsMade: 0, opts: { attempts: 3, backoff } as never });
    expect(horizon({ type: 'fixed', delay: 5_000 })).toBe(10_000 + 4 * ATTEMPT_ALLOWANCE_MS);
    expect(horizon(5_000)).toBe(10_000 + 4 * ATTEMPT_ALLOWANCE_MS);
    expect(horizon({ type: 'jitter-mine', delay: 10 })).toBe(120_000 + 4 * ATTEMPT_ALLOWANCE_MS);
    expect(horizon(undefined)).toBe(4 * ATTEMPT_ALLOWANCE_MS);
    expect(retryHorizonMs({ attemptsMade: 0, opts: {} })).toBe(2 * ATTEMPT_ALLOWANCE_MS);
  });
});

describe('the state key', () => {
  it('lives under the prefix, named by the job id', () => {
    expect(resetStateKey('chatops', '42')).toBe('chatops:rp-state:42');
  });

  it('keeps the nonce, then the ciphertext beside it, each write setting the TTL to the horizon', async () => {
    const j = job(randomUUID());
    const key = resetStateKey(prefix, j.id);
    await writeState(ctx, j, { nonce: 'n1' });
    await writeState(ctx, { ...j, attemptsMade: 2 }, { ciphertext: 'c1' });
    expect(await readState(ctx, { ...j, attemptsMade: 2 })).toEqual({ nonce: 'n1', ciphertext: 'c1' });
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(retryHorizonMs({ ...j, attemptsMade: 2 }) - 5_000);
    expect(ttl).toBeLessThanOrEqual(retryHorizonMs({ ...j, attemptsMade: 2 }));
  });

  it('refreshes the TTL on a read, and a read of no state creates no key', async () => {
    const j = job(randomUUID());
    const key = resetStateKey(prefix, j.id);
    expect(await readState(ctx, j)).toEqual({ nonce: undefined, ciphertext: undefined });
    expect(await redis.exists(key)).toBe(0);
    await writeState(ctx, j, { nonce: 'n2' });
    await redis.pexpire(key, 1_000);
    expect((await readState(ctx, j)).nonce).toBe('n2');
    expect(await redis.pttl(key)).toBeGreaterThan(ATTEMPT_ALLOWANCE_MS);
  });

  it('drops the nonce and the ciphertext together', async () => {
    const j = job(randomUUID());
    await writeState(ctx, j, { nonce: 'n3', ciphertext: 'c3' });
    await dropState(ctx, j);
    expect(await redis.exists(resetStateKey(prefix, j.id))).toBe(0);
    expect(await readState(ctx, j)).toEqual({ nonce: undefined, ciphertext: undefined });
  });
});
