import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../devkit/free-port.js';
import { ensureRedis } from '../../../devkit/redis-server.js';

async function ping(url: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

describe('ensureRedis', () => {
  it('reuses the Redis already listening on the default URL', async () => {
    const redis = await ensureRedis('redis://127.0.0.1:6379');
    try {
      expect(redis.started).toBe(false);
      expect(redis.url).toBe('redis://127.0.0.1:6379');
      expect(await ping(redis.url)).toBe('PONG');
    } finally {
      await redis.close();
    }
    // close() must not have stopped a server it did not start.
    expect(await ping('redis://127.0.0.1:6379')).toBe('PONG');
  });

  it('starts a private redis-server when nothing answers, and stops it on close', async () => {
    const deadUrl = `redis://127.0.0.1:${await freePort()}`;
    const redis = await ensureRedis(deadUrl);
    try {
      expect(redis.started).toBe(true);
      expect(redis.url).not.toBe(deadUrl);
      expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(await ping(redis.url)).toBe('PONG');
    } finally {
      await redis.close();
    }
    await expect(ping(redis.url)).rejects.toThrow();
  }, 30_000);

  it('explains how to install redis-server when nothing answers and it is missing', async () => {
    const deadUrl = `redis://:hunter2@127.0.0.1:${await freePort()}`;
    const savedPath = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const err: unknown = await ensureRedis(deadUrl).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      const message = (err as Error).message;
      expect(message).toMatch(/^Redis is not reachable at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
      expect(message).toContain('and redis-server is not installed: apt-get install redis-server');
      expect(message).not.toContain('hunter2');
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
