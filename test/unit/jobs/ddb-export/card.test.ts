// A table's line on the command's progress card (jobs/ddb-export/card.ts), on the real Redis with the
// card in the requester's DM on the fake Slack.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { mark, store } from '../../../../jobs/ddb-export/card.js';
import { readCard } from '../../../../jobs/progress-card.js';
import { REDIS_URL } from '../../../helpers/test-redis.js';
import { exportData, jobWithContext, TABLE, useDdbWorld } from './parts.js';

const world = useDdbWorld();
const dm = () => world().slack.messages('D0OPS');

describe("a table's line on the progress card", () => {
  it('moves the table on and re-renders the one card, edited in place', async () => {
    const ww = world();
    const d = await exportData(ww, { startedAt: ww.deps.clock.now() });
    const { ctx } = await jobWithContext(ww, d);
    expect(store(ctx)).toEqual({ redis: ww.redis, prefix: ww.prefix, clock: ww.deps.clock });
    await mark(ctx, d, 'activating', 'checking the table');
    await mark(ctx, d, 'running', 'export IN_PROGRESS');
    const card = await readCard(store(ctx), d.requestId);
    expect(card?.items.get(TABLE)).toMatchObject({ state: 'running', detail: 'export IN_PROGRESS' });
    const [message, ...more] = dm().filter((m) => m.text.includes('DynamoDB export'));
    expect(more).toEqual([]);
    expect(message?.edits).toBe(1);
    expect(message?.text).toBe(`DynamoDB export: ${TABLE} running`);
    expect(JSON.stringify(message?.blocks)).toContain('export IN_PROGRESS');
  });

  it('never fails the export when Redis is away: it says so in the log', async () => {
    const ww = world();
    const d = await exportData(ww);
    const { ctx } = await jobWithContext(ww, d);
    const gone = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
    gone.disconnect();
    await expect(mark({ ...ctx, deps: { ...ctx.deps, redis: gone } }, d, 'running')).resolves.toBeUndefined();
    expect(ww.logs.some((l) => l.includes('could not update the progress card'))).toBe(true);
    expect((await readCard(store(ctx), d.requestId))?.items.get(TABLE)?.state).toBe('queued');
  });
});
