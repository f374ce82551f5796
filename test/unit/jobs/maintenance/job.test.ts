// The maintenance processor (jobs/maintenance/job.ts) on a real BullMQ worker with a worker's real
// adapters (fake Slack, captured SMTP, real Redis): a notice job first writes what its command
// decided (job-first: the window, its follow-ups, an extension, a cancel), then posts; an edit
// re-renders the announcement. Posting in thread order: post.test.ts; mail: mail.test.ts.
import { describe, expect, it } from 'vitest';
import { MAINTENANCE_QUEUE, type NoticeData } from '../../../../jobs/maintenance/data.js';
import { maintenanceJob } from '../../../../jobs/maintenance/job.js';
import {
  createWindow,
  createWindowAs,
  editWindow,
  followUpsQueued,
  getWindow,
} from '../../../../jobs/maintenance/store.js';
import { announcedWindow, CHANNEL, newWindow, noticeData, storeOf, useWorker } from './world.js';

const w = useWorker();

const HOUR = 3_600_000;
const run = (d: NoticeData) => w.finish(MAINTENANCE_QUEUE, d);
const stateOf = (jobId: string) => w.deps.queues.queue(MAINTENANCE_QUEUE).getJobState(jobId);
const thread = (ts: string | undefined) => w.slack.messages(CHANNEL).filter((m) => m.thread_ts === ts);

/** Runs the announce job of `id` as `/maintenance schedule` queues it: carrying the window of `requestId`. */
async function announceAs(id: string, title: string, requestId: string) {
  const now = w.deps.clock.now();
  const window = newWindow(title, { start: now + HOUR, end: now + 2 * HOUR, createdAt: now, requestId });
  const job = await run({ ...noticeData(id, { notice: 'announce', due: now, window }), requestId });
  return { job, window };
}

describe('maintenanceJob', () => {
  it('an announcement stores the window its command did not, queues the reminder, start and end, and posts', async () => {
    const id = 'mw-a0010001';
    const { job, window } = await announceAs(id, 'Announce', 'req-a');
    expect(job.returnvalue).toMatchObject({ windowId: id, notice: 'announce', outcome: 'posted' });
    const stored = await getWindow(storeOf(w), id);
    expect(stored).toMatchObject({
      state: 'scheduled',
      channel: CHANNEL,
      title: 'Announce',
      requestId: 'req-a',
    });
    expect(w.slack.messages(CHANNEL).find((m) => m.ts === stored?.ts)?.text).toBe(
      '[MAINTENANCE] Announce: scheduled',
    );
    for (const jobId of [`${id}-remind-600000`, `${id}-start`, `${id}-end-${window.end}`])
      expect(await stateOf(jobId), jobId).toBe('delayed');
    expect(await followUpsQueued(storeOf(w), id)).toBe(true);
  });

  it('an announcement whose id another request took posts nothing', async () => {
    const id = 'mw-a0010002';
    await createWindowAs(storeOf(w), id, newWindow('Theirs', { requestId: 'req-theirs' }));
    const { job } = await announceAs(id, 'Mine', 'req-mine');
    expect(job.returnvalue).toEqual({
      windowId: id,
      notice: 'announce',
      outcome: 'skipped',
      why: 'another window has this id',
    });
    expect(w.slack.messages(CHANNEL).some((m) => m.text.includes('Mine'))).toBe(false);
    expect((await getWindow(storeOf(w), id))?.title).toBe('Theirs');
  });

  it('an extension whose command died moves the end itself, queues the new end notice and posts', async () => {
    const win = await announcedWindow(w, 'Extend', HOUR, 2 * HOUR);
    const to = win.end + 30 * 60_000;
    const job = await run(
      noticeData(win.id, { notice: 'extend', due: w.deps.clock.now(), end: to, from: win.end }),
    );
    expect(job.returnvalue).toMatchObject({ notice: `extend-${to}`, outcome: 'posted' });
    expect((await getWindow(storeOf(w), win.id))?.end).toBe(to);
    expect(await stateOf(`${win.id}-end-${to}`)).toBe('delayed');
    expect(thread(win.ts).map((m) => m.text)).toEqual([
      expect.stringMatching(/^:hourglass: Maintenance \*Extend\* is extended/),
    ]);
  });

  it('a cancellation whose command died cancels the window itself and posts it in the thread', async () => {
    const win = await announcedWindow(w, 'Cancel', HOUR, 2 * HOUR);
    const job = await run(noticeData(win.id, { notice: 'cancel', due: w.deps.clock.now() }));
    expect(job.returnvalue).toMatchObject({ notice: 'cancel', outcome: 'posted' });
    expect((await getWindow(storeOf(w), win.id))?.state).toBe('cancelled');
    expect(thread(win.ts).map((m) => m.text)).toEqual([':no_entry_sign: Maintenance *Cancel* is cancelled.']);
  });

  it('an edit re-renders the announcement once it is posted, and is skipped before', async () => {
    const early = await createWindow(storeOf(w), newWindow('Early'));
    expect(
      (await run(noticeData(early.id, { notice: 'edit', due: w.deps.clock.now() }))).returnvalue,
    ).toMatchObject({
      outcome: 'skipped',
      why: 'not announced yet (the announcement shows the new texts)',
    });
    const win = await announcedWindow(w, 'Edited', HOUR, 2 * HOUR);
    await editWindow(storeOf(w), win.id, { impact: 'New impact', purpose: 'p', rollback: 'r', contact: 'c' });
    const job = await run(noticeData(win.id, { notice: 'edit', due: w.deps.clock.now() }));
    expect(job.returnvalue).toEqual({ windowId: win.id, notice: 'edit', outcome: 'posted' });
    const card = w.slack.messages(CHANNEL).find((m) => m.ts === win.ts);
    expect(card?.edits).toBeGreaterThan(0);
    expect(JSON.stringify(card?.blocks)).toContain('New impact');
  });

  it('a notice of a window that no longer exists is skipped', async () => {
    const now = w.deps.clock.now();
    for (const notice of ['start', 'cancel'] as const) {
      const job = await run(noticeData('mw-dead0001', { notice, due: now }));
      expect(job.returnvalue).toEqual({
        windowId: 'mw-dead0001',
        notice,
        outcome: 'skipped',
        why: 'the window no longer exists',
      });
    }
  });

  it('names a job by its window and notice, and sums its result up for the audit', () => {
    expect(maintenanceJob.describe(noticeData('mw-7f3a', { notice: 'remind', lead: 600_000, due: 0 }))).toBe(
      'mw-7f3a remind-600000',
    );
    expect(
      maintenanceJob.describe(
        noticeData('mw-7f3a', { notice: 'mail', due: 0, mail: { notice: 'start', due: 0, lateMs: 0 } }),
      ),
    ).toBe('mw-7f3a mail-start');
    const summarize = maintenanceJob.summarize ?? (() => '');
    expect(summarize({ windowId: 'mw-7f3a', notice: 'start', outcome: 'posted', lateMs: 65_000 })).toBe(
      'posted, late by 65 s',
    );
    expect(summarize({ windowId: 'mw-7f3a', notice: 'start', outcome: 'posted', lateMs: 4_000 })).toBe(
      'posted',
    );
    expect(summarize({ windowId: 'mw-7f3a', notice: 'end', outcome: 'skipped', why: 'stale' })).toBe(
      'skipped (stale)',
    );
  });
});
