/** Masks the local part of an address for logs and Slack: `alice@example.com` → `a***@example.com`. */
export function maskEmail(addr: string): string {
  const at = addr.lastIndexOf('@');
  if (at < 0) return '***';
  return `${addr.slice(0, Math.min(at, 1))}***${addr.slice(at)}`;
}

/**
 * Returns `url` without credentials. Query and fragment go too: nodemailer reads options such as
 * `?pass=` from the query string, so they may carry secrets as well.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    // Unparseable input could be anything, including a bare password: show none of it.
    return '[unparseable URL]';
  }
}
