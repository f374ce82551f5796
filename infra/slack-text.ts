// Text a person typed (titles, reasons, details, webhook messages, a quoted bad argument) reaches
// Slack only through these: Slack reads `<…>` as a mention, a link or `<!channel>`, and `&` starts
// an entity, so the three are escaped as Slack documents. Mail keeps the plain text.

/** Escapes `&`, `<` and `>` so Slack shows the text as written (no mention, link or broadcast). */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped and cut to `max` characters, for text from AWS or users quoted inside a longer message. */
export function quoteSlack(s: string, max = 600): string {
  return escapeSlack(s.length > max ? `${s.slice(0, max)}…` : s);
}
