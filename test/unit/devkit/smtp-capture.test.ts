import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CapturedMail,
  parseMail,
  type SmtpCapture,
  startSmtpCapture,
} from '../../../devkit/smtp-capture.js';

describe('smtp-capture', () => {
  let smtp: SmtpCapture;
  let saveDir: string;
  const seen: CapturedMail[] = [];

  beforeAll(async () => {
    saveDir = await mkdtemp(join(tmpdir(), 'smtp-capture-test-'));
    smtp = await startSmtpCapture({ saveDir, onMessage: (m) => seen.push(m) });
  });
  afterAll(async () => {
    await smtp.close();
    await rm(saveDir, { recursive: true, force: true });
  });

  it('captures a plain nodemailer message with envelope, subject and decoded text', async () => {
    expect(smtp.url).toBe(`smtp://127.0.0.1:${smtp.port}`);
    const transport = createTransport(smtp.url);
    // A long line with a little non-ASCII makes nodemailer pick quoted-printable with soft breaks.
    const text = `Approve rotation of key AKIAEXAMPLE for ops-bot? café ${'x'.repeat(120)}\nLine two = ok`;
    await transport.sendMail({
      from: 'bot@example.com',
      to: ['a@example.com', 'b@example.com'],
      subject: 'Approval needed: ünïcode',
      text,
    });
    const mail = await smtp.waitForMessage((m) => m.subject.startsWith('Approval needed'), 5000);
    expect(mail.from).toBe('bot@example.com');
    expect(mail.to).toEqual(['a@example.com', 'b@example.com']);
    expect(mail.subject).toBe('Approval needed: ünïcode');
    expect(mail.text.replace(/\r\n/g, '\n')).toBe(text);
    expect(mail.raw).toMatch(/Content-Transfer-Encoding: quoted-printable/i);
    expect(mail.raw).toContain('=\r\n');
    expect(mail.parts).toHaveLength(1);
    expect(seen).toContain(mail);

    const files = await readdir(saveDir);
    expect(files.some((f) => /^\d+-\d+\.eml$/.test(f))).toBe(true);
    const saved = await Promise.all(files.map((f) => readFile(join(saveDir, f), 'utf8')));
    expect(saved).toContain(mail.raw);
  });

  it('decodes a base64 body sent by nodemailer', async () => {
    const transport = createTransport(smtp.url);
    const text = `-----BEGIN PGP MESSAGE-----\n\nwcBMA…\n-----END PGP MESSAGE-----\n`;
    await transport.sendMail({
      from: 'bot@example.com',
      to: 'c@example.com',
      subject: 'b64',
      text,
      textEncoding: 'base64',
    });
    const mail = await smtp.waitForMessage((m) => m.subject === 'b64', 5000);
    expect(mail.raw).toMatch(/Content-Transfer-Encoding: base64/i);
    expect(mail.text.replace(/\r\n/g, '\n')).toBe(text);
  });

  it('splits multipart messages and decodes base64 attachments', async () => {
    const transport = createTransport(smtp.url);
    await transport.sendMail({
      from: 'bot@example.com',
      to: 'c@example.com',
      subject: 'multi',
      text: 'plain body',
      html: '<p>html body</p>',
      attachments: [{ filename: 'report.txt', content: Buffer.from('attached bytes') }],
    });
    const mail = await smtp.waitForMessage((m) => m.subject === 'multi', 5000);
    expect(mail.text).toBe('plain body');
    expect(mail.html).toBe('<p>html body</p>');
    const attachment = mail.parts.find((p) => p.filename === 'report.txt');
    expect(attachment?.content.toString('utf8')).toBe('attached bytes');
    expect(mail.parts.map((p) => p.contentType)).toEqual(['text/plain', 'text/html', 'text/plain']);
  });

  it('parses base64 single-part bodies', () => {
    const raw = [
      'Subject: =?UTF-8?B?w6l0w6k=?=',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('héllo base64').toString('base64'),
      '',
    ].join('\r\n');
    const mail = parseMail(raw, { from: 'x@example.com', to: ['y@example.com'] });
    expect(mail.subject).toBe('été');
    expect(mail.text).toBe('héllo base64');
  });

  it('waitForMessage times out with a clear error', async () => {
    await expect(smtp.waitForMessage((m) => m.subject === 'never', 50)).rejects.toThrow(
      /no matching message within 50 ms/,
    );
  });

  it('stopAccepting makes sending fail with 421 until startAccepting', async () => {
    const transport = createTransport(smtp.url);
    const before = smtp.messages.length;
    smtp.stopAccepting();
    await expect(
      transport.sendMail({ from: 'bot@example.com', to: 'd@example.com', subject: 'down', text: 'x' }),
    ).rejects.toMatchObject({ responseCode: 421 });
    expect(smtp.messages.length).toBe(before);

    smtp.startAccepting();
    await transport.sendMail({ from: 'bot@example.com', to: 'd@example.com', subject: 'up', text: 'x' });
    await expect(smtp.waitForMessage((m) => m.subject === 'up', 5000)).resolves.toMatchObject({
      to: ['d@example.com'],
    });
  });

  it('pooled connections are refused too while stopped', async () => {
    const transport = createTransport({ host: '127.0.0.1', port: smtp.port, pool: true, maxConnections: 1 });
    try {
      await transport.sendMail({ from: 'bot@example.com', to: 'e@example.com', subject: 'p1', text: 'x' });
      smtp.stopAccepting();
      await expect(
        transport.sendMail({ from: 'bot@example.com', to: 'e@example.com', subject: 'p2', text: 'x' }),
      ).rejects.toMatchObject({ responseCode: 421 });
    } finally {
      smtp.startAccepting();
      transport.close();
    }
    expect(smtp.messages.some((m) => m.subject === 'p2')).toBe(false);
  });
});
