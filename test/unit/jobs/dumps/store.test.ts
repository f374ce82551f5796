// The post claims of jobs/dump-store.ts on the real Redis: a worker still posting an alert (e.g.
// waiting out 429s for minutes) keeps its claim fresh, so another raise waits instead of posting a
// second alert; a claim nobody renews (its worker died) is taken over; a released one at once.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLAIM_STALE_MS,
  type DumpStore,
  type Finding,
  raiseAlert,
  releasePost,
  renewClaim,
  resolveAlert,
  setAlertMessage,
} from '../../../../jobs/dumps/store.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const s: DumpStore = { redis, prefix: `test-dump-claims-${randomUUID()}` };
afterAll(async () => {
  const keys = await redis.keys(`${s.prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const T0 = 1_800_000_000_000;
const finding: Finding = {
  verdict: 'missing',
  at: T0,
  source: 'check',
  expectedKey: 'dumps/x_20270115',
  dueAt: T0,
};
let n = 0;
function alert() {
  n += 1;
  return { id: `da-job${n}-20270115`, job: `job${n}`, day: '2027-01-15', fireAt: T0 };
}

describe('dump alert post claims', () => {
  it('a claim renewed while its worker waits is never taken over: one alert', async () => {
    const a = alert();
    expect((await raiseAlert(s, a, finding, undefined, T0, 'check-1')).action).toBe('post');
    // The poster waits out rate limits for minutes, renewing every third of the stale time.
    for (let t = T0; t < T0 + 5 * CLAIM_STALE_MS; t += CLAIM_STALE_MS / 3) {
      expect(await renewClaim(s, a.id, 'post', t)).toBe(true);
      expect(
        (await raiseAlert(s, a, finding, undefined, t + CLAIM_STALE_MS / 3 - 1, `check-${t}`)).action,
      ).toBe('wait');
    }
    expect(await setAlertMessage(s, a.id, { channel: 'C0ALERTS', ts: '1.000001' }, true)).toBe(true);
    // Posted: nothing left to renew; later failures edit it.
    expect(await renewClaim(s, a.id, 'post', T0 + 6 * CLAIM_STALE_MS)).toBe(false);
    expect((await raiseAlert(s, a, finding, undefined, T0 + 6 * CLAIM_STALE_MS, 'check-late')).action).toBe(
      'edit',
    );
  });

  it('a claim nobody renews (its worker died) is taken over after the stale time; a released one at once', async () => {
    const a = alert();
    expect((await raiseAlert(s, a, finding, undefined, T0, 'c1')).action).toBe('post');
    expect((await raiseAlert(s, a, finding, undefined, T0 + CLAIM_STALE_MS, 'c2')).action).toBe('wait');
    expect((await raiseAlert(s, a, finding, undefined, T0 + CLAIM_STALE_MS + 1, 'c3')).action).toBe('post');
    await releasePost(s, a.id);
    expect((await raiseAlert(s, a, finding, undefined, T0 + CLAIM_STALE_MS + 2, 'c4')).action).toBe('post');
  });

  it('the mention and the "resolved" reply claims are renewed the same way', async () => {
    const a = alert();
    const window = { id: 'mw-abcd', title: 'W', end: T0 + 1000 };
    expect((await raiseAlert(s, a, finding, window, T0, 'c1')).action).toBe('post');
    await setAlertMessage(s, a.id, { channel: 'C0ALERTS', ts: '1.000002' }, false);
    // The window is over: the normal alert (with the mention) goes to the thread; its claim is renewed.
    expect((await raiseAlert(s, a, finding, undefined, T0 + 2000, 'c2')).action).toBe('notify');
    expect(await renewClaim(s, a.id, 'notify', T0 + 2000 + CLAIM_STALE_MS)).toBe(true);
    expect((await raiseAlert(s, a, finding, undefined, T0 + 2000 + CLAIM_STALE_MS + 10, 'c3')).action).toBe(
      'edit',
    );
    expect(await resolveAlert(s, a.id, { ...finding, verdict: 'ok' }, T0 + 3000)).toBe('post');
    expect(await renewClaim(s, a.id, 'resolve', T0 + 3000 + CLAIM_STALE_MS)).toBe(true);
    expect(await resolveAlert(s, a.id, { ...finding, verdict: 'ok' }, T0 + 3000 + CLAIM_STALE_MS + 10)).toBe(
      'none',
    );
  });
});
