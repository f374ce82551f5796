// The notice claims of jobs/maintenance/store.ts on the real Redis: thread order, in flight versus
// only being retried, takeover, skips, drops, and the job-first writes (extend, cancel) they rely on.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cancelWindow,
  claimNotice,
  createWindow,
  createWindowAs,
  extendWindow,
  getWindow,
  markDropped,
  markSent,
  type NoticeSpec,
  releaseClaim,
  renewClaim,
  setAnnouncement,
  type WindowStore,
} from '../../../../jobs/maintenance/store.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const s: WindowStore = { redis, prefix: `test-claims-${randomUUID()}` };
afterAll(async () => {
  const keys = await redis.keys(`${s.prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const T0 = 1_800_000_000_000;
const START = T0 + 60_000;
const END = T0 + 120_000;
const LEASE = 10_000;
const GRACE = 60_000;
const texts = { impact: 'i', purpose: 'p', rollback: 'r', contact: 'c' };
const spec = { title: 'Claims', start: START, end: END, createdBy: 'U0OPS', createdAt: T0, ...texts };

const announce: NoticeSpec = { notice: 'announce', due: T0 };
const remind: NoticeSpec = { notice: 'remind', lead: 30_000, due: START - 30_000 };
const start: NoticeSpec = { notice: 'start', due: START };
const end = (e = END): NoticeSpec => ({ notice: 'end', due: e, end: e });
const cancel = (at: number): NoticeSpec => ({ notice: 'cancel', due: at });

const claim = (id: string, n: NoticeSpec, now: number, token = 'A') =>
  claimNotice(s, id, n, now, { token, leaseMs: LEASE, graceMs: GRACE });

/** A window with its reminder registered, announced. */
async function announced() {
  const w = await createWindow(s, spec, [30_000]);
  const c = await claim(w.id, announce, T0);
  expect(c).toMatchObject({ status: 'post', key: 'announce', first: false, lookFirst: false });
  await setAnnouncement(s, w.id, 'C0MAINT', '1.000100');
  expect(await claim(w.id, announce, T0 + 1)).toEqual({ status: 'sent' });
  return w;
}

describe('notice claims', () => {
  it('registers the thread: announcement, reminders ahead, start, end, in order', async () => {
    const w = await createWindow(s, spec, [30_000, 7 * 86_400_000]);
    const stored = await getWindow(s, w.id);
    expect(stored?.notices.map((n) => n.notice)).toEqual(['announce', 'remind', 'start', 'end']);
    expect(stored?.notices[1]?.lead).toBe(30_000); // the 7-day lead was already past
  });

  it('waits while another notice of the window is in flight, and takes it over once its lease lapses', async () => {
    const w = await announced();
    expect(await claim(w.id, remind, START - 5_000, 'R')).toMatchObject({
      status: 'post',
      key: 'remind-30000',
    });
    expect(await claim(w.id, start, START, 'S')).toEqual({ status: 'wait' });
    // The poster keeps it in flight while it waits out a rate limit.
    expect(await renewClaim(s, w.id, 'remind-30000', 'R', START + 2 * LEASE)).toBe(true);
    expect(await claim(w.id, start, START + LEASE + 1, 'S')).toEqual({ status: 'wait' });
    // Its worker dies: past the lease the reminder is no longer relevant (started), so the start goes.
    expect(await claim(w.id, start, START + 2 * LEASE + 1, 'S')).toMatchObject({
      status: 'post',
      key: 'start',
      first: false,
    });
    expect((await getWindow(s, w.id))?.state).toBe('in-progress');
    // A renewal by the dead holder's token does not steal it back.
    expect(await renewClaim(s, w.id, 'start', 'R', START + 3 * LEASE)).toBe(false);
  });

  it('does not wait behind a notice that is only being retried: it posts that one first, keeping the order', async () => {
    const w = await announced();
    // The start was tried and failed (Slack down): released, it may be in the thread.
    expect(await claim(w.id, start, START, 'S')).toMatchObject({ status: 'post', key: 'start' });
    await releaseClaim(s, w.id, 'start', 'S');
    // The end falls due while the start waits for its next try: the end's job posts the start first.
    const first = await claim(w.id, end(), END, 'E');
    expect(first).toEqual({ status: 'post', key: 'start', spec: start, first: true, lookFirst: true });
    // Meanwhile the start's own job finds it in flight and waits.
    expect(await claim(w.id, start, END + 1, 'S')).toEqual({ status: 'wait' });
    await markSent(s, w.id, 'start', '1.000102');
    expect(await claim(w.id, end(), END + 2, 'E')).toMatchObject({
      status: 'post',
      key: `end-${END}`,
      first: false,
    });
    expect((await getWindow(s, w.id))?.state).toBe('completed');
    expect(await claim(w.id, start, END + 3, 'S')).toEqual({ status: 'sent' });
  });

  it('posts a never-tried announcement first when a later notice falls due before the announce job ran', async () => {
    const w = await createWindow(s, spec);
    expect(await claim(w.id, start, START, 'S')).toMatchObject({
      status: 'post',
      key: 'announce',
      first: true,
      lookFirst: false,
    });
  });

  it('after a cancel: only the cancellation (and a half-posted announcement) go out', async () => {
    const w = await announced();
    expect(await claim(w.id, start, START, 'S')).toMatchObject({ status: 'post', key: 'start' });
    await releaseClaim(s, w.id, 'start', 'S');
    expect(await cancelWindow(s, w.id, 'req-1', START + 1_000)).toEqual({
      found: 'in-progress',
      cancelled: true,
    });
    // The same request asking again (its job after its command) learns it was its own cancel.
    expect(await cancelWindow(s, w.id, 'req-1', START + 1_000)).toEqual({
      found: 'in-progress',
      cancelled: true,
    });
    expect(await cancelWindow(s, w.id, 'req-2', START + 2_000)).toEqual({
      found: 'cancelled',
      cancelled: false,
    });
    expect(await claim(w.id, start, START + 3_000, 'S')).toEqual({ status: 'skip', why: 'cancelled' });
    expect(await claim(w.id, cancel(START + 1_000), START + 3_000, 'C')).toMatchObject({
      status: 'post',
      key: 'cancel',
      first: false,
    });
    expect(await claim(w.id, end(), END, 'E')).toEqual({ status: 'skip', why: 'cancelled' });
  });

  it('a window cancelled before its announcement: nothing is posted', async () => {
    const w = await createWindow(s, spec);
    await cancelWindow(s, w.id, 'req-1', T0 + 1);
    expect(await claim(w.id, announce, T0 + 2)).toEqual({
      status: 'skip',
      why: 'cancelled before it was announced',
    });
    expect(await claim(w.id, cancel(T0 + 1), T0 + 2)).toEqual({
      status: 'skip',
      why: 'cancelled before it was announced',
    });
  });

  it('skips a reminder once the start is due and an end that was moved', async () => {
    const w = await announced();
    expect(await claim(w.id, remind, START)).toEqual({ status: 'skip', why: 'started' });
    expect(await claim(w.id, end(END + 1), END)).toEqual({ status: 'skip', why: 'stale' });
  });

  it('drops the start and the end once the window ended more than the grace ago, once', async () => {
    const w = await announced();
    const late = END + GRACE + 1;
    expect(await claim(w.id, start, late)).toMatchObject({ status: 'drop' });
    // Until the operators were told, it stays to be reported; then it is skipped.
    expect(await claim(w.id, start, late + 1)).toMatchObject({ status: 'drop' });
    await markDropped(s, w.id, 'start');
    expect(await claim(w.id, start, late + 2)).toEqual({ status: 'skip', why: 'dropped earlier' });
    // Within the grace the end still goes (and does not wait for the dropped start).
    const w2 = await announced();
    expect(await claim(w2.id, end(), END + GRACE)).toMatchObject({
      status: 'post',
      key: 'start',
      first: true,
    });
  });

  it('extend: moves the end and registers its notices once; the old end notice is stale', async () => {
    const w = await announced();
    const to = END + 30_000;
    expect(await extendWindow(s, w.id, { from: END, to, at: START + 5 })).toBe('applied');
    expect(await extendWindow(s, w.id, { from: END, to, at: START + 5 })).toBe('already');
    expect(await extendWindow(s, w.id, { from: END, to: to + 1, at: START + 6 })).toBe('stale');
    const stored = await getWindow(s, w.id);
    expect(stored?.end).toBe(to);
    expect(stored?.notices.map((n) => `${n.notice}-${n.end ?? ''}`)).toContain(`extend-${to}`);
    expect(await claim(w.id, end(), END)).toEqual({ status: 'skip', why: 'stale' });
    await cancelWindow(s, w.id, 'r', START + 7);
    expect(await extendWindow(s, w.id, { from: to, to: to + 5, at: START + 8 })).toBe('cancelled');
  });

  it('createWindowAs: the same request finds its window, another one is refused the id', async () => {
    const id = 'mw-abcd1234';
    const w = { ...spec, requestId: 'req-a' };
    expect(await createWindowAs(s, id, w)).toBe('created');
    expect(await createWindowAs(s, id, w)).toBe('exists');
    expect(await createWindowAs(s, id, { ...w, requestId: 'req-b' })).toBe('taken');
  });
});
