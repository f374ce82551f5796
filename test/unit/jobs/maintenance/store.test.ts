// A window's record (jobs/maintenance/store.ts) on the real Redis: what is stored is what is read, the
// reads other features use, the plain writes; and the notice claims: thread order, in flight versus
// only being retried, takeover, skips, drops, and the job-first writes (extend, cancel) they rely on.
// Each outcome of each script on its own: scripts.test.ts.
import { describe, expect, it } from 'vitest';
import {
  activeWindows,
  cancelWindow,
  claimNotice,
  createWindow,
  createWindowAs,
  editWindow,
  extendWindow,
  followUpsQueued,
  getWindow,
  isMailed,
  markDropped,
  markFollowUpsQueued,
  markMailed,
  markSent,
  registerNotices,
  releaseClaim,
  renewClaim,
  setAnnouncement,
  windowExists,
  windowKey,
  windowsEndingAfter,
} from '../../../../jobs/maintenance/store.js';
import type { NoticeSpec } from '../../../../jobs/maintenance/window.js';
import { announce, cancel, END, end, LEASE, newWindow, remind, START, start, T0, useStore } from './world.js';

const s = useStore('mw-store');
/** A store of its own for the lists, which read every window of it. */
const listed = useStore('mw-store-list');
const GRACE = 60_000;
const spec = newWindow('Claims');

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

describe('the window record', () => {
  it('reads back what it stored, the thread plan in order', async () => {
    const w = await createWindow(s, { ...spec, requestId: 'req-r' }, [30_000]);
    expect(w.id).toMatch(/^mw-[0-9a-f]{4}$/);
    expect(await getWindow(s, w.id)).toEqual(w);
    expect(w.notices).toEqual([announce, remind, start, end()]);
  });

  it('reads no window for an id that is not one, or one that is not stored', async () => {
    await s.redis.hset(`${s.prefix}:mw:w:x`, { id: 'x', state: 'scheduled' });
    expect(await getWindow(s, 'x')).toBeUndefined();
    expect(await getWindow(s, 'mw-00000000')).toBeUndefined();
  });

  it('says whether an id, or any other key asked with it, is taken', async () => {
    const w = await createWindow(s, spec);
    expect(await windowExists(s, w.id)).toBe(true);
    expect(await windowExists(s, 'mw-00000001')).toBe(false);
    expect(await windowExists(s, 'mw-00000001', [windowKey(s, w.id)])).toBe(true);
  });

  it('lists the windows ending after a time, and those active at a time (not cancelled, not completed)', async () => {
    const own = listed;
    const at = START + 1;
    const past = await createWindow(own, newWindow('past', { start: T0, end: START }));
    const running = await createWindow(own, newWindow('running'));
    const cancelled = await createWindow(own, newWindow('cancelled'));
    await cancelWindow(own, cancelled.id);
    const completed = await createWindow(own, newWindow('completed'));
    await own.redis.hset(windowKey(own, completed.id), 'state', 'completed');
    const later = await createWindow(own, newWindow('later', { start: END, end: END + 60_000 }));
    const ending = (await windowsEndingAfter(own, at)).map((w) => w.title);
    expect(ending.sort()).toEqual(['cancelled', 'completed', 'later', 'running']);
    expect((await activeWindows(own, at)).map((w) => w.id)).toEqual([running.id]);
    expect((await windowsEndingAfter(own, T0)).map((w) => w.id)).toContain(past.id);
    expect((await activeWindows(own, END)).map((w) => w.id)).toEqual([later.id]);
  });

  it('registers the notices a window lacks, keeping those it has; none for a window not stored', async () => {
    const w = await createWindow(s, spec);
    await registerNotices(s, w.id, [{ ...start, due: START + 9 }, remind]);
    expect((await getWindow(s, w.id))?.notices).toEqual([announce, remind, start, end()]);
    await registerNotices(s, 'mw-00000002', [remind]);
    expect(await s.redis.exists(windowKey(s, 'mw-00000002'))).toBe(0);
  });

  it('keeps the announcement first recorded', async () => {
    const w = await createWindow(s, spec);
    await setAnnouncement(s, w.id, 'C0MAINT', '1.000100');
    await setAnnouncement(s, w.id, 'C0OTHER', '1.000200');
    expect(await getWindow(s, w.id)).toMatchObject({
      channel: 'C0MAINT',
      ts: '1.000100',
      sent: { announce: '1.000100' },
    });
  });

  it('remembers that the follow-ups are queued and which notices were mailed', async () => {
    const w = await createWindow(s, spec);
    expect(await followUpsQueued(s, w.id)).toBe(false);
    await markFollowUpsQueued(s, w.id);
    expect(await followUpsQueued(s, w.id)).toBe(true);
    expect(await isMailed(s, w.id, 'start')).toBe(false);
    await markMailed(s, w.id, 'start');
    expect(await isMailed(s, w.id, 'start')).toBe(true);
    expect(await isMailed(s, w.id, 'announce')).toBe(false);
  });

  it('edits the texts of a window that has not ended, and only those', async () => {
    const w = await createWindow(s, spec);
    const texts = { impact: 'I', purpose: 'P', rollback: 'R', contact: 'C' };
    expect(await editWindow(s, w.id, texts)).toBe('scheduled');
    expect(await getWindow(s, w.id)).toMatchObject({ ...texts, version: 2 });
    await cancelWindow(s, w.id);
    expect(await editWindow(s, w.id, { ...texts, impact: 'later' })).toBe('cancelled');
    expect((await getWindow(s, w.id))?.impact).toBe('I');
    expect(await editWindow(s, 'mw-00000003', texts)).toBe('gone');
  });
});
