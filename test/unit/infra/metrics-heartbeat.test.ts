// The worker heartbeat in Redis: one key under the prefix, only ever moved forward (a slow worker
// finishing late cannot move it back), read as epoch ms and exported by any process in seconds.
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../infra/metrics.js';
import { heartbeatKey, readHeartbeat, touchHeartbeat } from '../../../infra/metrics-heartbeat.js';
import { testRedis } from '../../helpers/test-redis.js';

const { redis, prefix, cleanup } = testRedis('heartbeat');
afterAll(cleanup);

/** One sample line's value. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the worker heartbeat', () => {
  it('keeps the worker heartbeat in Redis, only ever moving forward', async () => {
    const clock = { now: () => 1_800_000_000_000 };
    expect(await readHeartbeat(redis, prefix)).toBeUndefined();
    await touchHeartbeat(redis, prefix, clock);
    await touchHeartbeat(redis, prefix, { now: () => 1_700_000_000_000 });
    expect(await readHeartbeat(redis, prefix)).toBe(1_800_000_000_000);
    expect(await redis.get(heartbeatKey(prefix))).toBe('1800000000000');
    const m = createMetrics({
      defaultMetrics: false,
      sources: { heartbeat: () => readHeartbeat(redis, prefix) },
    });
    expect(value(await m.render(), 'chatops_worker_heartbeat_timestamp_seconds')).toBe(1_800_000_000);
  });

  it('reads a key that holds no number as no heartbeat', async () => {
    expect(heartbeatKey('chatops')).toBe('chatops:worker:heartbeat');
    await redis.set(heartbeatKey(`${prefix}:junk`), 'not-a-time');
    expect(await readHeartbeat(redis, `${prefix}:junk`)).toBeUndefined();
  });
});
