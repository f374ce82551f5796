import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { TransientError, UserError } from '../../../infra/errors.js';
import { createSmtpMailer, type Mailer } from '../../../infra/mailer.js';

type Received = { from: string; to: string[]; body: string };

const PASSWORD = 's3cretpass';

/** A real SMTP server on 127.0.0.1 that records what it receives. */
async function startSmtp(
  extra: Partial<ConstructorParameters<typeof SMTPServer>[0]> = {},
): Promise<{ server: SMTPServer; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          body: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
    ...extra,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { server, port, received };
}

function closeSmtp(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function track(mailer: Mailer): Mailer {
  cleanups.push(() => mailer.close());
  return mailer;
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

describe('createSmtpMailer against a real SMTP server', () => {
  it('verifies and delivers a message', async () => {
    const { server, port, received } = await startSmtp();
    cleanups.push(() => closeSmtp(server));
    const mailer = track(createSmtpMailer(`smtp://127.0.0.1:${port}`));

    await mailer.verify();
    const text = '-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----\n';
    const { messageId } = await mailer.send({
      from: 'bot@example.com',
      to: 'alice@example.com',
      subject: 'Your new AWS console password',
      text,
    });

    expect(messageId).toMatch(/^<.+>$/);
    expect(received).toHaveLength(1);
    expect(received[0]?.from).toBe('bot@example.com');
    expect(received[0]?.to).toEqual(['alice@example.com']);
    expect(received[0]?.body).toContain('Subject: Your new AWS console password');
    expect(received[0]?.body).toContain('-----BEGIN PGP MESSAGE-----');
  });

  it('reports a closed server as TransientError naming host:port only, never the password', async () => {
    const { server, port } = await startSmtp();
    await closeSmtp(server);
    const mailer = track(createSmtpMailer(`smtp://user:${PASSWORD}@127.0.0.1:${port}`, { timeoutMs: 2000 }));

    const err = await errorOf(mailer.verify());
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).code).toBe('smtp_unavailable');
    expect(err.message).toBe(
      `the mail server (127.0.0.1:${port}) is not answering: ECONNREFUSED; try again later, or check SMTP_URL if it persists`,
    );
    expect(err.message).not.toContain(PASSWORD);
    expect(err.message).not.toContain('user:');

    const sendErr = await errorOf(
      mailer.send({ from: 'bot@example.com', to: 'a@example.com', subject: 's', text: 't' }),
    );
    expect(sendErr).toBeInstanceOf(TransientError);
    expect(sendErr.message).not.toContain(PASSWORD);
  });

  it('reports a rejected login as EAUTH without the password', async () => {
    const { server, port } = await startSmtp({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(_auth, _session, callback) {
        callback(new Error('bad credentials'));
      },
    });
    cleanups.push(() => closeSmtp(server));
    const mailer = track(createSmtpMailer(`smtp://user:${PASSWORD}@127.0.0.1:${port}`));

    const err = await errorOf(mailer.verify());
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toContain('EAUTH');
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).not.toContain(PASSWORD);
  });

  it('times out on a server that never greets', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          silent.close(() => resolve());
        }),
    );
    const port = (silent.address() as AddressInfo).port;
    const mailer = track(createSmtpMailer(`smtp://127.0.0.1:${port}`, { timeoutMs: 300 }));
    silent.on('connection', (socket) => cleanups.push(() => void socket.destroy()));

    const err = await errorOf(mailer.verify());
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toContain('ETIMEDOUT');
  });
});

describe('createSmtpMailer configuration', () => {
  it('throws smtp_not_configured from verify and send when SMTP_URL is absent', async () => {
    for (const url of [undefined, '']) {
      const mailer = track(createSmtpMailer(url));
      const err = await errorOf(mailer.verify());
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).code).toBe('smtp_not_configured');
      expect(err.message).toBe('SMTP_URL is not set: the bot cannot mail passwords');
      await expect(
        mailer.send({ from: 'a@example.com', to: 'b@example.com', subject: 's', text: 't' }),
      ).rejects.toMatchObject({ code: 'smtp_not_configured' });
    }
  });

  it('rejects an unusable URL without echoing it', async () => {
    for (const url of [`user:${PASSWORD}`, `http://user:${PASSWORD}@mail.example.com`]) {
      const err = await errorOf(track(createSmtpMailer(url)).verify());
      expect((err as UserError).code).toBe('smtp_url_invalid');
      expect(err.message).not.toContain(PASSWORD);
    }
  });
});
