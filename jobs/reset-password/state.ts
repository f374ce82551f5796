// A reset's secrets-adjacent state in Redis (`<prefix>:rp-state:<jobId>`): the nonce the password is
// derived from, then its ciphertext once changed. Its TTL is the job's retry horizon, so the key
// never outlives the job by more than that, whatever way the job ends.
import type { Job } from 'bullmq';
import type { WorkerDeps } from '../common.js';
import type { ResetPasswordData } from './data.js';

/** The Redis hash with a reset's secrets-adjacent state: `nonce`, then `ciphertext` once changed. */
export function resetStateKey(prefix: string, jobId: string): string {
  return `${prefix}:rp-state:${jobId}`;
}

/** Time allowed for one attempt (key, IAM, gpg, mail, each with its own timeouts) and for a stall's re-run. */
export const ATTEMPT_ALLOWANCE_MS = 10 * 60_000;

/**
 * How long from now a reset can still be running: the backoff before each remaining retry plus an
 * allowance per remaining attempt and one more for a stalled attempt's re-run. The state key's TTL;
 * refreshed at every attempt, so it outlives the job by at most this and never by more.
 */
export function retryHorizonMs(job: Pick<Job, 'attemptsMade' | 'opts'>): number {
  const attempts = job.opts.attempts ?? 1;
  const made = job.attemptsMade;
  const b = job.opts.backoff;
  const backoff = typeof b === 'number' ? { type: 'fixed', delay: b } : b;
  let waits = 0;
  // The failure of attempt n (n = made + 1 … attempts - 1) waits before attempt n + 1.
  for (let n = made + 1; n < attempts; n++) {
    const delay = backoff?.delay ?? 0;
    if (backoff?.type === 'fixed') waits += delay;
    else if (backoff?.type === 'exponential') waits += Math.round(2 ** (n - 1) * delay);
    // A custom strategy is opaque here: allow a minute (or its delay) per retry.
    else if (backoff) waits += Math.max(delay, 60_000);
  }
  return waits + (attempts - made + 1) * ATTEMPT_ALLOWANCE_MS;
}

export interface ResetState {
  nonce?: string;
  ciphertext?: string;
}

type StateContext = { deps: Pick<WorkerDeps, 'redis' | 'prefix'> };
type StateJob = Pick<Job<ResetPasswordData>, 'id' | 'attemptsMade' | 'opts'>;

/** Reads the reset's state and refreshes its TTL to the job's retry horizon. */
export async function readState(ctx: StateContext, job: StateJob): Promise<ResetState> {
  const key = resetStateKey(ctx.deps.prefix, job.id as string);
  const [[, h]] = (await ctx.deps.redis.multi().hgetall(key).pexpire(key, retryHorizonMs(job)).exec()) as [
    [Error | null, Record<string, string>],
  ];
  return { nonce: h.nonce, ciphertext: h.ciphertext };
}

/** Merges `patch` into the reset's state and refreshes its TTL to the job's retry horizon. */
export async function writeState(ctx: StateContext, job: StateJob, patch: ResetState): Promise<void> {
  const key = resetStateKey(ctx.deps.prefix, job.id as string);
  await ctx.deps.redis
    .multi()
    .hset(key, patch as Record<string, string>)
    .pexpire(key, retryHorizonMs(job))
    .exec();
}

/** Deletes the reset's state: its nonce and ciphertext have done their job, or can no longer. */
export async function dropState(ctx: StateContext, job: Pick<StateJob, 'id'>): Promise<void> {
  await ctx.deps.redis.del(resetStateKey(ctx.deps.prefix, job.id as string));
}
