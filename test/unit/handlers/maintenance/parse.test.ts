// /maintenance's arguments (handlers/maintenance/parse.ts): the subcommands, window ids, a schedule's
// start, duration and title and their bounds; a bad argument is quoted back escaped.
import { describe, expect, it } from 'vitest';
import { parseMaintenanceArgs, windowId } from '../../../../handlers/maintenance/parse.js';
import { UserError } from '../../../../infra/errors.js';

const ZONE = 'Asia/Tokyo';
const NOW = Date.UTC(2026, 11, 1, 0, 0);

describe('/maintenance arguments', () => {
  const refusal = (text: string, maxLeadDays = 365): UserError => {
    try {
      parseMaintenanceArgs(text, ZONE, NOW, maxLeadDays);
    } catch (err) {
      if (err instanceof UserError) return err;
      throw err;
    }
    throw new Error(`accepted: ${text}`);
  };

  it('quotes a bad argument back escaped', () => {
    for (const text of [
      'reboot<!channel>',
      'cancel <!here>',
      'schedule <!channel> 30m Title',
      'schedule +1h <@U0EVIL> Title',
    ]) {
      const message = refusal(text).message;
      expect(message).not.toMatch(/<!channel>|<!here>|<@U0EVIL>/);
      expect(message).toMatch(/&lt;/);
    }
  });

  it('refuses a start further ahead than maintenance.maxLeadDays, and says which setting', () => {
    expect(refusal('schedule 2027-12-10 10:00 1h Far', 365).message).toMatch(
      /more than 365 days ahead.*maintenance\.maxLeadDays/,
    );
    expect(refusal('schedule +11d 1h Soon', 10).message).toMatch(/more than 10 days ahead/);
    expect(parseMaintenanceArgs('schedule +9d 1h Soon', ZONE, NOW, 10)).toMatchObject({ sub: 'schedule' });
    expect(parseMaintenanceArgs('schedule 2027-11-30 10:00 1h Near', ZONE, NOW, 365)).toMatchObject({
      start: Date.UTC(2027, 10, 30, 1, 0),
    });
  });

  it('refuses offsets beyond ±14:00 and accepts those within', () => {
    expect(refusal('schedule 2026-12-06T02:00+15:00 1h Off').message).toMatch(/-14:00 to \+14:00/);
    expect(refusal('schedule 2026-12-06T02:00-14:30 1h Off').message).toMatch(/-14:00 to \+14:00/);
    expect(parseMaintenanceArgs('schedule 2026-12-06T02:00+14:00 1h Kiribati', ZONE, NOW, 365)).toMatchObject(
      {
        start: Date.UTC(2026, 11, 5, 12, 0),
      },
    );
    expect(parseMaintenanceArgs('schedule 2026-12-06T02:00-12:00 1h Baker', ZONE, NOW, 365)).toMatchObject({
      start: Date.UTC(2026, 11, 6, 14, 0),
    });
  });
});

describe('/maintenance subcommands', () => {
  const parse = (text: string) => parseMaintenanceArgs(text, ZONE, NOW, 365);

  it('lists by default, and parses cancel and extend with a window id', () => {
    expect(parse('')).toEqual({ sub: 'list' });
    expect(parse(' list ')).toEqual({ sub: 'list' });
    expect(parse('cancel mw-7f3a')).toEqual({ sub: 'cancel', id: 'mw-7f3a' });
    expect(parse('extend mw-7f3a12 30m')).toEqual({
      sub: 'extend',
      id: 'mw-7f3a12',
      durationMs: 30 * 60_000,
    });
  });

  it('schedules with the start in the zone, the duration, the title and the text as typed', () => {
    const text = 'schedule 2026-12-02 10:00  1h30m  EC2 cron host restart';
    expect(parse(text)).toEqual({
      sub: 'schedule',
      start: Date.UTC(2026, 11, 2, 1, 0),
      durationMs: 90 * 60_000,
      title: 'EC2 cron host restart',
      text,
    });
    expect(parse('schedule +15m 30m Now-ish')).toMatchObject({
      start: NOW + 15 * 60_000,
      durationMs: 30 * 60_000,
    });
  });

  it('says what is missing or wrong', () => {
    expect(() => parse('cancel')).toThrow(/name the window id/);
    expect(() => parse('cancel w-1')).toThrow(/"w-1" is not a window id like `mw-7f3a`/);
    expect(() => parse('extend mw-7f3a')).toThrow(/extend takes a window id and a duration/);
    expect(() => parse('schedule')).toThrow(/schedule needs a start, a duration and a title/);
    expect(() => parse('schedule +1h')).toThrow(/needs a duration after the start/);
    expect(() => parse('schedule +1h 30m')).toThrow(/needs a title after the duration/);
    expect(() => parse(`schedule +1h 30m ${'x'.repeat(151)}`)).toThrow(/longer than 150 characters/);
    expect(() => parse('list all')).toThrow(/unknown subcommand "list"/);
    expect(() => parse('reboot')).toThrow(UserError);
  });

  it('takes a window id from a button or a modal only when it is one', () => {
    expect(windowId('mw-0a1b')).toBe('mw-0a1b');
    expect(() => windowId(undefined)).toThrow(/name the window id/);
    expect(() => windowId('mw-0A1B')).toThrow(/is not a window id/);
  });
});
