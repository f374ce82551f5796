// Text a person typed (titles, reasons, details, webhook messages, a quoted bad argument) reaches
// Slack only through these: Slack reads `<…>` as a mention, a link or `<!channel>`, and `&` starts
// an entity, so the three are escaped as Slack documents. Mail keeps the plain text.
//
// The other direction: Slack escapes the same three characters in what a person types into a slash
// command (`&amp;`, `&lt;`, `&gt;`), while the control sequences it adds itself (a mention picked in
// the composer, `<@U…|name>`, when the manifest sets `should_escape`) arrive raw. commandText decodes
// the text once, so it is stored and mailed as typed and escaped again (once) when shown in Slack.

/** Escapes `&`, `<` and `>` so Slack shows the text as written (no mention, link or broadcast). */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped and cut to `max` characters, for text from AWS or users quoted inside a longer message. */
export function quoteSlack(s: string, max = 600): string {
  return escapeSlack(s.length > max ? `${s.slice(0, max)}…` : s);
}

/** Undoes escapeSlack: `&lt;`, `&gt;` and `&amp;` back to `<`, `>` and `&` (nothing else; `&amp;lt;` stays `&lt;`). */
export function unescapeSlack(s: string): string {
  return s.replace(/&(amp|lt|gt);/g, (_, e: string) => (e === 'lt' ? '<' : e === 'gt' ? '>' : '&'));
}

/**
 * A slash command's `text` as the person typed it: Slack's entities decoded, surrounding space
 * trimmed. Mentions Slack added (`<@U…|name>`) stay as they are, so parseMention reads them.
 */
export function commandText(raw: string): string {
  return unescapeSlack(raw).trim();
}

export interface Mention {
  /** The Slack user id (`U…` or `W…`). */
  id: string;
  /** The label Slack put after the id, when it put one. */
  label?: string;
}

const MENTION = /^<@([UW][A-Z0-9]{2,})(?:\|([^<>|]*))?>$/;

/** Reads one word as a user mention, `<@U123>` or `<@U123|name>`; undefined when it is not one. */
export function parseMention(token: string): Mention | undefined {
  const m = MENTION.exec(token);
  if (!m?.[1]) return undefined;
  return m[2] ? { id: m[1], label: m[2] } : { id: m[1] };
}
