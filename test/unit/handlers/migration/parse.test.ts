// /migration's arguments (pure): each subcommand, the phase-3 start and duration against now in the
// configured zone, and a usage error for anything else that echoes nothing Slack would render.
import { describe, expect, it } from 'vitest';
import { parseMigrationArgs } from '../../../../handlers/migration/parse.js';
import { UserError } from '../../../../infra/errors.js';

const ZONE = 'Asia/Tokyo';
const NOW = Date.parse('2027-01-15T03:00:00Z'); // noon in Tokyo
const parse = (text: string, maxLeadDays?: number) => parseMigrationArgs(text, ZONE, NOW, maxLeadDays);

function usageError(text: string): string {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as UserError).message;
  }
  throw new Error(`"${text}" was accepted`);
}

describe('parseMigrationArgs', () => {
  it('reads no argument and "status" as the status', () => {
    expect(parse('')).toEqual({ sub: 'status' });
    expect(parse('  status ')).toEqual({ sub: 'status' });
    expect(usageError('status now')).toMatch(/unknown subcommand "status"/);
  });

  it('reads the checks of phases 1, 2 and 5 only', () => {
    expect(parse('check 1')).toEqual({ sub: 'check', phase: 1 });
    expect(parse('check 5')).toEqual({ sub: 'check', phase: 5 });
    for (const bad of ['check', 'check 3', 'check 1 2'])
      expect(usageError(bad)).toBe('check takes a phase: 1, 2 or 5');
  });

  it('reads a phase-3 request: a local start of one or two words, an offset, or +duration, and a duration', () => {
    expect(parse('phase3 request 2027-01-16 09:00')).toEqual({
      sub: 'phase3',
      start: Date.parse('2027-01-16T00:00:00Z'),
    });
    expect(parse('phase3 request 2027-01-16T09:00 45m')).toEqual({
      sub: 'phase3',
      start: Date.parse('2027-01-16T00:00:00Z'),
      durationMs: 45 * 60_000,
    });
    expect(parse('phase3 request +2h 1h30m')).toEqual({
      sub: 'phase3',
      start: NOW + 2 * 3_600_000,
      durationMs: 90 * 60_000,
    });
    expect(usageError('phase3')).toBe('use `phase3 request <start> [<duration>]`');
    expect(usageError('phase3 request +2h 1h extra')).toBe(
      'phase3 request takes a start and an optional duration',
    );
  });

  it('refuses a phase-3 start in the past or further ahead than migration.maxLeadDays', () => {
    expect(usageError('phase3 request 2027-01-14 09:00')).toBe(
      '2027-01-14 09:00 JST is in the past (it is now 2027-01-15 12:00 JST): give a later start',
    );
    expect(() => parse('phase3 request +3d', 2)).toThrow(
      /more than 2 days ahead: .*\(migration\.maxLeadDays\)/,
    );
    expect(parse('phase3 request +3d', 4)).toMatchObject({ sub: 'phase3' });
  });

  it('reads rollback 3, rollback 4 of a cron, and a cutover with or without --force', () => {
    expect(parse('rollback 3')).toEqual({ sub: 'rollback3' });
    expect(parse('rollback 4 ggh_contractstatus')).toEqual({ sub: 'rollback4', cron: 'ggh_contractstatus' });
    expect(parse('cutover ggh_contractstatus')).toEqual({
      sub: 'cutover',
      cron: 'ggh_contractstatus',
      force: false,
    });
    expect(parse('cutover --force ggh_contractstatus')).toEqual({
      sub: 'cutover',
      cron: 'ggh_contractstatus',
      force: true,
    });
    expect(usageError('rollback')).toBe('use `rollback 3` or `rollback 4 <cron>`');
    expect(usageError('rollback 4 a;rm')).toBe('name the cron job, e.g. `ggh_contractstatus`');
    expect(usageError('cutover a b')).toBe('use `cutover <cron> [--force]`');
  });

  it('names an unknown subcommand without anything Slack would render as a mention or link', () => {
    expect(usageError('<!channel>')).toBe('unknown subcommand "?!channel?"');
    expect(usageError('x'.repeat(100))).toBe(`unknown subcommand "${'x'.repeat(40)}"`);
  });
});
