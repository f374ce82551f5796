import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  gateSlackRequests,
  MAX_CLOCK_SKEW_SECONDS,
  malformedSlackHeaders,
  REPLAY_KEY_TTL_MS,
  slackRequestProperties,
} from '../../../bot/middleware.js';
import { createLogger } from '../../../infra/logger.js';
import { countRefusals, createMetrics } from '../../../infra/metrics.js';

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

  it('counts what it refuses by reason: a malformed signature header, a timestamp out of the window', async () => {
    const m = createMetrics({ defaultMetrics: false });
    let passed = 0;
    const listener = gateSlackRequests(
      (_req, res) => {
        passed += 1;
        res.end('ok');
      },
      { endpoints: ['/slack/events'], clock: { now: () => NOW }, log: createLogger({ level: 'silent' }) },
    );
    const server = createServer(countRefusals(listener, m));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    const post = (h: Record<string, string>) => fetch(url, { method: 'POST', headers: h, body: 'body' });
    try {
      expect((await post(headers(`${sig}=1`))).status).toBe(401);
      expect((await post(headers(sig, String(NOW / 1000 - 400)))).status).toBe(401);
      expect((await post(headers(sig, String(NOW / 1000 + 400)))).status).toBe(401);
      expect((await post(headers(sig))).status).toBe(200);
      const text = await m.render();
      expect(text).toContain('chatops_requests_refused_total{reason="signature"} 1');
      expect(text).toContain('chatops_requests_refused_total{reason="timestamp"} 2');
      expect(passed).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
