// /migration's arguments (pure): the subcommands and their times, checked against `now` in `zone`.
import { UserError } from '../../infra/errors.js';
import { parseDuration, parseStart, startWordCount } from '../../infra/times.js';

export const USAGE =
  '`/migration [status | check 1|2|5 | phase3 request <start> [<duration>] | rollback 3 | cutover <cron> [--force] | rollback 4 <cron>]`';

export type MigrationArgs =
  | { sub: 'status' }
  | { sub: 'check'; phase: 1 | 2 | 5 }
  | { sub: 'phase3'; start: number; durationMs?: number }
  | { sub: 'rollback3' }
  | { sub: 'cutover'; cron: string; force: boolean }
  | { sub: 'rollback4'; cron: string };

/**
 * Parses `/migration` arguments (times against `now` in `zone`). A phase-3 start is at most
 * `maxLeadDays` ahead (migration.maxLeadDays), and an offset beyond ±14:00 is refused.
 */
export function parseMigrationArgs(text: string, zone: string, now: number, maxLeadDays = 30): MigrationArgs {
  const words = text.split(/\s+/).filter(Boolean);
  const [sub = 'status', ...rest] = words;
  if (sub === 'status' && !rest.length) return { sub: 'status' };
  const phase = rest.length === 1 ? ([1, 2, 5] as const).find((p) => String(p) === rest[0]) : undefined;
  if (sub === 'check' && phase !== undefined) return { sub: 'check', phase };
  if (sub === 'check') throw new UserError('usage', 'check takes a phase: 1, 2 or 5');
  if (sub === 'phase3') {
    if (rest[0] !== 'request' || rest.length < 2)
      throw new UserError('usage', 'use `phase3 request <start> [<duration>]`');
    const times = rest.slice(1);
    const n = Math.max(1, startWordCount(times));
    const start = parseStart(times.slice(0, n).join(' '), zone, now, {
      maxLeadDays,
      leadSetting: 'migration.maxLeadDays',
    });
    if (times.length > n + 1)
      throw new UserError('usage', 'phase3 request takes a start and an optional duration');
    const d = times[n];
    return { sub: 'phase3', start, ...(d ? { durationMs: parseDuration(d) } : {}) };
  }
  if (sub === 'rollback' && rest[0] === '3' && rest.length === 1) return { sub: 'rollback3' };
  const cronName = (w: string | undefined) => {
    if (!w || !/^[\w.-]{1,64}$/.test(w))
      throw new UserError('usage', 'name the cron job, e.g. `ggh_contractstatus`');
    return w;
  };
  if (sub === 'rollback' && rest[0] === '4' && rest.length === 2)
    return { sub: 'rollback4', cron: cronName(rest[1]) };
  if (sub === 'rollback') throw new UserError('usage', 'use `rollback 3` or `rollback 4 <cron>`');
  if (sub === 'cutover') {
    const force = rest.includes('--force');
    const names = rest.filter((w) => w !== '--force');
    if (names.length !== 1) throw new UserError('usage', 'use `cutover <cron> [--force]`');
    return { sub: 'cutover', cron: cronName(names[0]), force };
  }
  throw new UserError('usage', `unknown subcommand "${sub.slice(0, 40).replace(/[<>&]/g, '?')}"`);
}
