// One test file's keys on the real Redis: a connection and a fresh prefix; `cleanup()` deletes every
// key under the prefix and disconnects.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Deletes every key under `prefix`. */
export async function deleteUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
}

export function testRedis(name: string): { redis: Redis; prefix: string; cleanup(): Promise<void> } {
  const redis = new Redis(REDIS_URL);
  const prefix = `test-${name}-${randomUUID()}`;
  return {
    redis,
    prefix,
    async cleanup() {
      await deleteUnder(redis, prefix);
      redis.disconnect();
    },
  };
}
