import type { Logger } from './logger.js';
import type { Redis } from './redis.js';
import type { StreamBatcher } from './stream-batcher.js';

export type AuditOutcome = 'requested' | 'denied' | 'invalid' | 'queued' | 'started' | 'succeeded' | 'failed';

export interface AuditEntry {
  requestId: string;
  user: string;
  action: string;
  outcome: AuditOutcome;
  target?: string;
  detail?: string;
}

export interface AuditRecord extends AuditEntry {
  id: string;
  at: string;
}

/** The audit trail: who asked for what, when, and how it ended. Never give it a secret. */
export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  recent(count: number): Promise<AuditRecord[]>;
}

/** Audit trail in a capped Redis stream, mirrored as a log line; appends go through `streams` when given. */
export function createRedisAuditLog(
  redis: Redis,
  key: string,
  maxEntries: number,
  logger: Logger,
  streams?: StreamBatcher,
): AuditLog {
  return {
    async record(entry) {
      const at = new Date().toISOString();
      const args = ['MAXLEN', '~', String(maxEntries), '*', 'at', at];
      for (const k in entry) {
        const v = entry[k as keyof AuditEntry];
        if (v !== undefined) args.push(k, v);
      }
      // `at` first: `{ ...entry, at }` gives every entry a hidden class of its own in Node 20 (scripts/build.mjs).
      logger.info({ audit: { at, ...entry } }, `audit ${entry.action} ${entry.outcome}`);
      if (streams) await streams.xadd(key, args);
      else await redis.xadd(key, ...(args as ['MAXLEN', '~', string, '*', ...string[]]));
    },
    async recent(count) {
      await streams?.flush(); // so a reader sees this process's latest entries
      const rows = await redis.xrevrange(key, '+', '-', 'COUNT', count);
      return rows.map(([id, flat]) => {
        const o: Record<string, string> = { id };
        for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i] as string] = flat[i + 1] as string;
        return o as unknown as AuditRecord;
      });
    },
  };
}
