// The worker heartbeat: a job scheduler's job (every minute, on whichever worker takes it) writes the
// time into one Redis key, and every process, bot or worker, exports that time at scrape time as
// `chatops_worker_heartbeat_timestamp_seconds`. A job that runs proves a worker takes jobs, which an
// "is the process up" check does not; and any bot's metrics show it, so "no worker is running" fires
// even when no worker is left to be scraped.
import type { Clock } from './clock.js';
import type { Redis } from './redis.js';

/** The heartbeat key under the deployment's prefix. */
export function heartbeatKey(prefix: string): string {
  return `${prefix}:worker:heartbeat`;
}

// KEYS[1] the heartbeat key, ARGV[1] now (epoch ms). Keeps the larger of the stored and the new
// time, so a slow worker finishing late cannot move it back. Returns 1.
const TOUCH = `local c = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`;

/** Records that a worker ran the heartbeat job now (epoch ms). Only ever moves forward. */
export async function touchHeartbeat(redis: Redis, prefix: string, clock: Clock): Promise<void> {
  await redis.eval(TOUCH, 1, heartbeatKey(prefix), String(clock.now()));
}

/** When a worker last ran the heartbeat job (epoch ms), or undefined if none ever did. */
export async function readHeartbeat(redis: Redis, prefix: string): Promise<number | undefined> {
  const v = await redis.get(heartbeatKey(prefix));
  const n = v === null ? Number.NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}
