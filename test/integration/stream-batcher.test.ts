import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedis, type Redis } from '../../infra/redis.js';
import { createStreamBatcher } from '../../infra/stream-batcher.js';

let redis: Redis;
const key = `batcher-${process.pid}:stream`;

beforeAll(() => {
  redis = createRedis(inject('redisUrl'));
});
afterAll(async () => {
  await redis.del(key);
  await redis.quit();
});

describe('stream batcher', () => {
  it('sends a lone entry at once, and holds entries that follow within the window for one batch', async () => {
    await redis.del(key);
    const pipelines: number[] = [];
    const counting = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop !== 'pipeline') return Reflect.get(target, prop, receiver);
        return (cmds: string[][]) => {
          pipelines.push(cmds.length);
          return target.pipeline(cmds);
        };
      },
    });
    const streams = createStreamBatcher(counting, { windowMs: 400 });
    const t0 = performance.now();
    await streams.xadd(key, ['*', 'n', '0']);
    // Idle batcher: no wait for the window.
    expect(performance.now() - t0).toBeLessThan(300);
    const more = [1, 2, 3].map((n) => streams.xadd(key, ['*', 'n', String(n)]));
    await new Promise((r) => setTimeout(r, 50));
    expect(await redis.xlen(key)).toBe(1);
    await Promise.all(more);
    expect(await redis.xlen(key)).toBe(4);
    expect(pipelines).toEqual([1, 3]);
  });

  it('rejects the entries of a batch Redis does not confirm in time, and flush still returns', async () => {
    await redis.del(key);
    const streams = createStreamBatcher(redis, { timeoutMs: 100 });
    await redis.client('PAUSE', 600, 'WRITE');
    const write = streams.xadd(key, ['*', 'n', 'late']);
    await expect(write).rejects.toThrow(/writing to Redis timed out after 100 ms/);
    await streams.flush();
    // The write was sent, so it lands once the pause is over.
    for (let i = 0; i < 50 && (await redis.xlen(key)) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await redis.xlen(key)).toBe(1);
  });
});
