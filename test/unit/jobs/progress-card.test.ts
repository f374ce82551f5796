import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CardStore,
  formatDuration,
  initCard,
  readCard,
  renderCard,
  setItem,
  slackSafe,
} from '../../../jobs/progress-card.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `test-progress-card-${randomUUID()}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('progress card', () => {
  const t0 = Date.UTC(2025, 0, 1, 10, 0, 0);
  const card = {
    meta: {
      title: '*DynamoDB export*',
      channel: 'U0CAROL',
      items: ['a12', 'b12', 'c12', 'd12'],
      requestId: 'r1',
    },
    items: new Map([
      [
        'a12',
        { state: 'finished' as const, since: t0, startedAt: t0, finishedAt: t0 + 754_000, detail: 'done' },
      ],
      ['b12', { state: 'running' as const, since: t0, startedAt: t0, detail: 'pipeline df-1: <@U1> `x`' }],
      ['c12', { state: 'failed' as const, since: t0, startedAt: t0, finishedAt: t0 + 5_000, detail: 'boom' }],
    ]),
  };

  it('shows every table with its state and elapsed time, queued ones too', () => {
    const { text, blocks } = renderCard(card, t0 + 3_723_000);
    expect(text).toBe('DynamoDB export: a12 finished, b12 running, c12 failed, d12 queued');
    const lines = JSON.stringify(blocks);
    expect(lines).toContain('`a12` *finished*: done _(after 12m 34s)_');
    expect(lines).toContain('_(1h 02m so far)_');
    expect(lines).toContain('`c12` *failed*: boom _(after 5s)_');
    expect(lines).toContain('`d12` *queued*');
  });

  it('makes AWS text inert: no mentions, no broken code spans', () => {
    expect(slackSafe('<@U1> & `x`')).toBe("&lt;@U1&gt; &amp; 'x'");
    expect(JSON.stringify(renderCard(card, t0).blocks)).not.toContain('<@U1>');
    expect(formatDuration(59_400)).toBe('59s');
  });
});

describe('progress card state', () => {
  it("stamps every change with the store's clock, not the machine's", async () => {
    let now = Date.UTC(2030, 5, 1, 12, 0, 0);
    const store: CardStore = { redis, prefix, clock: { now: () => now } };
    const meta = { title: '*t*', channel: 'U0CAROL', items: ['a12', 'b12'], requestId: 'r-clock' };
    await initCard(store, meta, 60);
    now += 1_000;
    await setItem(store, 'r-clock', 'a12', { state: 'running', startedAt: now });
    now += 754_000;
    await setItem(store, 'r-clock', 'a12', { state: 'finished', detail: 'done' });
    const card = await readCard(store, 'r-clock');
    expect(card?.items.get('b12')).toEqual({ state: 'queued', since: Date.UTC(2030, 5, 1, 12, 0, 0) });
    expect(card?.items.get('a12')).toMatchObject({
      state: 'finished',
      since: now,
      finishedAt: now,
      startedAt: now - 754_000,
    });
  });
});
