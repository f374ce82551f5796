import { createTransport } from 'nodemailer';
import { TransientError, UserError } from './errors.js';

/** A plain-text message; for password mail `text` is already a PGP MESSAGE. */
export type MailMessage = { from: string; to: string; subject: string; text: string };

/** Sends mail; `verify` checks the server is reachable (and accepts our login) without sending. */
export interface Mailer {
  verify(): Promise<void>;
  send(msg: MailMessage): Promise<{ messageId: string }>;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export { maskEmail, redactUrl } from './redact.js';

type Endpoint = { host: string; port: number };

/** Where nodemailer will connect, for messages: host:port only, with nodemailer's default ports. */
function endpointOf(smtpUrl: string): Endpoint | undefined {
  let u: URL;
  try {
    u = new URL(smtpUrl);
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || !u.hostname) return undefined;
  const port = u.port ? Number(u.port) : u.protocol === 'smtps:' ? 465 : 587;
  return { host: u.hostname, port };
}

/** The errno-like code of a nodemailer failure; the system code (ECONNREFUSED) beats nodemailer's (ESOCKET). */
function reasonCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return 'unknown error';
  const e = err as { originalCode?: unknown; code?: unknown; responseCode?: unknown };
  for (const c of [e.originalCode, e.code]) {
    // Only short upper-case codes: anything else could echo server text or parts of the URL.
    if (typeof c === 'string' && /^[A-Z][A-Z0-9_]{1,31}$/.test(c)) return c;
  }
  if (typeof e.responseCode === 'number') return `SMTP ${e.responseCode}`;
  return 'unknown error';
}

function smtpFailure(where: string, err: unknown): TransientError | UserError {
  const reason = reasonCode(err);
  if (reason === 'EAUTH') {
    return new TransientError(
      'smtp_unavailable',
      `the mail server (${where}) rejected the bot's login: EAUTH; check the user and password in SMTP_URL`,
    );
  }
  // A 5xx refusal of the recipient or message is permanent: retrying would resend to the same wall.
  if (
    (reason === 'EENVELOPE' || reason === 'EMESSAGE') &&
    (err as { permanent?: unknown }).permanent === true
  ) {
    return new UserError(
      'mail_rejected',
      `the mail server (${where}) refused the message: ${reason}; check the person's email address in the config and the server's relay rules`,
    );
  }
  return new TransientError(
    'smtp_unavailable',
    `the mail server (${where}) is not answering: ${reason}; try again later, or check SMTP_URL if it persists`,
  );
}

/**
 * Creates a Mailer over SMTP from a `smtp://user:pass@host:port` or `smtps://` URL. Configuration
 * problems (absent or invalid URL) surface from verify/send, so the bot can start without mail.
 * Error messages name host:port only: the URL may carry a password.
 */
export function createSmtpMailer(smtpUrl: string | undefined, opts: { timeoutMs?: number } = {}): Mailer {
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const endpoint = smtpUrl ? endpointOf(smtpUrl) : undefined;
  const transport =
    smtpUrl && endpoint
      ? createTransport({
          url: smtpUrl,
          connectionTimeout: timeout,
          greetingTimeout: timeout,
          socketTimeout: timeout,
        })
      : undefined;
  const where = endpoint ? `${endpoint.host}:${endpoint.port}` : '';

  function ready(): NonNullable<typeof transport> {
    if (!smtpUrl)
      throw new UserError('smtp_not_configured', 'SMTP_URL is not set: the bot cannot mail passwords');
    if (!transport) {
      throw new UserError(
        'smtp_url_invalid',
        'SMTP_URL is not a valid smtp:// or smtps:// URL with a host: set it like smtp://user:password@mail.example.com:587',
      );
    }
    return transport;
  }

  return {
    async verify() {
      const t = ready();
      try {
        await t.verify();
      } catch (err) {
        throw smtpFailure(where, err);
      }
    },
    async send(msg) {
      const t = ready();
      try {
        const info = await t.sendMail({ from: msg.from, to: msg.to, subject: msg.subject, text: msg.text });
        return { messageId: info.messageId };
      } catch (err) {
        throw smtpFailure(where, err);
      }
    },
    close() {
      transport?.close();
    },
  };
}
