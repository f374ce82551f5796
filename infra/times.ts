import { DateTime, IANAZone } from 'luxon';
import { ConfigError, UserError } from './errors.js';
import { escapeSlack } from './slack-text.js';

/** The longest duration any command accepts. */
export const MAX_DURATION_MS = 30 * 86_400_000;
/** The widest UTC offset in use anywhere (Kiribati +14:00; the tz database goes to -12:00). */
const MAX_OFFSET_MINUTES = 14 * 60;

/** Bounds a feature puts on a start (§2.3). */
export interface StartLimits {
  /** A start further ahead than this many days (from `now`) is refused. */
  maxLeadDays?: number;
  /** The setting that sets it, named in the refusal (e.g. `maintenance.maxLeadDays`). */
  leadSetting?: string;
}

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const DURATION_EXAMPLES = 'e.g. 90s, 45m, 2h, 1h30m, 7d';

const LOCAL_START = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/i;
const OFFSET_START =
  /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;
const DATE_WORD = /^\d{4}-\d{2}-\d{2}$/;
const TIME_WORD = /^\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;

// CLDR gives a zone's abbreviation only in locales where it is commonly used (JST only in `ja`,
// CET only in en-GB, EST only in en-US…), so ask a few and keep the first that is letters only.
const ABBREVIATION_LOCALES = [
  'en-US',
  'en-GB',
  'en-IE',
  'en-IN',
  'en-AU',
  'en-SG',
  'en-HK',
  'en-ZA',
  'ja',
  'pt-BR',
];

/** Parses a duration like 90s, 45m, 2h, 1h30m, 7d to milliseconds; throws UserError. */
export function parseDuration(text: string): number {
  const t = text.trim().toLowerCase();
  if (!t) throw new UserError('bad_duration', `a duration is missing (${DURATION_EXAMPLES})`);
  const shownText = `\`${shown(t)}\``;
  const outOfRange = `it must be more than zero and at most 30 days (${DURATION_EXAMPLES})`;
  if (t.startsWith('-') && DURATION.test(t.slice(1))) {
    throw new UserError('bad_duration', `${shownText} is not a duration: ${outOfRange}`);
  }
  const m = DURATION.exec(t);
  if (!m) {
    throw new UserError(
      'bad_duration',
      `${shownText} is not a duration: use whole numbers with d, h, m, s in that order (${DURATION_EXAMPLES})`,
    );
  }
  const [, d, h, min, s] = m;
  const ms =
    Number(d ?? 0) * UNIT_MS.d +
    Number(h ?? 0) * UNIT_MS.h +
    Number(min ?? 0) * UNIT_MS.m +
    Number(s ?? 0) * UNIT_MS.s;
  if (ms <= 0) throw new UserError('bad_duration', `${shownText} is not a duration: ${outOfRange}`);
  if (ms > MAX_DURATION_MS) throw new UserError('bad_duration', `${shownText} is too long: ${outOfRange}`);
  return ms;
}

/**
 * Parses a start as §2.3: `YYYY-MM-DD HH:MM[:SS]` (space or `T`) in `zone`, an ISO 8601 time with an
 * offset (within ±14:00) or `Z`, or `+<duration>` from now. `now` is epoch ms (from the caller's Clock).
 * Returns epoch ms; throws UserError for bad syntax, impossible dates, daylight-saving gaps, starts not
 * after `now` and, with `limits.maxLeadDays`, starts further ahead than that. Error messages quote
 * what was typed escaped for Slack.
 */
export function parseStart(text: string, zone: string, now: number, limits: StartLimits = {}): number {
  requireZone(zone);
  const t = text.trim().replace(/\s+/g, ' ');
  const accepted = `use YYYY-MM-DD HH:MM (in ${zone}), an ISO time with an offset like 2026-12-06T02:00+09:00, or +<duration> from now like +15m`;
  if (!t) throw new UserError('bad_time', `a start time is missing: ${accepted}`);

  let at: number;
  if (t.startsWith('+')) {
    try {
      at = now + parseDuration(t.slice(1));
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      throw new UserError('bad_time', `${err.message}; a start of +<duration> counts from now, e.g. +15m`);
    }
  } else if (LOCAL_START.test(t)) {
    at = parseLocal(t, zone, accepted);
  } else if (OFFSET_START.test(t)) {
    const dt = DateTime.fromISO(t.replace(' ', 'T').toUpperCase(), { setZone: true });
    if (!dt.isValid) throw new UserError('bad_time', `\`${shown(t)}\` is not a real time: ${explain(dt)}`);
    if (Math.abs(dt.offset) > MAX_OFFSET_MINUTES) {
      throw new UserError(
        'bad_time',
        `\`${shown(t)}\` has the offset ${dt.toFormat('ZZ')}: offsets go from -14:00 to +14:00`,
      );
    }
    at = dt.toMillis();
  } else if (DATE_WORD.test(t)) {
    throw new UserError('bad_time', `\`${shown(t)}\` has no time of day: add one, like ${t} 09:00`);
  } else {
    throw new UserError('bad_time', `\`${shown(t)}\` is not a start time: ${accepted}`);
  }

  if (at <= now) {
    throw new UserError(
      'bad_time',
      `${formatLocal(at, zone)} is in the past (it is now ${formatLocal(now, zone)}): give a later start`,
    );
  }
  const { maxLeadDays, leadSetting } = limits;
  if (maxLeadDays !== undefined && at - now > maxLeadDays * UNIT_MS.d) {
    throw new UserError(
      'bad_time',
      `${formatLocal(at, zone)} is more than ${maxLeadDays} days ahead: give a start within ${maxLeadDays} days${leadSetting ? ` (${leadSetting})` : ''}`,
    );
  }
  return at;
}

/**
 * How many leading words of `words` the start takes (2 for `YYYY-MM-DD HH:MM` with a space, else 1; 0 when
 * there are no words), so a command parser can split `<start> <duration> <title…>`.
 */
export function startWordCount(words: string[]): number {
  const [first, second] = words;
  if (first === undefined) return 0;
  return second !== undefined && DATE_WORD.test(first) && TIME_WORD.test(second) ? 2 : 1;
}

/** `2026-12-06 02:00 JST` (the zone's abbreviation; where luxon has only an offset like GMT+9 use that). */
export function formatLocal(at: number, zone: string): string {
  requireZone(zone);
  const dt = DateTime.fromMillis(at, { zone, locale: 'en-US', numberingSystem: 'latn' });
  return `${dt.toFormat('yyyy-MM-dd HH:mm')} ${abbreviation(dt)}`;
}

/** Slack text: `<!date^1765000000^{date_short_pretty} {time}|2026-12-06 02:00 JST>` so each reader sees their own time, with the configured-zone text as fallback. */
export function slackDate(at: number, zone: string): string {
  return `<!date^${Math.floor(at / 1000)}^{date_short_pretty} {time}|${formatLocal(at, zone)}>`;
}

/** A short human duration: `1h30m`, `45m`, `90s` → `1m30s`, `7d`. Rounds to whole seconds. */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`;
  let rest = Math.round(ms / UNIT_MS.s) * UNIT_MS.s;
  let out = '';
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || '0s';
}

/**
 * True when `zone` is an IANA time zone luxon knows. Like Intl underneath, it ignores case
 * (`asia/tokyo`) and accepts ICU's legacy ids (`JST`); both work everywhere in this module.
 */
export function isValidZone(zone: string): boolean {
  // luxon builds an Intl.DateTimeFormat per check: remember the zones that passed (a handful per process).
  if (validZones.has(zone)) return true;
  const valid = IANAZone.isValidZone(zone);
  if (valid) validZones.add(zone);
  return valid;
}

const validZones = new Set<string>();
/** Abbreviations by zone, offset and year: each lookup formats in up to ten locales. */
const abbreviations = new Map<string, string>();

function parseLocal(text: string, zone: string, accepted: string): number {
  const [, year, month, day, hour, minute, second] = LOCAL_START.exec(text) ?? [];
  const wanted = {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second ?? 0),
  };
  // luxon reads 24:00 as the next midnight; a user typing it more likely made a mistake.
  if (wanted.hour > 23) {
    throw new UserError(
      'bad_time',
      `\`${shown(text)}\` is not a real time: hours go from 00 to 23; ${accepted}`,
    );
  }
  const dt = DateTime.fromObject(wanted, { zone });
  if (!dt.isValid) throw new UserError('bad_time', `\`${shown(text)}\` is not a real time: ${explain(dt)}`);
  // In a spring-forward gap luxon moves the time forward instead of failing: compare the wall clock.
  const kept = (['year', 'month', 'day', 'hour', 'minute', 'second'] as const).every(
    (u) => dt[u] === wanted[u],
  );
  if (!kept) {
    throw new UserError(
      'bad_time',
      `${year}-${month}-${day} ${hour}:${minute}${second ? `:${second}` : ''} does not exist in ${zone} (the clocks skip it for daylight saving); ` +
        `did you mean ${dt.toFormat('yyyy-MM-dd HH:mm')}?`,
    );
  }
  // In an autumn overlap luxon picks an offset from the real current date (its guess starts from
  // Settings.now()), so choose explicitly: the first occurrence, as Temporal's 'compatible' does.
  return Math.min(...dt.getPossibleOffsets().map((c) => c.toMillis()));
}

function abbreviation(dt: DateTime): string {
  const key = `${dt.zoneName}|${dt.offset}|${dt.year}`;
  let name = abbreviations.get(key);
  if (name === undefined) {
    name = ABBREVIATION_LOCALES.map((locale) => dt.setLocale(locale).offsetNameShort).find(
      (n): n is string => !!n && /^[A-Z]{2,5}$/.test(n),
    );
    name ??= dt.offsetNameShort ?? dt.toFormat('ZZ');
    if (abbreviations.size < 10_000) abbreviations.set(key, name);
  }
  return name;
}

/** luxon's reason without its developer wording ("you specified 13 (of type number) as a month…"). */
function explain(dt: DateTime): string {
  return (dt.invalidExplanation ?? dt.invalidReason ?? 'invalid date').replace(/ \(of type \w+\)/, '');
}

function requireZone(zone: string): void {
  if (!isValidZone(zone))
    throw new ConfigError([`timezone: "${zone}" is not an IANA time zone (e.g. Asia/Tokyo)`]);
}

/** What the user typed, quoted back in an error: cut short and escaped for Slack. */
function shown(text: string): string {
  return escapeSlack(text.slice(0, 40));
}
