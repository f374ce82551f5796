// Posting a notice in its window's thread (jobs/maintenance/post.ts) on a real BullMQ worker with the
// fake Slack: the post goes in the announcement's thread and the announcement is edited to the new
// state; an earlier notice that is due and not posted goes first; a notice posted is not posted
// again; one that waits for another in flight looks again; one too late is dropped and the
// operators told in the alerts channel. The clock is the machine's, moved ahead where a test says.
import { describe, expect, it } from 'vitest';
import { MAINTENANCE_QUEUE, type NoticeData } from '../../../../jobs/maintenance/data.js';
import { createWindow, getWindow, windowKey } from '../../../../jobs/maintenance/store.js';
import { until } from '../../../helpers/wait.js';
import { ALERTS, announcedWindow, CHANNEL, newWindow, noticeData, storeOf, useWorker } from './world.js';

let ahead = 0;
const w = useWorker({ now: () => Date.now() + ahead });

const HOUR = 3_600_000;
const run = (d: NoticeData) => w.finish(MAINTENANCE_QUEUE, d);
const thread = (ts: string | undefined) => w.slack.messages(CHANNEL).filter((m) => m.thread_ts === ts);
const start = (id: string, due: number) => noticeData(id, { notice: 'start', due });

describe('posting a notice', () => {
  it('posts in the thread, broadcast, edits the announcement to its new state, then records the post', async () => {
    const win = await announcedWindow(w, 'Started', 5 * 60_000, HOUR);
    const job = await run(start(win.id, win.start));
    expect(job.returnvalue).toMatchObject({ windowId: win.id, notice: 'start', outcome: 'posted' });
    const [post] = thread(win.ts);
    expect(post?.text).toMatch(/^:construction: Maintenance \*Started\* has started\. Planned end <!date\^/);
    const call = w.slack.callsTo('chat.postMessage').find((c) => c.args.thread_ts === win.ts);
    expect(String(call?.args.reply_broadcast)).toBe('true');
    expect(w.slack.messages(CHANNEL).find((m) => m.ts === win.ts)?.text).toBe(
      '[MAINTENANCE] Started: in-progress',
    );
    expect(await getWindow(storeOf(w), win.id)).toMatchObject({
      state: 'in-progress',
      sent: { start: post?.ts },
    });
  });

  it('posts nothing twice: a second job of a posted notice finds it posted', async () => {
    const win = await announcedWindow(w, 'Twice', 5 * 60_000, HOUR);
    await run(start(win.id, win.start));
    const again = await run(start(win.id, win.start));
    expect(again.returnvalue).toMatchObject({ outcome: 'posted', why: 'already posted' });
    expect(thread(win.ts)).toHaveLength(1);
  });

  it('posts an announcement whose job has not run before a later notice, as the root of its thread', async () => {
    const now = w.deps.clock.now();
    const made = await createWindow(
      storeOf(w),
      newWindow('Rootless', { start: now, end: now + HOUR, createdAt: now }),
    );
    const job = await run(start(made.id, made.start));
    expect(job.returnvalue).toMatchObject({ notice: 'start', outcome: 'posted' });
    const win = await getWindow(storeOf(w), made.id);
    expect(w.slack.messages(CHANNEL).find((m) => m.ts === win?.ts)?.text).toBe(
      '[MAINTENANCE] Rootless: in-progress',
    );
    expect(thread(win?.ts).map((m) => m.text)).toEqual([expect.stringMatching(/has started/)]);
    expect(w.logs.some((l) => l.includes('posted an earlier notice first'))).toBe(true);
  });

  it('looks again while another notice of the window is in flight, and posts once it is not', async () => {
    const win = await announcedWindow(w, 'Waiting', HOUR, 2 * HOUR);
    const key = windowKey(storeOf(w), win.id);
    await w.redis.hset(key, 'sent:remind-600000', `fly:${w.deps.clock.now() + HOUR}:another-poster`);
    const q = w.deps.queues.queue(MAINTENANCE_QUEUE);
    const added = await q.add('test', start(win.id, win.start));
    const id = added.id as string;
    await until('the start to wait for the reminder', async () => (await q.getJobState(id)) === 'delayed');
    expect(thread(win.ts)).toHaveLength(0);
    await w.redis.hset(key, 'sent:remind-600000', '1.000001');
    await until('the start to be posted', async () => (await q.getJobState(id)) === 'completed');
    expect(thread(win.ts).map((m) => m.text)).toEqual([
      expect.stringMatching(/^:construction: Maintenance \*Waiting\* has started/),
    ]);
  });

  it('drops a notice once the window ended more than the grace ago: logged and told in the alerts channel, once', async () => {
    const win = await announcedWindow(w, 'Missed', HOUR, 2 * HOUR);
    ahead = 4 * HOUR;
    try {
      const job = await run(start(win.id, win.start));
      const why = 'the window ended more than the grace time ago';
      expect(job.returnvalue).toEqual({ windowId: win.id, notice: 'start', outcome: 'dropped', why });
      const alert = w.slack.messages(ALERTS).filter((m) => m.text.includes(win.id));
      expect(alert.map((m) => m.text)).toEqual([
        expect.stringMatching(
          /^:warning: The start notice of maintenance \*Missed\* .* was dropped without being posted/,
        ),
      ]);
      expect(w.logs.some((l) => l.includes('maintenance notice dropped') && l.includes(win.id))).toBe(true);
      expect((await getWindow(storeOf(w), win.id))?.sent.start).toBe('dropped');
      const again = await run(start(win.id, win.start));
      expect(again.returnvalue).toMatchObject({ outcome: 'skipped', why: 'dropped earlier' });
      expect(w.slack.messages(ALERTS).filter((m) => m.text.includes(win.id))).toHaveLength(1);
      expect(thread(win.ts)).toHaveLength(0);
    } finally {
      ahead = 0;
    }
  });
});
