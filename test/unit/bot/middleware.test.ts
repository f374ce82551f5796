import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MAX_CLOCK_SKEW_SECONDS,
  malformedSlackHeaders,
  REPLAY_KEY_TTL_MS,
  slackRequestProperties,
} from '../../../bot/middleware.js';

const NOW = 1_800_000_000_000;
const ts = String(NOW / 1000);
const sig = `v0=${createHmac('sha256', 'secret').update(`v0:${ts}:body`).digest('hex')}`;
const headers = (s: string, t = ts) => ({ 'x-slack-signature': s, 'x-slack-request-timestamp': t });

describe('the request gate', () => {
  it('lets through only v0= and 64 lowercase hex digits with a timestamp inside the window', () => {
    expect(malformedSlackHeaders(headers(sig), NOW)).toBeUndefined();
    const hex = sig.slice(3);
    for (const bad of [
      `${sig}=1`,
      `${sig}=2`,
      `v0=${hex.toUpperCase()}`,
      `${sig} `,
      `${sig}v0=${hex}`,
      `v1=${hex}`,
      `v0=${hex.slice(1)}`,
      'v0=',
      '',
    ]) {
      expect(malformedSlackHeaders(headers(bad), NOW), bad).toMatch(/x-slack-signature/);
    }
    expect(malformedSlackHeaders({ 'x-slack-request-timestamp': ts }, NOW)).toMatch(/x-slack-signature/);
    expect(malformedSlackHeaders(headers(sig, `${ts}.5`), NOW)).toMatch(/not a number/);
    expect(malformedSlackHeaders(headers(sig, String(NOW / 1000 + 301)), NOW)).toMatch(/5 minutes/);
    expect(malformedSlackHeaders(headers(sig, String(NOW / 1000 - 301)), NOW)).toMatch(/5 minutes/);
    expect(malformedSlackHeaders(headers(sig, String(NOW / 1000 + 299)), NOW)).toBeUndefined();
  });

  it('names a request by its timestamp and raw body, not by its signature header', () => {
    const req = (s: string, body: string, t = ts) =>
      ({ headers: headers(s, t), rawBody: Buffer.from(body) }) as never;
    const a = slackRequestProperties(req(sig, 'body')).replayKey;
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(slackRequestProperties(req(`${sig}=1`, 'body')).replayKey).toBe(a);
    expect(slackRequestProperties(req(sig, 'body2')).replayKey).not.toBe(a);
    expect(slackRequestProperties(req(sig, 'body', String(Number(ts) + 1))).replayKey).not.toBe(a);
  });

  it('keeps a replay key longer than any replica can accept the request', () => {
    expect(REPLAY_KEY_TTL_MS).toBeGreaterThan(2 * MAX_CLOCK_SKEW_SECONDS * 1000);
  });
});
