// The audit trail in Redis streams: each entry stamped by the clock and mirrored as a log line; real
// entries and refusals (denials, bad input) in streams of their own, each capped, read back newest first.
import { afterAll, describe, expect, it } from 'vitest';
import { type AuditEntry, createRedisAuditLog } from '../../../infra/audit.js';
import { createLogger } from '../../../infra/logger.js';
import { testRedis } from '../../helpers/test-redis.js';

const { redis, prefix, cleanup } = testRedis('audit');
afterAll(cleanup);

const T0 = Date.UTC(2027, 0, 15, 9, 0, 0);

function auditLog(name: string, maxEntries = 1_000) {
  const lines: string[] = [];
  let now = T0;
  const logger = createLogger({ destination: { write: (s: string) => void lines.push(s) } });
  const log = createRedisAuditLog(redis, `${prefix}:${name}`, maxEntries, logger, { now: () => now++ });
  return { log, lines, key: `${prefix}:${name}` };
}

const entry = (n: number, outcome: AuditEntry['outcome'] = 'queued'): AuditEntry => ({
  requestId: `req-${n}`,
  user: 'U0ALICE',
  action: 'reset-password',
  outcome,
  target: `alice@osio-dev-${n}`,
});

describe('createRedisAuditLog', () => {
  it('stamps an entry with the clock, keeps its fields and writes its log line', async () => {
    const { log, lines } = auditLog('stamp');
    await log.record({ ...entry(1), detail: undefined });
    const [row] = await log.recent(10);
    expect(row).toMatchObject({ ...entry(1), at: new Date(T0).toISOString() });
    expect(row).not.toHaveProperty('detail');
    expect(row?.id).toMatch(/^\d+-\d+$/);
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line.msg).toBe('audit reset-password queued');
    expect(line.audit).toMatchObject({
      requestId: 'req-1',
      outcome: 'queued',
      at: new Date(T0).toISOString(),
    });
  });

  it('keeps denials and bad input apart from real entries, and reads both newest first', async () => {
    const { log, key } = auditLog('apart');
    await log.record(entry(1, 'queued'));
    await log.record(entry(2, 'denied'));
    await log.record(entry(3, 'succeeded'));
    await log.record(entry(4, 'invalid'));
    expect(await redis.xlen(key)).toBe(2);
    expect(await redis.xlen(`${key}:refused`)).toBe(2);
    // Both streams, ordered by stream id (time, then sequence), newest first.
    const all = await log.recent(10);
    expect(all.map((r) => r.requestId).sort()).toEqual(['req-1', 'req-2', 'req-3', 'req-4']);
    const order = all.map((r) => r.id.split('-').map(Number) as [number, number]);
    expect(order).toEqual([...order].sort(([am, as], [bm, bs]) => bm - am || bs - as));
    expect(await log.recent(3)).toEqual(all.slice(0, 3));
    expect((await log.recent(10, 'actions')).map((r) => r.outcome)).toEqual(['succeeded', 'queued']);
    expect((await log.recent(10, 'refusals')).map((r) => r.outcome)).toEqual(['invalid', 'denied']);
  });

  it('caps each stream, so a flood of refusals never pushes a real entry out', async () => {
    const { log, key } = auditLog('capped', 10);
    await log.record(entry(0, 'succeeded'));
    for (let i = 1; i <= 300; i++) await log.record(entry(i, 'denied'));
    // MAXLEN ~ trims whole nodes of the stream: the refusals stay near the cap, the real entry stays.
    expect(await redis.xlen(`${key}:refused`)).toBeLessThan(300);
    expect((await log.recent(5, 'actions')).map((r) => r.requestId)).toEqual(['req-0']);
  });
});
