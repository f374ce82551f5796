// /maintenance on real Redis, real SMTP, signed requests and the fake Slack API, with short real
// windows (seconds) through the production code paths: delayed BullMQ jobs posting notices. The
// same through faults (a worker killed, Slack answering 429, Redis failing between two writes) is in
// maintenance-recovery.test.ts.
import { describe, expect } from 'vitest';
import { createSlackClient } from '../../devkit/index.js';
import type { Config } from '../../infra/config.js';
import { announcement, CHANNEL, maintOptions, postedAt, replies, schedule } from '../helpers/maintenance.js';
import { it, SIGNING_SECRET } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

describe('/maintenance notices', () => {
  it('posts announcement, reminder, start and completion once each, on time, with two workers; edits the announcement; mails each', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions({}, { bots: 1, workers: 2 }));
    const t0 = Date.now();
    const id = await schedule(s, '+25s 20s Demo window');
    const ann = await until('the announcement', () => announcement(s, id));
    expect(JSON.stringify(ann.blocks)).toMatch(/Scheduled: \*\[MAINTENANCE\] Demo window\*/);
    expect(JSON.stringify(ann.blocks)).toMatch(/<!date\^\d+\^/);
    await until(
      'the completion',
      () => (replies(s, ann.ts).some((m) => /is complete/.test(m.text)) ? true : undefined),
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1_500)); // anything doubled would arrive by now
    const thread = replies(s, ann.ts).map((m) => m.text);
    expect(thread).toHaveLength(3);
    expect(thread[0]).toMatch(/Reminder: \*Demo window\* starts/);
    expect(thread[1]).toMatch(/has started/);
    expect(thread[2]).toMatch(/is complete/);
    // Each within 2 s of its time: reminder at +15 s, start at +25 s, completion at +45 s.
    const [remind] = postedAt(s, /Reminder/);
    const [start] = postedAt(s, /has started/);
    const [end] = postedAt(s, /is complete/);
    expect(Math.abs((remind as number) - (t0 + 15_000))).toBeLessThan(2_000);
    expect(Math.abs((start as number) - (t0 + 25_000))).toBeLessThan(2_000);
    expect(Math.abs((end as number) - (t0 + 45_000))).toBeLessThan(2_000);
    // Start and completion are broadcast to the channel too.
    const broadcast = s.slack
      .callsTo('chat.postMessage')
      .filter((c) => c.args.reply_broadcast === true || c.args.reply_broadcast === 'true');
    expect(broadcast.map((c) => String(c.args.text).slice(0, 40))).toHaveLength(2);
    // The announcement went through every state.
    const edits = s.slack.callsTo('chat.update').map((c) => JSON.stringify(c.args.blocks));
    expect(edits.some((b) => b.includes('In progress'))).toBe(true);
    expect(JSON.stringify(announcement(s, id)?.blocks)).toMatch(/Completed/);
    const subjects = s.smtp.messages.map((m) => m.subject);
    expect(subjects).toEqual(Array(4).fill('[MAINTENANCE] Demo window'));
    expect(s.smtp.messages.map((m) => m.text.split(':')[0])).toEqual([
      'Announcement',
      'Reminder',
      'Started',
      'Completed',
    ]);
    // Both workers posted notices; each mail is a job of its own.
    const rows = (await s.auditRows()).filter(
      (r) => r.action === 'maintenance.notice' && r.outcome === 'succeeded',
    );
    expect(rows.filter((r) => !/ mail-/.test(r.target ?? ''))).toHaveLength(4);
    expect(rows.filter((r) => / mail-/.test(r.target ?? ''))).toHaveLength(4);
  }, 90_000);

  it('cancel between the reminder and the start: cancellation posted and mailed, nothing after, gone from list', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions());
    const id = await schedule(s, '+12s 10s Cancel test');
    const ann = await until('the announcement', () => announcement(s, id));
    await until('the reminder', () => replies(s, ann.ts).find((m) => /Reminder/.test(m.text)), 20_000);
    expect((await s.command('U0OPS', '/maintenance', 'list')).text).toContain(id);
    expect((await s.command('U0OPS', '/maintenance', `cancel ${id}`)).text).toMatch(/Cancelled/);
    await until('the cancellation', () => replies(s, ann.ts).find((m) => /cancelled/.test(m.text)));
    expect((await s.command('U0OPS', '/maintenance', 'list')).text).not.toContain(id);
    await new Promise((r) => setTimeout(r, 12_000)); // past the planned start
    expect(replies(s, ann.ts).map((m) => m.text.slice(0, 30))).toHaveLength(2);
    expect(JSON.stringify(announcement(s, id)?.blocks)).toMatch(/Cancelled/);
    expect(s.smtp.messages.map((m) => m.text.split(':')[0])).toEqual([
      'Announcement',
      'Reminder',
      'Cancelled',
    ]);
  }, 60_000);

  it('extend moves the completion notice', async ({ startStack }) => {
    const s = await startStack(maintOptions({ maintenance: { remindBefore: ['1d'] } }));
    const t0 = Date.now();
    const id = await schedule(s, '+2s 6s Extend test');
    const ann = await until('the announcement', () => announcement(s, id));
    expect((await s.command('U0OPS', '/maintenance', `extend ${id} 6s`)).text).toMatch(/Extended/);
    await until('the extension notice', () => replies(s, ann.ts).find((m) => /extended/.test(m.text)));
    await until('the completion', () => replies(s, ann.ts).find((m) => /is complete/.test(m.text)), 30_000);
    const [end] = postedAt(s, /is complete/);
    expect(Math.abs((end as number) - (t0 + 14_000))).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(replies(s, ann.ts).filter((m) => /is complete/.test(m.text))).toHaveLength(1);
  }, 60_000);
});

describe('/maintenance input', () => {
  it('refuses bad times, durations, titles and ids with the reason, and stores and posts nothing', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions());
    const cases: [string, RegExp][] = [
      ['schedule 2020-01-01 10:00 30m Past', /in the past/],
      ['schedule 2026-13-40 25:00 30m Bad date', /month|invalid|not a/i],
      ['schedule +1h 0m Zero', /more than zero/],
      ['schedule +1h -5m Negative', /not a duration|more than zero/],
      ['schedule +1h 31d Long', /30 days/],
      ['schedule +1h 30m', /needs a title/],
      ['cancel mw-ffff', /no maintenance window `mw-ffff`/],
      ['extend mw-ffff 10m', /no maintenance window/],
      ['reboot', /unknown subcommand/],
      ['schedule 2030-01-10 10:00 1h Far', /more than 365 days ahead/],
      ['schedule 2027-01-10T10:00+15:00 1h Offset', /-14:00 to \+14:00/],
    ];
    for (const [text, reason] of cases) {
      const res = await s.command('U0OPS', '/maintenance', text);
      expect(res.text, text).toMatch(reason);
    }
    expect((await s.command('U0ALICE', '/maintenance', 'schedule +1h 30m Not admin')).text).toMatch(
      /not allowed/,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(s.slack.callsTo('chat.postMessage')).toHaveLength(0);
    expect(await s.redis.keys(`${s.prefix}:mw:*`)).toEqual([]);
  });

  it('refuses a local time in a daylight-saving gap', async ({ startStack }) => {
    const stack = await startStack(maintOptions({ timezone: 'Europe/Berlin' }));
    const res = await stack.command('U0OPS', '/maintenance', 'schedule 2027-03-28 02:30 30m Gap');
    expect(res.text).toMatch(/does not exist in Europe\/Berlin/);
    expect(await stack.redis.keys(`${stack.prefix}:mw:*`)).toEqual([]);
  });
});

describe('announcement buttons (block_actions)', () => {
  it('refuses a click from a user who lost the role since the post; a double click cancels once; an unknown action is answered', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions());
    const id = await schedule(s, '+1h 30m Buttons');
    const ann = await until('the announcement', () => announcement(s, id));
    // A second bot whose config no longer lists U0OPS as admin: the role is read at the click.
    const demoted: Config = Object.freeze({ ...s.config, roles: { admin: ['U0CAROL'] } });
    const other = await s.startInstance('bot', { config: demoted });
    const click = (port: number | undefined, user: string, actionId = 'mw_cancel') =>
      createSlackClient({
        url: `http://127.0.0.1:${port}/slack/events`,
        signingSecret: SIGNING_SECRET,
      }).click({
        userId: user,
        actionId,
        value: id,
        channelId: CHANNEL,
        messageTs: ann.ts,
        responseUrl: s.slack.responseUrl(CHANNEL, user, ann.ts),
      });
    const answers = () => s.slack.callsTo('response_url').map((c) => String(c.args.text));
    expect((await click(other.port, 'U0OPS')).status).toBe(200);
    await until('the denial', () => answers().find((t) => /not allowed/.test(t)));
    expect((await s.command('U0OPS', '/maintenance', 'list')).text).toContain(id);
    // Double click by an admin: one cancellation.
    await Promise.all([click(s.instances[0]?.port, 'U0OPS'), click(s.instances[0]?.port, 'U0OPS')]);
    await until('two answers', () => (answers().length >= 3 ? true : undefined));
    expect(answers().filter((t) => /^:no_entry_sign: Cancelled/.test(t))).toHaveLength(1);
    expect(answers().filter((t) => /already cancelled; nothing changed/.test(t))).toHaveLength(1);
    await until('the cancellation notice', () => replies(s, ann.ts).find((m) => /cancelled/.test(m.text)));
    await new Promise((r) => setTimeout(r, 500));
    expect(replies(s, ann.ts)).toHaveLength(1);
    // A button this bot does not know.
    await click(s.instances[0]?.port, 'U0OPS', 'old_release_button');
    await until('the unknown-action answer', () => answers().find((t) => /not one this bot knows/.test(t)));
    const audit = await s.auditRows();
    expect(audit.filter((r) => r.action === 'maintenance').map((r) => r.outcome)).toEqual(
      expect.arrayContaining(['denied', 'succeeded', 'invalid']),
    );
    expect(audit.some((r) => r.action === 'click' && r.detail === 'unknown action')).toBe(true);
  });
});
