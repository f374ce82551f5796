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
  | 'not-queued'
  /** Redis did not confirm the work before the ack: it may or may not happen. */
  | 'unconfirmed';

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
  /**
   * The newest `count` entries, newest first: of both streams, or only the actions (everything but
   * denials and invalid input) or only the refusals.
   */
  recent(count: number, only?: 'actions' | 'refusals'): Promise<AuditRecord[]>;
}

/**
 * Outcomes anyone can produce without being allowed anything (a denial, bad input). They go to a
 * stream of their own with its own cap, so spamming them never pushes a real entry out.
 */
const REFUSALS: ReadonlySet<AuditOutcome> = new Set(['denied', 'invalid']);

/** Stream ids (`<ms>-<seq>`) of two streams, compared by time, then sequence. */
function newerFirst(a: AuditRecord, b: AuditRecord): number {
  const [am = 0, as = 0] = a.id.split('-').map(Number);
  const [bm = 0, bs = 0] = b.id.split('-').map(Number);
  return bm - am || bs - as;
}

/**
 * Audit trail in capped Redis streams, each entry mirrored as a log line: real entries in `key`,
 * denials and invalid input in `<key>:refused`, each capped at `maxEntries`.
 */
export function createRedisAuditLog(
  redis: Redis,
  key: string,
  maxEntries: number,
  logger: Logger,
  clock: Clock = systemClock,
): AuditLog {
  const refusedKey = `${key}:refused`;
  const read = async (stream: string, count: number): Promise<AuditRecord[]> => {
    const rows = await redis.xrevrange(stream, '+', '-', 'COUNT', count);
    return rows.map(([id, flat]) => {
      const o: Record<string, string> = { id };
      for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i] as string] = flat[i + 1] as string;
      return o as unknown as AuditRecord;
    });
  };
  return {
    async record(entry) {
      const at = new Date(clock.now()).toISOString();
      const fields: string[] = ['at', at];
      for (const [k, v] of Object.entries(entry)) if (v !== undefined) fields.push(k, String(v));
      logger.info({ audit: { at, ...entry } }, `audit ${entry.action} ${entry.outcome}`);
      const stream = REFUSALS.has(entry.outcome) ? refusedKey : key;
      await redis.xadd(stream, 'MAXLEN', '~', String(maxEntries), '*', ...fields);
    },
    async recent(count, only) {
      if (only === 'actions') return read(key, count);
      if (only === 'refusals') return read(refusedKey, count);
      const [real, refused] = await Promise.all([read(key, count), read(refusedKey, count)]);
      return [...real, ...refused].sort(newerFirst).slice(0, count);
    },
  };
}
