import { type Clock, systemClock } from './clock.js';
import type { Logger } from './logger.js';
import type { Redis } from './redis.js';

export type AuditOutcome =
  | 'requested'
  | 'denied'
  | 'invalid'
  | 'queued'
  | 'started'
  | 'succeeded'
  | 'failed'
  | 'not-queued';

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

/** Audit trail in a capped Redis stream (`key`), mirrored as a log line. */
export function createRedisAuditLog(
  redis: Redis,
  key: string,
  maxEntries: number,
  logger: Logger,
  clock: Clock = systemClock,
): AuditLog {
  return {
    async record(entry) {
      const at = new Date(clock.now()).toISOString();
      const fields: string[] = ['at', at];
      for (const [k, v] of Object.entries(entry)) if (v !== undefined) fields.push(k, String(v));
      logger.info({ audit: { at, ...entry } }, `audit ${entry.action} ${entry.outcome}`);
      await redis.xadd(key, 'MAXLEN', '~', String(maxEntries), '*', ...fields);
    },
    async recent(count) {
      const rows = await redis.xrevrange(key, '+', '-', 'COUNT', count);
      return rows.map(([id, flat]) => {
        const o: Record<string, string> = { id };
        for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i] as string] = flat[i + 1] as string;
        return o as unknown as AuditRecord;
      });
    },
  };
}
