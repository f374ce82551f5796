// The mail of a posted notice (jobs/maintenance/mail.ts) on a real BullMQ worker with captured SMTP:
// queued by the post, sent to every address of maintenance.emailTo once, never again for the same
// notice; nothing queued when there is nobody to mail.
import { describe, expect, it } from 'vitest';
import { MAINTENANCE_QUEUE, type NoticeData } from '../../../../jobs/maintenance/data.js';
import { queueMail } from '../../../../jobs/maintenance/mail.js';
import { isMailed } from '../../../../jobs/maintenance/store.js';
import { testConfig } from '../../../helpers/config.js';
import { until } from '../../../helpers/wait.js';
import { announce, announcedWindow, MAIL_TO, noticeData, storeOf, useWorker } from './world.js';

const w = useWorker();

const HOUR = 3_600_000;
const mailsAbout = (title: string) => w.smtp.messages.filter((m) => m.subject === `[MAINTENANCE] ${title}`);
const mail = (id: string): NoticeData =>
  noticeData(id, { notice: 'mail', due: announce.due, mail: { ...announce, lateMs: 0 } });

describe("a notice's mail", () => {
  it('is sent to every address once its notice is posted, as plain text', async () => {
    const win = await announcedWindow(w, 'Mailed <b> & co', HOUR, 2 * HOUR);
    await until(
      'the announcement mailed to both',
      async () => mailsAbout(win.title).length === MAIL_TO.length,
    );
    expect(
      mailsAbout(win.title)
        .flatMap((m) => m.to)
        .sort(),
    ).toEqual([...MAIL_TO].sort());
    expect(mailsAbout(win.title)[0]?.text.replace(/\r\n/g, '\n')).toMatch(
      new RegExp(`^Announcement: Mailed <b> & co \\(${win.id}\\)\\n\\nTimeline: `),
    );
    expect(await isMailed(storeOf(w), win.id, 'announce')).toBe(true);
  });

  it('is not sent again by a second job of the same mail', async () => {
    const win = await announcedWindow(w, 'Once', HOUR, 2 * HOUR);
    await until('the announcement mailed', async () => mailsAbout('Once').length === MAIL_TO.length);
    const again = await w.finish(MAINTENANCE_QUEUE, mail(win.id));
    expect(again.returnvalue).toEqual({
      windowId: win.id,
      notice: 'mail-announce',
      outcome: 'skipped',
      why: 'already mailed',
    });
    expect(mailsAbout('Once')).toHaveLength(MAIL_TO.length);
  });

  it('of a window that no longer exists is skipped', async () => {
    const job = await w.finish(MAINTENANCE_QUEUE, mail('mw-dead0002'));
    expect(job.returnvalue).toMatchObject({ outcome: 'skipped', why: 'the window no longer exists' });
  });

  it('is not queued when maintenance.emailTo is empty', async () => {
    const ctx = { deps: { ...w.deps, config: testConfig() } };
    const by = { requestId: 'req-none', requester: 'U0OPS' };
    await queueMail(ctx, by, 'mw-0e0e', announce, 0);
    expect(await w.deps.queues.queue(MAINTENANCE_QUEUE).getJob('mw-0e0e-mail-announce')).toBeUndefined();
    await queueMail({ deps: w.deps }, by, 'mw-0e0f', announce, 0);
    expect(await w.deps.queues.queue(MAINTENANCE_QUEUE).getJob('mw-0e0f-mail-announce')).toBeDefined();
  });
});
