import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { startManagedProcess } from './managed-process.js';

const READY_TIMEOUT_MS = 10_000;

export interface EnsuredRedis {
  /** URL of a Redis that answered PING. */
  readonly url: string;
  /** True when this call started a private redis-server (close() stops it). */
  readonly started: boolean;
  /** Stops the private server if one was started; a no-op for an existing Redis. */
  close(): Promise<void>;
}

/** Hides the password so URLs can go into error messages and logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** One PING with no retries, so an absent server is detected in about a second. */
async function pings(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    enableOfflineQueue: false,
  });
  // ioredis emits 'error' events besides rejecting; without a listener they are reported as unhandled.
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Returns a reachable Redis: the one at `url` if it answers PING, otherwise a private
 * throwaway `redis-server` (no persistence) on a free loopback port.
 */
export async function ensureRedis(
  url: string = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
): Promise<EnsuredRedis> {
  if (await pings(url)) return { url, started: false, close: async () => {} };

  const port = await freePort();
  const privateUrl = `redis://127.0.0.1:${port}`;
  const proc = await startManagedProcess({
    name: 'redis-server',
    bin: 'redis-server',
    args: ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1'],
    missingMessage: `Redis is not reachable at ${redactUrl(url)} and redis-server is not installed: apt-get install redis-server`,
    ready: () => pings(privateUrl),
    timeoutMs: READY_TIMEOUT_MS,
  });
  return { url: privateUrl, started: true, close: () => proc.close() };
}
