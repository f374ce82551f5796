// Schedule, extend and cancel as commands and other features call them (jobs/maintenance/operations.ts)
// on the real Redis and BullMQ queues: each queues its notice job first, then writes the window.
import { afterAll, describe, expect, it } from 'vitest';
import { MAINTENANCE_QUEUE, type NoticeData } from '../../../../jobs/maintenance/data.js';
import {
  cancelWithNotice,
  extendWithNotice,
  type MaintenanceDeps,
  scheduleDedupKey,
  scheduleWithNotice,
} from '../../../../jobs/maintenance/operations.js';
import { cancelWindow, createWindow, getWindow } from '../../../../jobs/maintenance/store.js';
import { createQueues } from '../../../../jobs/queues.js';
import { testConfig } from '../../../helpers/config.js';
import { END, newWindow, START, T0, useStore } from './world.js';

const s = useStore('mw-operations');
const config = testConfig({ maintenance: { remindBefore: ['30s'] } });
const clock = { now: () => T0 + 1_000 };
const queues = createQueues({ connection: s.redis, prefix: s.prefix, config, clock });
const deps: MaintenanceDeps = { ...s, queues, clock, config };
afterAll(() => queues.close());

const q = queues.queue(MAINTENANCE_QUEUE);
const by = { requestId: 'req-op', requester: 'U0OPS' };
const dataOf = async (jobId: string) => (await q.getJob(jobId))?.data as NoticeData | undefined;

describe('schedule', () => {
  it('queues the announcement carrying the window, then stores the window with its reminders', async () => {
    const w = { ...newWindow('Scheduled'), requestId: 'req-s1' };
    const done = await scheduleWithNotice(deps, w, { dedupKey: scheduleDedupKey('U0OPS', 'schedule a') });
    expect(done).toEqual({ status: 'scheduled', windowId: expect.stringMatching(/^mw-[0-9a-f]{4}$/) });
    expect(await dataOf(`${done.windowId}-announce`)).toEqual({
      requestId: 'req-s1',
      requester: 'U0OPS',
      windowId: done.windowId,
      notice: 'announce',
      due: T0,
      window: w,
    });
    const stored = await getWindow(s, done.windowId);
    expect(stored).toMatchObject({ state: 'scheduled', requestId: 'req-s1', title: 'Scheduled' });
    expect(stored?.notices.map((n) => n.notice)).toEqual(['announce', 'remind', 'start', 'end']);
  });

  it('answers the same command again within the dedup time with the first window, and stores no second one', async () => {
    const key = scheduleDedupKey('U0OPS', 'schedule  b ');
    const first = await scheduleWithNotice(
      deps,
      { ...newWindow('Once'), requestId: 'req-s2' },
      { dedupKey: key },
    );
    const again = await scheduleWithNotice(
      deps,
      { ...newWindow('Once'), requestId: 'req-s3' },
      { dedupKey: key },
    );
    expect(again).toEqual({ status: 'duplicate', windowId: first.windowId });
    const windows = await s.redis.keys(`${s.prefix}:mw:w:*`);
    const requests = await Promise.all(windows.map((k) => s.redis.hget(k, 'requestId')));
    expect(requests).not.toContain('req-s3');
  });

  it('keys a command by who typed what, whitespace aside', () => {
    expect(scheduleDedupKey('U1', ' schedule  +1h 1h  T ')).toBe(scheduleDedupKey('U1', 'schedule +1h 1h T'));
    expect(scheduleDedupKey('U1', 'schedule +1h 1h T')).not.toBe(scheduleDedupKey('U2', 'schedule +1h 1h T'));
    expect(scheduleDedupKey('U1', 'x')).toMatch(/^mw-schedule-[0-9a-f]{32}$/);
  });
});

describe('extend', () => {
  it('queues the extension carrying the move, then moves the end; the same move again is already made', async () => {
    const w = await createWindow(s, newWindow('Extended'));
    const to = END + 60_000;
    expect(await extendWithNotice(deps, w.id, { from: END, to }, by)).toBe('applied');
    expect(await dataOf(`${w.id}-extend-${to}`)).toEqual({
      ...by,
      windowId: w.id,
      notice: 'extend',
      due: T0 + 1_000,
      end: to,
      from: END,
    });
    expect((await getWindow(s, w.id))?.end).toBe(to);
    expect(await extendWithNotice(deps, w.id, { from: END, to }, by)).toBe('already');
  });

  it('answers what it found for a window that is not open (its job then skips itself)', async () => {
    const w = await createWindow(s, newWindow('Closed'));
    await cancelWindow(s, w.id);
    expect(await extendWithNotice(deps, w.id, { from: END, to: END + 1 }, by)).toBe('cancelled');
    expect((await getWindow(s, w.id))?.end).toBe(END);
  });
});

describe('cancel', () => {
  it('queues the cancellation, then cancels the window', async () => {
    const w = await createWindow(s, newWindow('Cancelled'));
    expect(await cancelWithNotice(deps, w.id, by)).toEqual({ found: 'scheduled', cancelled: true });
    expect(await dataOf(`${w.id}-cancel`)).toEqual({
      ...by,
      windowId: w.id,
      notice: 'cancel',
      due: T0 + 1_000,
    });
    expect(await getWindow(s, w.id)).toMatchObject({
      state: 'cancelled',
      notices: expect.arrayContaining([{ notice: 'cancel', due: T0 + 1_000 }]),
    });
  });

  it('queues nothing for a window that is gone or no longer open', async () => {
    expect(await cancelWithNotice(deps, 'mw-dead0003', by)).toEqual({ found: 'gone', cancelled: false });
    expect(await q.getJob('mw-dead0003-cancel')).toBeUndefined();
    const w = await createWindow(s, newWindow('Done', { start: START }));
    await s.redis.hset(`${s.prefix}:mw:w:${w.id}`, 'state', 'completed');
    expect(await cancelWithNotice(deps, w.id, by)).toEqual({ found: 'completed', cancelled: false });
    expect(await q.getJob(`${w.id}-cancel`)).toBeUndefined();
  });
});
