// /maintenance list, extend and schedule (handlers/maintenance/command.ts) against the real Redis and
// BullMQ queues: what each answers, what it queues and what it refuses. Cancel: cancel.test.ts.
import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../../../bot/listeners.js';
import { maintenanceCommand, nextNotice } from '../../../../handlers/maintenance/command.js';
import type { MaintenanceArgs } from '../../../../handlers/maintenance/parse.js';
import { UserError } from '../../../../infra/errors.js';
import { cancelWindow, getWindow } from '../../../../jobs/maintenance/store.js';
import { HOUR, maintenanceBot, T0, useBot } from './world.js';

const bot = useBot();

const EXTRA = { channelId: 'C0OPS', triggerId: 't1' };
const run = (text: string, b = bot): Promise<Outcome> => {
  const req = b.request();
  return maintenanceCommand.execute(
    maintenanceCommand.parse(text, req, b.deps) as MaintenanceArgs,
    req,
    b.deps,
    EXTRA,
  );
};
const refusal = async (text: string): Promise<UserError> => {
  const err = await run(text).catch((e: unknown) => e);
  if (!(err instanceof UserError)) throw new Error(`not refused: ${text}`);
  return err;
};
const store = () => ({ redis: bot.deps.redis, prefix: bot.deps.env.CHATOPS_REDIS_PREFIX });

describe('/maintenance list', () => {
  it('lists the windows scheduled or in progress, each with its next notice; nothing else', async () => {
    const own = await maintenanceBot();
    try {
      expect((await run('list', own)).reply.text).toBe('No upcoming or active maintenance windows.');
      const soon = await own.window('Soon <!here>');
      const running = await own.window('Running', -HOUR, HOUR);
      await own.deps.redis.hset(
        `${own.deps.env.CHATOPS_REDIS_PREFIX}:mw:w:${running.id}`,
        'state',
        'in-progress',
      );
      const gone = await own.window('Gone');
      await cancelWindow({ redis: own.deps.redis, prefix: own.deps.env.CHATOPS_REDIS_PREFIX }, gone.id);
      const out = await run('', own);
      expect(out.outcome).toBe('succeeded');
      expect(out.reply.text.split('\n')).toEqual([
        '*Upcoming and active maintenance windows*',
        `• \`${running.id}\` *Running*: 2027-01-15 11:00 JST – 2027-01-15 13:00 JST (2h), in-progress; next: completion at 2027-01-15 13:00 JST`,
        `• \`${soon.id}\` *Soon &lt;!here&gt;*: 2027-01-15 13:00 JST – 2027-01-15 14:00 JST (1h), scheduled; next: reminder (10m before) at 2027-01-15 12:50 JST`,
      ]);
    } finally {
      await own.close();
    }
  });

  it('names the next notice still ahead, or none', () => {
    const w = { start: T0 + HOUR, end: T0 + 2 * HOUR, createdAt: T0 };
    const zone = 'Asia/Tokyo';
    const next = (now: number) => nextNotice(w as never, [600_000], now, zone);
    expect(next(T0)).toBe('next: reminder (10m before) at 2027-01-15 12:50 JST');
    expect(next(T0 + HOUR - 1)).toBe('next: start at 2027-01-15 13:00 JST');
    expect(next(T0 + 2 * HOUR)).toBe('no notice left');
  });
});

describe('/maintenance extend', () => {
  it('queues the extension, moves the end and drops the old end notice', async () => {
    const w = await bot.window('Longer');
    const q = bot.deps.queues.queue('maintenance');
    await q.add('end', {}, { jobId: `${w.id}-end-${w.end}`, delay: HOUR });
    const out = await run(`extend ${w.id} 30m`);
    const to = w.end + 30 * 60_000;
    expect(out).toEqual({
      outcome: 'succeeded',
      target: w.id,
      detail: `end ${new Date(to).toISOString()}`,
      reply: {
        text: `:hourglass: Extended \`${w.id}\`: it now ends 2027-01-15 14:30 JST. The completion notice moves with it.`,
      },
    });
    expect((await getWindow(store(), w.id))?.end).toBe(to);
    expect((await bot.job(`${w.id}-extend-${to}`))?.data).toMatchObject({
      notice: 'extend',
      from: w.end,
      end: to,
    });
    expect(await bot.job(`${w.id}-end-${w.end}`)).toBeUndefined();
  });

  it('refuses an unknown window, a window longer than 30 days, an end already past and a window that ended', async () => {
    expect((await refusal('extend mw-dead 30m')).message).toMatch(/there is no maintenance window `mw-dead`/);
    const w = await bot.window('Refused', -2 * HOUR, -HOUR);
    expect((await refusal(`extend ${w.id} 30d`)).message).toBe('a window cannot be longer than 30 days');
    expect((await refusal(`extend ${w.id} 30m`)).message).toBe(
      'the new end 2027-01-15 11:30 JST is already past',
    );
    const done = await bot.window('Done');
    await cancelWindow(store(), done.id);
    expect((await refusal(`extend ${done.id} 30m`)).message).toBe(
      `\`${done.id}\` is cancelled: it cannot be extended`,
    );
    expect(await bot.job(`${done.id}-extend-${done.end + 30 * 60_000}`)).toBeUndefined();
  });
});

describe('/maintenance schedule', () => {
  it('queues the announcement carrying the window and answers with where it goes', async () => {
    const out = await run('schedule 2027-01-16 10:00 90m Patch <!channel>');
    const id = out.target as string;
    expect(out).toEqual({
      outcome: 'queued',
      target: expect.stringMatching(/^mw-[0-9a-f]{4}$/),
      detail: '2027-01-16T01:00:00.000Z +1h30m',
      reply: {
        text: `:calendar: Scheduled \`${id}\` *Patch &lt;!channel&gt;*: 2027-01-16 10:00 JST – 2027-01-16 11:30 JST (1h30m). The announcement goes to <#C0MAINT>; reminders, start and completion follow in its thread.`,
      },
    });
    expect((await bot.job(`${id}-announce`))?.data).toMatchObject({
      notice: 'announce',
      window: { title: 'Patch <!channel>', start: Date.UTC(2027, 0, 16, 1, 0), createdBy: 'U0OPS' },
    });
    expect((await getWindow(store(), id))?.state).toBe('scheduled');
  });

  it('answers the same command again as a repeat and schedules nothing new', async () => {
    const first = await run('schedule +2h 1h Twice');
    const again = await run('schedule  +2h 1h   Twice');
    expect(again).toMatchObject({ outcome: 'invalid', target: first.target, detail: 'duplicate' });
    expect(again.reply.text).toMatch(
      new RegExp(`^:information_source: You just scheduled this: \`${first.target}\` \\*Twice\\*`),
    );
  });

  it('refuses when no maintenance channel is configured', async () => {
    const bare = await maintenanceBot({ channels: { alerts: 'C0ALERTS' } });
    try {
      const err = await run('schedule +1h 1h Nowhere', bare).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).message).toMatch(/add channels\.maintenance/);
    } finally {
      await bare.close();
    }
  });
});
