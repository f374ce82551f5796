// What /maintenance's handlers share (handlers/maintenance/core.ts): the bot's deps as the store and
// the operations take them, a window found by id or a refusal that points at the list, and a window's
// line in replies with its title escaped.
import { describe, expect, it } from 'vitest';
import {
  describeWindow,
  existingWindow,
  maintenanceDeps,
  wstore,
} from '../../../../handlers/maintenance/core.js';
import { UserError } from '../../../../infra/errors.js';
import { useBot } from './world.js';

const bot = useBot();

describe("the handlers' shared parts", () => {
  it("use the bot's Redis under its prefix", () => {
    const prefix = bot.deps.env.CHATOPS_REDIS_PREFIX;
    expect(wstore(bot.deps)).toEqual({ redis: bot.deps.redis, prefix });
    expect(maintenanceDeps(bot.deps)).toMatchObject({
      prefix,
      queues: bot.deps.queues,
      clock: bot.deps.clock,
    });
  });

  it('find a window by id, or refuse with where to look', async () => {
    const w = await bot.window('Found');
    expect(await existingWindow(bot.deps, w.id)).toEqual(w);
    const err = await existingWindow(bot.deps, 'mw-0000').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(
      'there is no maintenance window `mw-0000` (see `/maintenance list`)',
    );
  });

  it('describe a window in one line, its title escaped, in the zone', async () => {
    const w = await bot.window('Patch <!channel> & co', 0, 5_400_000);
    expect(describeWindow(w, 'Asia/Tokyo')).toBe(
      `\`${w.id}\` *Patch &lt;!channel&gt; &amp; co*: 2027-01-15 12:00 JST – 2027-01-15 13:30 JST (1h30m)`,
    );
  });
});
