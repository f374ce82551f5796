import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type { Redis };

/**
 * A Redis connection. `blocking` connections (BullMQ workers) must retry forever; the bot's
 * connections fail fast so a Slack ack is never held hostage by a Redis outage.
 */
export function createRedis(url: string, opts: { blocking?: boolean; name?: string } = {}): Redis {
  const options: RedisOptions = {
    connectionName: opts.name,
    maxRetriesPerRequest: opts.blocking ? null : 2,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  };
  return new Redis(url, options);
}

/** `host:port,host:port` of REDIS_CLUSTER_NODES as ioredis Cluster start-up nodes. */
export function clusterNodes(spec: string): { host: string; port: number }[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((hp) => {
      const i = hp.lastIndexOf(':');
      return { host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hp.slice(i + 1)) };
    });
}

/**
 * The connection every part of the bot uses: an ioredis Cluster when REDIS_CLUSTER_NODES is set
 * (ElastiCache in cluster mode), one Redis at REDIS_URL otherwise. The Cluster client has the same
 * command interface and BullMQ takes either, so callers see one type.
 */
export function connectRedis(
  env: { REDIS_URL: string; REDIS_CLUSTER_NODES?: string },
  opts: { blocking?: boolean; name?: string } = {},
): Redis {
  if (!env.REDIS_CLUSTER_NODES) return createRedis(env.REDIS_URL, opts);
  const cluster = new Cluster(clusterNodes(env.REDIS_CLUSTER_NODES), {
    enableOfflineQueue: true,
    clusterRetryStrategy: (times) => Math.min(times * 200, 5_000),
    redisOptions: {
      connectionName: opts.name,
      maxRetriesPerRequest: opts.blocking ? null : 2,
      connectTimeout: 5_000,
    },
  });
  // biome-ignore lint/suspicious/noExplicitAny: Cluster and Redis share the command interface the bot uses
  return cluster as any as Redis;
}

/** True when Redis answers PING within `timeoutMs`. */
export async function redisAnswers(redis: Redis, timeoutMs = 1_000): Promise<boolean> {
  try {
    const pong = await withTimeout(redis.ping(), timeoutMs, 'redis ping');
    return pong === 'PONG';
  } catch {
    return false;
  }
}

/** Rejects with a clear error when `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A Lua script as ioredis `defineCommand` takes it: how many of its arguments are keys, and its text. */
export interface LuaScript {
  keys: number;
  lua: string;
}

/**
 * Runs the scripts of one set by name. The first call on a connection registers the whole set there
 * with ioredis `defineCommand` (EVALSHA, with EVAL when Redis does not know the script yet). The names
 * become commands of the connection, so each set names its scripts with its own prefix (`mig…`, `mw…`).
 */
export function scriptRunner<N extends string>(
  scripts: Record<N, LuaScript>,
): (redis: Redis, name: N, keys: string[], args: (string | number)[]) => Promise<unknown> {
  const defined = new WeakSet<object>();
  return async (redis, name, keys, args) => {
    if (!defined.has(redis)) {
      for (const [n, s] of Object.entries<LuaScript>(scripts))
        redis.defineCommand(n, { numberOfKeys: s.keys, lua: s.lua });
      defined.add(redis);
    }
    const { keys: count } = scripts[name];
    if (keys.length !== count) throw new Error(`${name} takes ${count} keys`);
    const command: unknown = Reflect.get(redis, name);
    if (typeof command !== 'function') throw new Error(`script ${name} is not defined on this connection`);
    return Reflect.apply(command, redis, [...keys, ...args]);
  };
}
