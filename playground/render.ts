// Block Kit and mrkdwn as readable terminal text: what a person would see in the Slack client.

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export type Tone = 'bold' | 'dim' | 'italic' | 'strike' | 'code' | 'green' | 'red' | 'yellow' | 'cyan';

const ANSI: Record<Tone, [string, string]> = {
  bold: ['\x1b[1m', '\x1b[22m'],
  dim: ['\x1b[2m', '\x1b[22m'],
  italic: ['\x1b[3m', '\x1b[23m'],
  strike: ['\x1b[9m', '\x1b[29m'],
  code: ['\x1b[36m', '\x1b[39m'],
  green: ['\x1b[32m', '\x1b[39m'],
  red: ['\x1b[31m', '\x1b[39m'],
  yellow: ['\x1b[33m', '\x1b[39m'],
  cyan: ['\x1b[36m', '\x1b[39m'],
};

/** Wraps text in an ANSI style, or returns it unchanged when colour is off. */
export type Styler = (tone: Tone, text: string) => string;

export function makeStyler(color: boolean): Styler {
  return color ? (tone, text) => `${ANSI[tone][0]}${text}${ANSI[tone][1]}` : (_tone, text) => text;
}

// The emoji the bot uses, and a few common ones; others stay as :name:, as Slack shows unknown ones.
const EMOJI: Record<string, string> = {
  white_check_mark: '✅',
  heavy_check_mark: '✔️',
  x: '❌',
  warning: '⚠️',
  no_entry: '⛔',
  no_entry_sign: '🚫',
  hourglass: '⌛',
  hourglass_flowing_sand: '⏳',
  construction: '🚧',
  building_construction: '🏗️',
  raised_hand: '✋',
  sparkles: '✨',
  large_orange_circle: '🟠',
  arrows_counterclockwise: '🔄',
  arrows_clockwise: '🔃',
  clock3: '🕒',
  alarm_clock: '⏰',
  grey_question: '❔',
  question: '❓',
  rotating_light: '🚨',
  information_source: 'ℹ️',
  lock: '🔒',
  key: '🔑',
  email: '✉️',
  envelope: '✉️',
  package: '📦',
  floppy_disk: '💾',
  calendar: '📅',
  spiral_calendar_pad: '🗓️',
  bell: '🔔',
  tada: '🎉',
  eyes: '👀',
  stop_sign: '🛑',
  large_green_circle: '🟢',
  large_yellow_circle: '🟡',
  red_circle: '🔴',
  white_circle: '⚪',
  black_circle: '⚫',
  large_blue_circle: '🔵',
  radio_button: '🔘',
  arrow_right: '➡️',
  leftwards_arrow_with_hook: '↩️',
  rewind: '⏪',
  thumbsup: '👍',
  '+1': '👍',
  thumbsdown: '👎',
  wave: '👋',
  mag: '🔍',
  wrench: '🔧',
  gear: '⚙️',
  robot_face: '🤖',
  inbox_tray: '📥',
  outbox_tray: '📤',
  bar_chart: '📊',
  chart_with_downwards_trend: '📉',
  fire: '🔥',
  skull: '💀',
  zzz: '💤',
  repeat: '🔁',
  link: '🔗',
  memo: '📝',
  clipboard: '📋',
  checkered_flag: '🏁',
  rocket: '🚀',
  hammer_and_wrench: '🛠️',
  arrow_forward: '▶️',
  heavy_multiplication_x: '✖️',
  double_vertical_bar: '⏸️',
  black_square_for_stop: '⏹️',
  hourglass_done: '⌛',
  pencil: '✏️',
  pencil2: '✏️',
  ballot_box_with_check: '☑️',
  shield: '🛡️',
  cloud: '☁️',
  desktop_computer: '🖥️',
};

export interface RenderNames {
  /** Slack user id → name, for <@U…> mentions. */
  user(id: string): string | undefined;
  /** Channel id → name, for <#C…> links. */
  channel(id: string): string | undefined;
}

/** A clickable button as rendered: what a click must send back. */
export interface RenderedButton {
  actionId: string;
  value: string;
  blockId?: string;
  label: string;
  /** The dialog Slack shows before sending the click, when the button has one. */
  confirm?: { title: string; text: string; confirm: string };
}

export interface RenderContext {
  names: RenderNames;
  style: Styler;
  /** Gives a rendered button its number; the caller keeps the mapping for clicks. */
  numberButton(button: RenderedButton): number;
  /** The reader's time zone and clock, for `<!date>`; default: this machine's. */
  reader?: Reader;
}

export interface Reader {
  timeZone?: string;
  now?: number;
}

/** YYYY-MM-DD of `at` in `timeZone`. */
function dayOf(at: number, timeZone: string | undefined): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(at));
}

/**
 * A `<!date^seconds^format>` as Slack's client shows it: in the reader's zone, with the tokens
 * `{date_num}`, `{date}`, `{date_short}`, `{date_long}`, their `_pretty` forms (today, yesterday,
 * tomorrow), `{time}`, `{time_secs}` and `{ago}`. Undefined for a format it cannot read.
 */
export function slackDateText(seconds: number, format: string, reader: Reader = {}): string | undefined {
  if (!Number.isFinite(seconds)) return undefined;
  const at = seconds * 1000;
  const now = reader.now ?? Date.now();
  const tz = reader.timeZone;
  const fmt = (o: Intl.DateTimeFormatOptions) =>
    new Intl.DateTimeFormat('en-US', { timeZone: tz, ...o }).format(new Date(at));
  const dates: Record<string, () => string> = {
    date_num: () => dayOf(at, tz),
    date: () => fmt({ year: 'numeric', month: 'long', day: 'numeric' }),
    date_short: () => fmt({ year: 'numeric', month: 'short', day: 'numeric' }),
    date_long: () => fmt({ weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' }),
  };
  const pretty = (plain: string) => {
    const day = dayOf(at, tz);
    const names: [number, string][] = [
      [0, 'today'],
      [-86_400_000, 'yesterday'],
      [86_400_000, 'tomorrow'],
    ];
    return names.find(([shift]) => dayOf(now + shift, tz) === day)?.[1] ?? dates[plain]?.() ?? '';
  };
  const ago = () => {
    const mins = Math.round(Math.abs(now - at) / 60_000);
    const span = mins < 1 ? 'less than a minute' : mins < 90 ? `${mins} min` : `${Math.round(mins / 60)} h`;
    return at <= now ? `${span} ago` : `in ${span}`;
  };
  let unknown = false;
  const text = format.replace(/\{(\w+)\}/g, (all, token: string) => {
    if (token in dates) return (dates[token] as () => string)();
    if (token.endsWith('_pretty') && token.slice(0, -7) in dates) return pretty(token.slice(0, -7));
    if (token === 'time') return fmt({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    if (token === 'time_secs')
      return fmt({ hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    if (token === 'ago') return ago();
    unknown = true;
    return all;
  });
  return unknown ? undefined : text;
}

function unescapeHtml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

// Slack's markers only count at word edges, so snake_case names and masked addresses stay intact.
const EDGE_BEFORE = '(^|[\\s(\\[>"\'])';
const EDGE_AFTER = '(?=$|[\\s).,:;!?\\]<"\'])';

function inline(text: string, marker: string, tone: Tone, style: Styler): string {
  const m = marker.replace(/[*~]/g, '\\$&');
  const re = new RegExp(`${EDGE_BEFORE}${m}([^${m}\\n]+?)${m}${EDGE_AFTER}`, 'g');
  return text.replace(re, (_all, pre: string, inner: string) => `${pre}${style(tone, inner)}`);
}

/** Slack mrkdwn → terminal text: mentions and links resolved, emoji shown, bold/italic/code styled. */
export function mrkdwn(text: string, ctx: Pick<RenderContext, 'names' | 'style' | 'reader'>): string {
  const { names, style } = ctx;
  // Code spans and blocks are taken out first so nothing inside them is reformatted.
  const saved: string[] = [];
  const keep = (s: string) => {
    saved.push(s);
    return `\uE000${saved.length - 1}\uE000`;
  };
  let out = text.replace(/```([\s\S]*?)```/g, (_m, code: string) =>
    keep(
      `\n${code
        .replace(/^\n/, '')
        .split('\n')
        .map((l) => `  ${style('code', unescapeHtml(l))}`)
        .join('\n')}\n`,
    ),
  );
  out = out.replace(/`([^`\n]+)`/g, (_m, code: string) => keep(style('code', `\`${unescapeHtml(code)}\``)));
  out = out.replace(/<([^>\n]+)>/g, (_m, inner: string) => {
    const [target = '', label] = inner.split('|', 2);
    if (target.startsWith('@')) {
      const id = target.slice(1);
      return keep(style('cyan', `@${label ?? names.user(id) ?? id}`));
    }
    if (target.startsWith('#')) {
      const id = target.slice(1);
      return keep(style('cyan', `#${label ?? names.channel(id) ?? id}`));
    }
    if (target.startsWith('!')) {
      const special = target.slice(1).split('^')[0] ?? '';
      // <!date^seconds^format|fallback>: each reader sees the time in their own zone, as in Slack.
      if (special === 'date') {
        const [, seconds, format = ''] = target.split('^');
        return keep(slackDateText(Number(seconds), format, ctx.reader) ?? label ?? '');
      }
      return keep(`@${label ?? special}`);
    }
    const url = unescapeHtml(target);
    return keep(label ? `${unescapeHtml(label)} (${url})` : url);
  });
  out = out.replace(/:([a-z0-9_+-]+):/g, (all, name: string) => EMOJI[name] ?? all);
  out = inline(out, '*', 'bold', style);
  out = inline(out, '_', 'italic', style);
  out = inline(out, '~', 'strike', style);
  out = out.replace(/^&gt;\s?(.*)$/gm, (_m, quoted: string) => `│ ${quoted}`);
  out = unescapeHtml(out);
  return out.replace(/\uE000(\d+)\uE000/g, (_m, i: string) => saved[Number(i)] ?? '');
}

function textOf(t: unknown, ctx: RenderContext): string {
  if (!isObj(t)) return '';
  const s = str(t.text) ?? '';
  return t.type === 'mrkdwn'
    ? mrkdwn(s, ctx)
    : unescapeHtml(s).replace(/:([a-z0-9_+-]+):/g, (a, n) => EMOJI[n] ?? a);
}

function button(el: Obj, blockId: string | undefined, ctx: RenderContext): string {
  const label = textOf(el.text, ctx) || str(el.action_id) || 'button';
  const url = str(el.url);
  const tone: Tone = el.style === 'primary' ? 'green' : el.style === 'danger' ? 'red' : 'bold';
  if (url) return `${ctx.style(tone, `[${label}]`)} (opens ${url})`;
  const confirm = isObj(el.confirm)
    ? {
        title: textOf(el.confirm.title, ctx),
        text: textOf(el.confirm.text, ctx),
        confirm: textOf(el.confirm.confirm, ctx) || 'Yes',
      }
    : undefined;
  const n = ctx.numberButton({
    actionId: str(el.action_id) ?? '',
    value: str(el.value) ?? '',
    ...(blockId ? { blockId } : {}),
    label,
    ...(confirm ? { confirm } : {}),
  });
  return ctx.style(tone, `[${n}: ${label}]`);
}

function element(el: unknown, blockId: string | undefined, ctx: RenderContext): string {
  if (!isObj(el)) return '';
  switch (el.type) {
    case 'button':
      return button(el, blockId, ctx);
    case 'mrkdwn':
    case 'plain_text':
      return textOf(el, ctx);
    case 'image':
      return `[image: ${str(el.alt_text) ?? ''}]`;
    case 'overflow':
    case 'static_select':
    case 'users_select':
    case 'conversations_select':
    case 'datepicker':
    case 'timepicker':
      return ctx.style('dim', `[${String(el.type)} (not clickable in the playground)]`);
    default:
      return ctx.style('dim', `[${String(el.type)}]`);
  }
}

function indent(text: string, by = '  '): string[] {
  return text.split('\n').map((l) => `${by}${l}`);
}

function richText(el: unknown, ctx: RenderContext): string {
  if (!isObj(el)) return '';
  if (el.type === 'text') return str(el.text) ?? '';
  if (el.type === 'link') return str(el.text) ? `${str(el.text)} (${str(el.url)})` : (str(el.url) ?? '');
  if (el.type === 'user') return `@${ctx.names.user(str(el.user_id) ?? '') ?? str(el.user_id) ?? ''}`;
  if (el.type === 'channel')
    return `#${ctx.names.channel(str(el.channel_id) ?? '') ?? str(el.channel_id) ?? ''}`;
  if (el.type === 'emoji') return EMOJI[str(el.name) ?? ''] ?? `:${str(el.name)}:`;
  if (Array.isArray(el.elements)) {
    const inner = el.elements.map((e) => richText(e, ctx)).join('');
    if (el.type === 'rich_text_list') return el.elements.map((e) => `• ${richText(e, ctx)}`).join('\n');
    if (el.type === 'rich_text_preformatted') return ctx.style('code', inner);
    if (el.type === 'rich_text_quote') return `│ ${inner}`;
    return inner;
  }
  return '';
}

function fieldsGrid(fields: string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const left = fields[i] ?? '';
    const right = fields[i + 1];
    if (right === undefined || left.includes('\n') || right.includes('\n') || left.length > 40) {
      lines.push(...left.split('\n'));
      if (right !== undefined) lines.push(...right.split('\n'));
    } else {
      lines.push(`${left.padEnd(40)}  ${right}`);
    }
  }
  return lines;
}

/** One block as lines of text (without the message's indentation). */
export function renderBlock(block: unknown, ctx: RenderContext): string[] {
  if (!isObj(block)) return [];
  const blockId = str(block.block_id);
  switch (block.type) {
    case 'header':
      return [ctx.style('bold', textOf(block.text, ctx))];
    case 'divider':
      return [ctx.style('dim', '─'.repeat(40))];
    case 'section': {
      const lines: string[] = [];
      const text = textOf(block.text, ctx);
      if (text) lines.push(...text.split('\n'));
      // Slack shows the accessory beside the section's text.
      if (isObj(block.accessory)) {
        const acc = element(block.accessory, blockId, ctx);
        if (acc && lines.length > 0) lines[lines.length - 1] = `${lines[lines.length - 1]}  ${acc}`;
        else if (acc) lines.push(acc);
      }
      if (Array.isArray(block.fields)) {
        // A field is usually "*Title*\nvalue": one line, "Title: value".
        const fields = block.fields.map((f) => {
          const parts = textOf(f, ctx).split('\n');
          return parts.length === 2 ? `${parts[0]}: ${parts[1]}` : parts.join(' · ');
        });
        lines.push(...fieldsGrid(fields));
      }
      return lines;
    }
    case 'context': {
      const els = Array.isArray(block.elements) ? block.elements : [];
      const text = els.map((e) => element(e, blockId, ctx)).join('  ·  ');
      return text.split('\n').map((l) => ctx.style('dim', l));
    }
    case 'actions': {
      const els = Array.isArray(block.elements) ? block.elements : [];
      return [els.map((e) => element(e, blockId, ctx)).join('  ')];
    }
    case 'image':
      return [`[image: ${str(block.alt_text) ?? ''}]`];
    case 'rich_text': {
      const els = Array.isArray(block.elements) ? block.elements : [];
      return els
        .map((e) => richText(e, ctx))
        .join('\n')
        .split('\n');
    }
    default:
      return [ctx.style('dim', `[${String(block.type)} block]`)];
  }
}

/** A message body: its blocks when it has any (that is what Slack shows), else its text. */
export function renderBody(msg: { text?: string; blocks?: unknown[] }, ctx: RenderContext): string[] {
  const lines =
    msg.blocks && msg.blocks.length > 0
      ? msg.blocks.flatMap((b) => renderBlock(b, ctx))
      : mrkdwn(msg.text ?? '', ctx).split('\n');
  while (lines.length > 1 && !lines[0]?.trim()) lines.shift();
  while (lines.length > 1 && !lines[lines.length - 1]?.trim()) lines.pop();
  return lines.flatMap((l) => indent(l));
}
