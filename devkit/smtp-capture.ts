import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerError } from 'smtp-server';

export interface MailPart {
  /** Lowercased header names; repeated headers keep the last value. */
  headers: Record<string, string>;
  /** Media type without parameters, lowercased, e.g. `text/plain`. */
  contentType: string;
  /** Decoded body bytes. */
  content: Buffer;
  /** Decoded body as UTF-8 text (meaningful for text parts). */
  text: string;
  filename?: string;
}

export interface CapturedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO). */
  to: string[];
  raw: string;
  subject: string;
  /** Top-level message headers, lowercased names, RFC 2047 words decoded. */
  headers: Record<string, string>;
  /** First text/plain part, decoded; falls back to the first text part. */
  text: string;
  /** First text/html part, decoded, when present. */
  html?: string;
  /** Leaf parts of a multipart message, depth first; a single-part mail has one. */
  parts: MailPart[];
  receivedAt: Date;
}

export interface SmtpCaptureOptions {
  /** Port to bind on 127.0.0.1; a free port when omitted. */
  port?: number;
  /** Directory to write each message to as `<timestamp>-<n>.eml`. */
  saveDir?: string;
  onMessage?: (mail: CapturedMail) => void;
}

export interface SmtpCapture {
  /** For nodemailer's `createTransport(url)`, e.g. `smtp://127.0.0.1:2525`. */
  readonly url: string;
  readonly port: number;
  /** Live list of captured messages, oldest first. */
  readonly messages: readonly CapturedMail[];
  /** Resolves with the first captured message matching `predicate` (any message when omitted). */
  waitForMessage(predicate?: (mail: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  /** Simulates an outage: new connections and transactions get `421` and are closed. */
  stopAccepting(): void;
  startAccepting(): void;
  /** Empties `messages`. */
  clear(): void;
  close(): Promise<void>;
}

/** Decodes RFC 2047 encoded words (`=?UTF-8?B?...?=` / `?Q?`) as nodemailer writes them. */
function decodeWords(value: string): string {
  // Whitespace between adjacent encoded words is not part of the text (RFC 2047 section 6.2).
  const joined = value.replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1');
  return joined.replace(
    /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g,
    (_m, charset: string, enc: string, data: string) => {
      const bytes =
        enc.toUpperCase() === 'B'
          ? Buffer.from(data, 'base64')
          : decodeQuotedPrintable(data.replace(/_/g, ' '), false);
      return decodeCharset(bytes, charset);
    },
  );
}

function decodeCharset(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset.trim().toLowerCase()).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

function decodeQuotedPrintable(input: string, body = true): Buffer {
  // Soft line breaks join lines; only in bodies, headers have none.
  const text = body ? input.replace(/=\r?\n/g, '') : input;
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x3d /* = */ && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (ch < 0x80) {
      out.push(ch);
    } else {
      out.push(...Buffer.from(text[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(out);
}

/** Splits headers from body and unfolds continuation lines. */
function splitEntity(raw: string): { headers: Record<string, string>; body: string } {
  const match = /\r?\n\r?\n/.exec(raw);
  const head = match ? raw.slice(0, match.index) : raw;
  const body = match ? raw.slice(match.index + match[0].length) : '';
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers[line.slice(0, colon).trim().toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
  }
  return { headers, body };
}

/** Reads a parameter such as `boundary` or `charset` from a structured header value. */
function headerParam(value: string, name: string): string | undefined {
  const re = new RegExp(`(?:^|;)\\s*${name}\\*?=\\s*(?:"([^"]*)"|([^;\\s]*))`, 'i');
  const m = re.exec(value);
  return m ? (m[1] ?? m[2]) : undefined;
}

function decodeBody(body: string, encoding: string): Buffer {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      // 7bit / 8bit / binary: the bytes are the text.
      return Buffer.from(body, 'utf8');
  }
}

/** Collects leaf parts depth first; nested multiparts (alternative inside mixed) are flattened. */
function parseParts(raw: string, depth = 0): MailPart[] {
  const { headers, body } = splitEntity(raw);
  const typeHeader = headers['content-type'] ?? 'text/plain';
  const contentType = (typeHeader.split(';')[0] ?? '').trim().toLowerCase();
  const boundary = headerParam(typeHeader, 'boundary');

  if (contentType.startsWith('multipart/') && boundary && depth < 10) {
    const delimiter = `--${boundary}`;
    const parts: MailPart[] = [];
    const chunks = body.split(new RegExp(`\\r?\\n?${escapeRegExp(delimiter)}`));
    // chunks[0] is the preamble; a chunk starting with `--` is the closing delimiter's epilogue.
    for (const chunk of chunks.slice(1)) {
      if (chunk.startsWith('--')) break;
      parts.push(...parseParts(chunk.replace(/^[ \t]*\r?\n/, ''), depth + 1));
    }
    return parts;
  }

  // SMTP framing ends the DATA with a line break the sender's text usually did not have.
  const leafBody = depth === 0 ? body.replace(/\r?\n$/, '') : body;
  const content = decodeBody(leafBody, headers['content-transfer-encoding'] ?? '7bit');
  const charset = headerParam(typeHeader, 'charset') ?? 'utf-8';
  const disposition = headers['content-disposition'] ?? '';
  const filename = headerParam(disposition, 'filename') ?? headerParam(typeHeader, 'name');
  const part: MailPart = { headers, contentType, content, text: decodeCharset(content, charset) };
  if (filename) part.filename = filename;
  return [part];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Minimal MIME parsing, good enough for mails nodemailer generates. */
export function parseMail(
  raw: string,
  envelope: { from: string; to: string[] },
  receivedAt: Date = new Date(),
): CapturedMail {
  const { headers } = splitEntity(raw);
  const parts = parseParts(raw);
  const isAttachment = (p: MailPart): boolean =>
    (p.headers['content-disposition'] ?? '').toLowerCase().startsWith('attachment');
  const plain = parts.find((p) => p.contentType === 'text/plain' && !isAttachment(p));
  const anyText = parts.find((p) => p.contentType.startsWith('text/') && !isAttachment(p));
  const html = parts.find((p) => p.contentType === 'text/html' && !isAttachment(p));
  const mail: CapturedMail = {
    from: envelope.from,
    to: envelope.to,
    raw,
    subject: headers.subject ?? '',
    headers,
    text: (plain ?? anyText)?.text ?? '',
    parts,
    receivedAt,
  };
  if (html) mail.html = html.text;
  return mail;
}

function unavailable(): SMTPServerError {
  const err: SMTPServerError = new Error('Service not available (devkit outage simulation)');
  err.responseCode = 421;
  return err;
}

/**
 * Starts a loopback SMTP server that accepts any mail without auth or TLS and keeps it
 * in memory (and optionally on disk) for tests and the playground to inspect.
 */
export async function startSmtpCapture(opts: SmtpCaptureOptions = {}): Promise<SmtpCapture> {
  const messages: CapturedMail[] = [];
  const waiters = new Set<{ predicate: (m: CapturedMail) => boolean; resolve: (m: CapturedMail) => void }>();
  let accepting = true;
  let seq = 0;
  if (opts.saveDir) await mkdir(opts.saveDir, { recursive: true });

  const deliver = (mail: CapturedMail): void => {
    messages.push(mail);
    for (const waiter of waiters) {
      if (waiter.predicate(mail)) {
        waiters.delete(waiter);
        waiter.resolve(mail);
      }
    }
    opts.onMessage?.(mail);
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // Pooled clients would otherwise hold close() open for the default 30 s.
    closeTimeout: 1000,
    onConnect(_session, callback) {
      callback(accepting ? null : unavailable());
    },
    onMailFrom(_address, _session, callback) {
      // Reused (pooled) connections bypass onConnect, so refuse per transaction too.
      callback(accepting ? null : unavailable());
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        void (async () => {
          try {
            const raw = Buffer.concat(chunks).toString('utf8');
            const envelope = {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
            };
            const mail = parseMail(raw, envelope);
            seq += 1;
            if (opts.saveDir) {
              await writeFile(join(opts.saveDir, `${mail.receivedAt.getTime()}-${seq}.eml`), raw);
            }
            deliver(mail);
            callback(null);
          } catch (err) {
            callback(err instanceof Error ? err : new Error(String(err)));
          }
        })();
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  // Errors after startup (e.g. a client resetting the socket) must not crash the process.
  server.on('error', () => {});
  const port = (server.server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    get messages() {
      return messages;
    },
    waitForMessage(predicate = () => true, timeoutMs = 10_000) {
      const existing = messages.find(predicate);
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (m: CapturedMail) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `smtp-capture: no matching message within ${timeoutMs} ms (captured ${messages.length}: ${
                messages.map((m) => JSON.stringify(m.subject)).join(', ') || 'none'
              })`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stopAccepting() {
      accepting = false;
    },
    startAccepting() {
      accepting = true;
    },
    clear() {
      messages.length = 0;
    },
    close() {
      closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closed;
    },
  };
}
