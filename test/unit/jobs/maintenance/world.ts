// What the maintenance unit tests share: a window store on the real Redis under a fresh prefix (its
// keys deleted after the file), a window's times and texts, and the notices of its thread.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import type { WindowStore } from '../../../../jobs/maintenance/store.js';
import type { NewWindow, NoticeSpec } from '../../../../jobs/maintenance/window.js';

export const T0 = 1_800_000_000_000;
export const START = T0 + 60_000;
export const END = T0 + 120_000;
export const LEASE = 10_000;

/** A store of its own for this test file, on a connection closed after it. */
export function useStore(name: string): WindowStore & { redis: Redis } {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const s = { redis, prefix: `test-${name}-${randomUUID()}` };
  afterAll(async () => {
    const keys = await redis.keys(`${s.prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  return s;
}

export const TEXTS = { impact: 'i', purpose: 'p', rollback: 'r', contact: 'c' };

/** A window from START to END, created at T0 by U0OPS, with one-letter texts. */
export function newWindow(title: string, over: Partial<NewWindow> = {}): NewWindow {
  return { title, start: START, end: END, createdBy: 'U0OPS', createdAt: T0, ...TEXTS, ...over };
}

export const announce: NoticeSpec = { notice: 'announce', due: T0 };
/** The reminder of a window made with leads [30_000]. */
export const remind: NoticeSpec = { notice: 'remind', lead: 30_000, due: START - 30_000 };
export const start: NoticeSpec = { notice: 'start', due: START };
export const end = (e = END): NoticeSpec => ({ notice: 'end', due: e, end: e });
export const cancel = (at: number): NoticeSpec => ({ notice: 'cancel', due: at });
