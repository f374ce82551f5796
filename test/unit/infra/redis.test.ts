// Connections to Redis: the bot's fail fast and the workers' wait forever, Cluster start-up nodes from
// REDIS_CLUSTER_NODES, and the readiness probe that answers within its time whether Redis is up or not.
import { createServer, type Server, type Socket } from 'node:net';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNodes, connectRedis, createRedis, redisAnswers, withTimeout } from '../../../infra/redis.js';
import { REDIS_URL } from '../../helpers/test-redis.js';

/** A TCP server that accepts connections and never answers: a Redis that hangs. */
let silent: Server;
let silentUrl: string;
const sockets: Socket[] = [];
beforeAll(async () => {
  silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentUrl = `redis://127.0.0.1:${(silent.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

describe('createRedis', () => {
  it('gives the bot a connection that fails fast, and a worker one that retries forever', async () => {
    const bot = createRedis(REDIS_URL, { name: 'unit-bot' });
    const worker = createRedis(REDIS_URL, { blocking: true });
    try {
      expect(bot.options.maxRetriesPerRequest).toBe(2);
      expect(worker.options.maxRetriesPerRequest).toBeNull();
      expect(await bot.ping()).toBe('PONG');
      expect(await bot.client('GETNAME')).toBe('unit-bot');
    } finally {
      bot.disconnect();
      worker.disconnect();
    }
  });
});

describe('clusterNodes', () => {
  it('reads host:port pairs, IPv6 in brackets, spaces and a trailing comma', () => {
    expect(clusterNodes(' 10.0.0.1:6379, cache.example.com:7000,[::1]:7001, ')).toEqual([
      { host: '10.0.0.1', port: 6379 },
      { host: 'cache.example.com', port: 7000 },
      { host: '::1', port: 7001 },
    ]);
  });
});

describe('connectRedis', () => {
  it('connects to REDIS_URL without cluster nodes, and builds a Cluster client with them', async () => {
    const single = connectRedis({ REDIS_URL });
    expect(single).not.toBeInstanceOf(Cluster);
    expect(await single.ping()).toBe('PONG');
    single.disconnect();
    const cluster = connectRedis({ REDIS_URL, REDIS_CLUSTER_NODES: '127.0.0.1:1' }, { blocking: true });
    expect(cluster).toBeInstanceOf(Cluster);
    cluster.disconnect();
  });
});

describe('redisAnswers', () => {
  it('is true for a Redis that answers PING', async () => {
    const redis = createRedis(REDIS_URL);
    expect(await redisAnswers(redis, 1_000)).toBe(true);
    redis.disconnect();
  });

  it('is false, within its time, for a Redis that does not answer', async () => {
    const redis = createRedis(silentUrl);
    const started = performance.now();
    expect(await redisAnswers(redis, 150)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
    redis.disconnect();
  });
});

describe('withTimeout', () => {
  it('passes a result through, and names what timed out', async () => {
    expect(await withTimeout(Promise.resolve(7), 50, 'x')).toBe(7);
    await expect(withTimeout(new Promise(() => {}), 20, 'the replay check')).rejects.toThrow(
      'the replay check timed out after 20 ms',
    );
    await expect(withTimeout(Promise.reject(new Error('refused')), 50, 'x')).rejects.toThrow('refused');
  });
});
