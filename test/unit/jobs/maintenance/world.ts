// What the maintenance unit tests share: a window store on the real Redis under a fresh prefix (its
// keys deleted after the file), a window's times and texts, the notices of its thread, and a worker's
// world for the processor's tests.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Clock } from '../../../../infra/clock.js';
import { MAINTENANCE_QUEUE, type NoticeData } from '../../../../jobs/maintenance/data.js';
import { maintenanceJob } from '../../../../jobs/maintenance/job.js';
import { createWindow, getWindow, type WindowStore } from '../../../../jobs/maintenance/store.js';
import type { NewWindow, NoticeSpec } from '../../../../jobs/maintenance/window.js';
import { testConfig } from '../../../helpers/config.js';
import { startWorkerWorld, type WorkerWorld } from '../../../helpers/worker-world.js';

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

export const CHANNEL = 'C0MAINT';
export const ALERTS = 'C0ALERTS';
export const MAIL_TO = ['ops@example.com', 'staff@example.com'];

/**
 * The maintenance worker's world: a worker's real adapters (fake Slack, captured SMTP, real Redis)
 * with the maintenance and alerts channels, two addresses to mail and a ten-minute reminder; its
 * clock the machine's unless given.
 */
export function maintenanceWorld(clock?: Clock): Promise<WorkerWorld> {
  return startWorkerWorld({
    config: testConfig({ maintenance: { emailTo: MAIL_TO, remindBefore: ['10m'] } }),
    ...(clock ? { clock } : {}),
  });
}

/**
 * This file's maintenance worker world, its processor running on a real BullMQ worker: started before
 * the file's tests and closed after them (the world is there once a test runs).
 */
export function useWorker(clock?: Clock): WorkerWorld {
  let started: WorkerWorld | undefined;
  beforeAll(async () => {
    started = await maintenanceWorld(clock);
    started.work(maintenanceJob);
  });
  afterAll(() => started?.close());
  return new Proxy({} as WorkerWorld, {
    get(_, prop) {
      if (!started) throw new Error('the maintenance world starts before the tests');
      return Reflect.get(started, prop);
    },
  });
}

/** The window store of a world. */
export const storeOf = (w: WorkerWorld): WindowStore => ({ redis: w.redis, prefix: w.prefix });

/** A notice job's data, as its command or the announce job queues it. */
export function noticeData(
  windowId: string,
  n: Omit<NoticeData, 'windowId' | 'requestId' | 'requester'>,
): NoticeData {
  return { requestId: `req-${randomUUID().slice(0, 8)}`, requester: 'U0OPS', windowId, ...n };
}

/** Stores a window around `now` (from `startIn` to `endIn` ms from it) and posts its announcement. */
export async function announcedWindow(w: WorkerWorld, title: string, startIn: number, endIn: number) {
  const now = w.deps.clock.now();
  const made = await createWindow(
    storeOf(w),
    newWindow(title, { start: now + startIn, end: now + endIn, createdAt: now }),
  );
  const job = await w.finish(MAINTENANCE_QUEUE, noticeData(made.id, { notice: 'announce', due: now }));
  expect(job.returnvalue).toMatchObject({ outcome: 'posted' });
  const stored = await getWindow(storeOf(w), made.id);
  if (!stored?.ts) throw new Error(`${made.id} was not announced`);
  return stored;
}
