import { describe, expect, it } from 'vitest';
import { parseReport, signatureMatches, signDumpReport } from '../../../bot/dump-webhook.js';

describe('dump webhook', () => {
  it('signs v0:<timestamp>:<body> with HMAC-SHA256 and checks it in constant time', () => {
    const sig = signDumpReport('s3cret', 1700000000, '{"job":"a","status":"ok"}');
    // Same as: printf 'v0:1700000000:{"job":"a","status":"ok"}' | openssl dgst -sha256 -hmac s3cret
    expect(sig).toBe('v0=5b79f5b507c19bc4edeb701e8bd84da8160b1de895c592f30d436a44b385dd1e');
    expect(signatureMatches('s3cret', '1700000000', '{"job":"a","status":"ok"}', sig)).toBe(true);
    expect(signatureMatches('s3cret', '1700000001', '{"job":"a","status":"ok"}', sig)).toBe(false);
    expect(signatureMatches('other', '1700000000', '{"job":"a","status":"ok"}', sig)).toBe(false);
    expect(signatureMatches('s3cret', '1700000000', '{"job":"a","status":"ok"}', sig.slice(0, 10))).toBe(
      false,
    );
    expect(signatureMatches('s3cret', '1700000000', '{"job":"a","status":"ok"}', '')).toBe(false);
    expect(
      signatureMatches('s3cret', '1700000000', '{"job":"a","status":"ok"}', `${sig.slice(0, -1)}é`),
    ).toBe(false);
  });

  it('refuses bodies that are not JSON, have bad fields or name an unknown job, saying why', () => {
    const jobs = ['ggh_datatransit'];
    expect(parseReport('nope', jobs)).toEqual({ error: 'the body is not JSON' });
    expect(parseReport('{"job":"ggh_datatransit","status":"meh"}', jobs)).toMatchObject({
      error: /^status:/,
    });
    expect(parseReport('{"job":"ggh_datatransit","status":"ok","x":1}', jobs)).toMatchObject({ error: /x/ });
    expect(parseReport('{"job":"ggh_datatransit","status":"failed","exitCode":"1"}', jobs)).toMatchObject({
      error: /^exitCode:/,
    });
    expect(parseReport('{"job":"other","status":"ok"}', jobs)).toEqual({
      error: 'unknown job "other": it is not in dumps.jobs',
    });
    expect(
      parseReport('{"job":"ggh_datatransit","status":"failed","exitCode":1,"message":"m"}', jobs),
    ).toEqual({
      report: { job: 'ggh_datatransit', status: 'failed', exitCode: 1, message: 'm' },
    });
  });
});
