// /maintenance's arguments (pure): the subcommands, a window id, and a schedule's start, duration and
// title, checked against `now` in `zone`.
import { UserError } from '../../infra/errors.js';
import { escapeSlack } from '../../infra/slack-text.js';
import { parseDuration, parseStart, startWordCount } from '../../infra/times.js';
import { WINDOW_ID } from '../../jobs/maintenance/index.js';

export const USAGE =
  '`/maintenance schedule <start> <duration> <title…> | list | cancel <id> | extend <id> <duration>`';
const START_HELP =
  'a start is `YYYY-MM-DD HH:MM` in the configured time zone, an ISO time with an offset, or `+15m`';

export type MaintenanceArgs =
  | { sub: 'schedule'; start: number; durationMs: number; title: string; text: string }
  | { sub: 'list' }
  | { sub: 'cancel'; id: string }
  | { sub: 'extend'; id: string; durationMs: number };

/** A window id as typed (an argument, a button's value, a modal's metadata), or a UserError. */
export function windowId(word: string | undefined): string {
  if (!word)
    throw new UserError('usage', 'name the window id (e.g. `mw-7f3a`; `/maintenance list` shows them)');
  if (!WINDOW_ID.test(word))
    throw new UserError('usage', `"${escapeSlack(word.slice(0, 20))}" is not a window id like \`mw-7f3a\``);
  return word;
}

/**
 * Parses `/maintenance` arguments; times are checked against `now` in `zone` (a past start is refused,
 * and one more than `maxLeadDays` ahead).
 */
export function parseMaintenanceArgs(
  text: string,
  zone: string,
  now: number,
  maxLeadDays?: number,
): MaintenanceArgs {
  const [sub = 'list', ...rest] = text.split(/\s+/).filter(Boolean);
  if (sub === 'list' && rest.length === 0) return { sub: 'list' };
  if (sub === 'cancel' && rest.length <= 1) return { sub: 'cancel', id: windowId(rest[0]) };
  if (sub === 'extend') {
    if (rest.length !== 2)
      throw new UserError('usage', 'extend takes a window id and a duration, e.g. `extend mw-7f3a 30m`');
    return { sub: 'extend', id: windowId(rest[0]), durationMs: parseDuration(rest[1] as string) };
  }
  if (sub === 'schedule') {
    if (!rest.length)
      throw new UserError('usage', `schedule needs a start, a duration and a title; ${START_HELP}`);
    const n = Math.max(1, startWordCount(rest));
    const start = parseStart(rest.slice(0, n).join(' '), zone, now, {
      maxLeadDays,
      leadSetting: 'maintenance.maxLeadDays',
    });
    const duration = rest[n];
    if (!duration) throw new UserError('usage', 'schedule needs a duration after the start, e.g. `30m`');
    const durationMs = parseDuration(duration);
    const title = rest
      .slice(n + 1)
      .join(' ')
      .trim();
    if (!title)
      throw new UserError('usage', 'schedule needs a title after the duration, e.g. `EC2 cron host restart`');
    if (title.length > 150) throw new UserError('usage', 'the title is longer than 150 characters');
    return { sub: 'schedule', start, durationMs, title, text };
  }
  throw new UserError('usage', `unknown subcommand "${escapeSlack(sub.slice(0, 40))}"`);
}
