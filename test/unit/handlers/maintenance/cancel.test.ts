// Cancelling a window from the command or the Cancel button (handlers/maintenance/cancel.ts) against
// the real Redis and BullMQ queues: the cancellation queued first, the window cancelled, the notices
// still pending dropped; a window already closed is said so and nothing changes.
import { describe, expect, it } from 'vitest';
import { cancel } from '../../../../handlers/maintenance/cancel.js';
import { UserError } from '../../../../infra/errors.js';
import { getWindow } from '../../../../jobs/maintenance/store.js';
import { HOUR, T0, useBot } from './world.js';

const bot = useBot();

const store = () => ({ redis: bot.deps.redis, prefix: bot.deps.env.CHATOPS_REDIS_PREFIX });

describe('cancel', () => {
  it('queues the cancellation, cancels the window and drops its pending reminder, start and end', async () => {
    const w = await bot.window('Called off <@U0EVIL>');
    const q = bot.deps.queues.queue('maintenance');
    const pending = [`${w.id}-remind-600000`, `${w.id}-start`, `${w.id}-end-${w.end}`];
    for (const jobId of pending) await q.add('pending', {}, { jobId, delay: HOUR });
    const out = await cancel(w.id, bot.request(), bot.deps);
    expect(out).toEqual({
      outcome: 'succeeded',
      target: w.id,
      reply: {
        text: `:no_entry_sign: Cancelled \`${w.id}\` *Called off &lt;@U0EVIL&gt;*: 2027-01-15 13:00 JST – 2027-01-15 14:00 JST (1h). The cancellation is posted in its thread and mailed.`,
      },
    });
    expect((await getWindow(store(), w.id))?.state).toBe('cancelled');
    expect((await bot.job(`${w.id}-cancel`))?.data).toMatchObject({
      notice: 'cancel',
      due: T0,
      requester: 'U0OPS',
    });
    for (const jobId of pending) expect(await bot.job(jobId), jobId).toBeUndefined();
  });

  it('changes nothing for a window already cancelled or completed, and says so', async () => {
    const w = await bot.window('Twice');
    await cancel(w.id, bot.request(), bot.deps);
    expect(await cancel(w.id, bot.request('U0DAVE'), bot.deps)).toEqual({
      outcome: 'invalid',
      target: w.id,
      detail: 'already cancelled',
      reply: { text: `:information_source: \`${w.id}\` is already cancelled; nothing changed.` },
    });
    const done = await bot.window('Done', -2 * HOUR, -HOUR);
    await bot.deps.redis.hset(`${store().prefix}:mw:w:${done.id}`, 'state', 'completed');
    expect(await cancel(done.id, bot.request(), bot.deps)).toMatchObject({
      outcome: 'invalid',
      detail: 'already completed',
    });
    expect(await bot.job(`${done.id}-cancel`)).toBeUndefined();
  });

  it('refuses a window that does not exist', async () => {
    const err = await cancel('mw-dead', bot.request(), bot.deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(
      'there is no maintenance window `mw-dead` (see `/maintenance list`)',
    );
  });
});
