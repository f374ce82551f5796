// Every transition of a dump alert (jobs/dumps/store.ts and its Lua in scripts.ts) on the real Redis:
// each outcome of each script, the reads built on them, and the post claims: a worker still posting an
// alert (e.g. waiting out 429s for minutes) keeps its claim fresh, so another raise waits instead of
// posting a second alert; a claim nobody renews (its worker died) is taken over; a released one at once.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ackAlert,
  alertId,
  CLAIM_STALE_MS,
  clearOpenAlert,
  type DumpStore,
  dumpHealth,
  type Finding,
  getAlert,
  getLastCheck,
  latestFailure,
  markMentioned,
  markResolvePosted,
  openAlerts,
  raiseAlert,
  releasePost,
  renewClaim,
  resolveAlert,
  saveLastCheck,
  setAlertMessage,
  setOpenAlert,
} from '../../../../jobs/dumps/store.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const BASE = `test-dumps-store-${randomUUID()}`;
const s: DumpStore = { redis, prefix: BASE };
/** A store of its own, for what reads the whole failure index. */
const own = (): DumpStore => ({ redis, prefix: `${BASE}-${randomUUID()}` });
afterAll(async () => {
  const keys = await redis.keys(`${BASE}*`);
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
/** The alert's hash as Redis holds it (the claims are not part of DumpAlert). */
const raw = (st: DumpStore, id: string) => redis.hgetall(`${st.prefix}:dump:alert:${id}`);
const WINDOW = { id: 'mw-abcd', title: 'DB upgrade', end: T0 + 3_600_000 };
const DAY = 86_400_000;

/** An alert whose message is posted (with the mention unless `mentioned` is false). */
async function posted(mentioned = true, window?: typeof WINDOW) {
  const a = alert();
  await raiseAlert(s, a, finding, window, T0, 'c-posted');
  await setAlertMessage(s, a.id, { channel: 'C0ALERTS', ts: `1.${n}` }, mentioned);
  return a;
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

describe('dumpRaise', () => {
  it('new: an open alert counted once, its post claimed, its failure indexed, kept 14 days', async () => {
    const a = alert();
    expect(await raiseAlert(s, a, finding, undefined, T0, 'c1')).toEqual({ change: 'new', action: 'post' });
    expect(await getAlert(s, a.id)).toMatchObject({
      id: a.id,
      job: a.job,
      day: a.day,
      fireAt: T0,
      state: 'open',
      count: 1,
      firstAt: T0,
      lastAt: T0,
      last: finding,
      mentioned: false,
      version: 1,
    });
    expect(await raw(s, a.id)).toMatchObject({ posting: String(T0), checkId: 'c1', windowId: '' });
    expect(await redis.zscore(`${s.prefix}:dump:failed`, a.id)).toBe(String(T0));
    const ttl = await redis.pttl(`${s.prefix}:dump:alert:${a.id}`);
    expect(ttl).toBeGreaterThan(13 * DAY);
    expect(ttl).toBeLessThanOrEqual(14 * DAY);
  });

  it('updated: a later check counts again; a retry of the same check does not', async () => {
    const a = alert();
    await raiseAlert(s, a, finding, undefined, T0, 'c1');
    const later = { ...finding, at: T0 + 1000, verdict: 'too-small' as const };
    expect((await raiseAlert(s, a, later, undefined, T0 + 1000, 'c1')).change).toBe('updated');
    expect(await getAlert(s, a.id)).toMatchObject({ count: 1, lastAt: T0 + 1000, last: later, version: 2 });
    expect((await raiseAlert(s, a, later, undefined, T0 + 2000, 'c2')).change).toBe('updated');
    expect(await getAlert(s, a.id)).toMatchObject({ count: 2, firstAt: T0, lastAt: T0 + 2000, version: 3 });
  });

  it('reopened: failing again after it was resolved clears the ack and the resolution', async () => {
    const a = await posted();
    await ackAlert(s, a.id, 'U0OPS', T0 + 1);
    await resolveAlert(s, a.id, { ...finding, verdict: 'ok' }, T0 + 2);
    await markResolvePosted(s, a.id, '1.999');
    const r = await raiseAlert(s, a, finding, undefined, T0 + 3, 'c-again');
    // Reopened with a message that went out with the mention: the thread gets the normal alert again.
    expect(r).toEqual({ change: 'reopened', action: 'notify' });
    const h = await raw(s, a.id);
    expect(h).toMatchObject({ state: 'open', count: '2', mentioned: `p:${T0 + 3}` });
    for (const gone of ['ackedBy', 'ackedAt', 'resolvedAt', 'resolved', 'resolvePost'])
      expect(h[gone], gone).toBeUndefined();
  });

  it('wait: another worker holds a fresh post claim; post: a stale one is taken over', async () => {
    const a = alert();
    await raiseAlert(s, a, finding, undefined, T0, 'c1');
    expect((await raiseAlert(s, a, finding, undefined, T0 + CLAIM_STALE_MS, 'c2')).action).toBe('wait');
    expect((await raiseAlert(s, a, finding, undefined, T0 + CLAIM_STALE_MS + 1, 'c3')).action).toBe('post');
    expect((await raw(s, a.id)).posting).toBe(String(T0 + CLAIM_STALE_MS + 1));
  });

  it('edit: posted with the mention, acknowledged, or during a window', async () => {
    const a = await posted(true);
    expect((await raiseAlert(s, a, finding, undefined, T0 + 1, 'c2')).action).toBe('edit');
    const b = await posted(false);
    await ackAlert(s, b.id, 'U0OPS', T0 + 1);
    expect((await raiseAlert(s, b, finding, undefined, T0 + 2, 'c2')).action).toBe('edit');
    const c = await posted(false, WINDOW);
    expect((await raiseAlert(s, c, finding, WINDOW, T0 + 1, 'c2')).action).toBe('edit');
    expect(await getAlert(s, c.id)).toMatchObject({
      windowId: WINDOW.id,
      windowTitle: WINDOW.title,
      windowEnd: WINDOW.end,
      mentioned: false,
    });
  });

  it('notify: posted without the mention and no window any more; once while its claim is fresh', async () => {
    const a = await posted(false, WINDOW);
    const r = await raiseAlert(s, a, finding, undefined, T0 + 10, 'c2');
    expect(r.action).toBe('notify');
    const h = await raw(s, a.id);
    expect(h.mentioned).toBe(`p:${T0 + 10}`);
    // The window's label is cleared.
    expect([h.windowId, h.windowTitle, h.windowEnd]).toEqual(['', '', '']);
    expect((await raiseAlert(s, a, finding, undefined, T0 + 10 + CLAIM_STALE_MS, 'c3')).action).toBe('edit');
    expect((await raiseAlert(s, a, finding, undefined, T0 + 11 + CLAIM_STALE_MS, 'c4')).action).toBe(
      'notify',
    );
    await markMentioned(s, a.id, true);
    expect((await raiseAlert(s, a, finding, undefined, T0 + 12 + 2 * CLAIM_STALE_MS, 'c5')).action).toBe(
      'edit',
    );
  });

  it('drops failures seen more than 400 days ago from the failure index', async () => {
    const st = own();
    const old = alert();
    await raiseAlert(st, old, finding, undefined, T0, 'c1');
    const recent = alert();
    await raiseAlert(st, recent, finding, undefined, T0 + 400 * DAY - 1, 'c2');
    expect(await redis.zrange(`${st.prefix}:dump:failed`, 0, -1)).toEqual([old.id, recent.id]);
    const next = alert();
    await raiseAlert(st, next, finding, undefined, T0 + 400 * DAY, 'c3');
    expect(await redis.zrange(`${st.prefix}:dump:failed`, 0, -1)).toEqual([recent.id, next.id]);
  });
});

describe('dumpSetMessage', () => {
  it('records the first message and ends the post claim; a second one changes nothing', async () => {
    const a = alert();
    await raiseAlert(s, a, finding, undefined, T0, 'c1');
    expect(await setAlertMessage(s, a.id, { channel: 'C0ALERTS', ts: '1.1' }, true)).toBe(true);
    expect(await raw(s, a.id)).toMatchObject({ channel: 'C0ALERTS', ts: '1.1', mentioned: '1' });
    expect((await raw(s, a.id)).posting).toBeUndefined();
    expect(await setAlertMessage(s, a.id, { channel: 'C0OTHER', ts: '2.2' }, false)).toBe(false);
    expect(await raw(s, a.id)).toMatchObject({ channel: 'C0ALERTS', ts: '1.1', mentioned: '1' });
  });
});

describe('dumpRenewClaim', () => {
  it('post: renewed while claimed and not posted; not once posted, released or never taken', async () => {
    const a = alert();
    expect(await renewClaim(s, a.id, 'post', T0)).toBe(false);
    await raiseAlert(s, a, finding, undefined, T0, 'c1');
    expect(await renewClaim(s, a.id, 'post', T0 + 5)).toBe(true);
    expect((await raw(s, a.id)).posting).toBe(String(T0 + 5));
    await releasePost(s, a.id);
    expect(await renewClaim(s, a.id, 'post', T0 + 6)).toBe(false);
    expect((await raw(s, a.id)).posting).toBeUndefined();
  });

  it('notify: renewed while claimed; not once the mention went out or was given up', async () => {
    const a = await posted(false);
    expect(await renewClaim(s, a.id, 'notify', T0 + 1)).toBe(false);
    await raiseAlert(s, a, finding, undefined, T0 + 2, 'c2');
    expect(await renewClaim(s, a.id, 'notify', T0 + 3)).toBe(true);
    expect((await raw(s, a.id)).mentioned).toBe(`p:${T0 + 3}`);
    await markMentioned(s, a.id, false);
    expect(await renewClaim(s, a.id, 'notify', T0 + 4)).toBe(false);
    expect((await raw(s, a.id)).mentioned).toBe('0');
  });

  it('resolve: renewed while claimed; not once posted or given up', async () => {
    const a = await posted();
    expect(await renewClaim(s, a.id, 'resolve', T0 + 1)).toBe(false);
    await resolveAlert(s, a.id, { ...finding, verdict: 'ok' }, T0 + 2);
    expect(await renewClaim(s, a.id, 'resolve', T0 + 3)).toBe(true);
    expect((await raw(s, a.id)).resolvePost).toBe(`claimed:${T0 + 3}`);
    await markResolvePosted(s, a.id, undefined);
    expect(await renewClaim(s, a.id, 'resolve', T0 + 4)).toBe(false);
    await resolveAlert(s, a.id, { ...finding, verdict: 'ok' }, T0 + 5);
    await markResolvePosted(s, a.id, '1.777');
    expect(await renewClaim(s, a.id, 'resolve', T0 + 6)).toBe(false);
    expect((await raw(s, a.id)).resolvePost).toBe('1.777');
  });
});

describe('dumpAck', () => {
  it('ok, then already (with who), resolved, gone', async () => {
    const a = await posted();
    expect(await ackAlert(s, a.id, 'U0OPS', T0 + 1)).toEqual({ result: 'ok' });
    expect(await getAlert(s, a.id)).toMatchObject({
      state: 'acked',
      ackedBy: 'U0OPS',
      ackedAt: T0 + 1,
      version: 2,
    });
    expect(await ackAlert(s, a.id, 'U0DAVE', T0 + 2)).toEqual({ result: 'already', by: 'U0OPS' });
    expect((await getAlert(s, a.id))?.version).toBe(2);
    await resolveAlert(s, a.id, { ...finding, verdict: 'ok' }, T0 + 3);
    expect(await ackAlert(s, a.id, 'U0DAVE', T0 + 4)).toEqual({ result: 'resolved' });
    expect(await ackAlert(s, alert().id, 'U0DAVE', T0)).toEqual({ result: 'gone' });
  });
});

describe('dumpResolve', () => {
  const ok: Finding = { ...finding, verdict: 'ok', seenKey: 'dumps/x_20270115.sql.gz', seenSize: 10 };

  it('post: an open or acknowledged alert is resolved with the reply claimed', async () => {
    const a = await posted();
    expect(await resolveAlert(s, a.id, ok, T0 + 1)).toBe('post');
    expect(await getAlert(s, a.id)).toMatchObject({ state: 'resolved', resolvedAt: T0 + 1, resolved: ok });
    expect((await raw(s, a.id)).resolvePost).toBe(`claimed:${T0 + 1}`);
    const b = await posted();
    await ackAlert(s, b.id, 'U0OPS', T0 + 1);
    expect(await resolveAlert(s, b.id, ok, T0 + 2)).toBe('post');
    expect((await getAlert(s, b.id))?.state).toBe('resolved');
  });

  it('none while the claim is fresh or the reply posted; post once it is stale or given up', async () => {
    const a = await posted();
    await resolveAlert(s, a.id, ok, T0);
    expect(await resolveAlert(s, a.id, ok, T0 + CLAIM_STALE_MS)).toBe('none');
    expect(await resolveAlert(s, a.id, ok, T0 + CLAIM_STALE_MS + 1)).toBe('post');
    await markResolvePosted(s, a.id, undefined);
    expect(await resolveAlert(s, a.id, ok, T0 + CLAIM_STALE_MS + 2)).toBe('post');
    await markResolvePosted(s, a.id, '1.555');
    expect(await resolveAlert(s, a.id, ok, T0 + 10 * CLAIM_STALE_MS)).toBe('none');
    // The first resolution stands.
    expect((await getAlert(s, a.id))?.resolvedAt).toBe(T0);
  });

  it('none: no such alert, and nothing is created', async () => {
    const id = alert().id;
    expect(await resolveAlert(s, id, ok, T0)).toBe('none');
    expect(await getAlert(s, id)).toBeUndefined();
  });
});

describe('dumpClearOpen', () => {
  it("clears the job's open alert when it is this one; a newer day's stays", async () => {
    const job = `job-open-${randomUUID().slice(0, 8)}`;
    const today = alertId(job, '2027-01-16');
    const yesterday = alertId(job, '2027-01-15');
    expect(await clearOpenAlert(s, job, yesterday)).toBe(false);
    await setOpenAlert(s, job, today);
    expect(await clearOpenAlert(s, job, yesterday)).toBe(false);
    expect((await getLastCheck(s, job))?.alertId).toBe(today);
    expect(await clearOpenAlert(s, job, today)).toBe(true);
    expect(await getLastCheck(s, job)).toBeUndefined();
  });
});

describe('the reads', () => {
  it("a check's fields do not linger into the next, and the last pass is kept across failures", async () => {
    const job = `job-last-${randomUUID().slice(0, 8)}`;
    const base = { reason: 'scheduled', day: '2027-01-15' };
    await saveLastCheck(s, job, {
      ...base,
      at: T0,
      verdict: 'ok',
      objectKey: 'k',
      objectDay: 'd',
      objectSize: 5,
      median: 6,
    });
    await saveLastCheck(s, job, { ...base, at: T0 + 1, verdict: 'missing' });
    expect(await getLastCheck(s, job)).toEqual({ ...base, at: T0 + 1, verdict: 'missing', lastPassAt: T0 });
  });

  it('health and open alerts of the configured jobs; the latest failure of any', async () => {
    const st = own();
    expect(await latestFailure(st)).toBeUndefined();
    const [a, b, c] = [alert(), alert(), alert()];
    for (const [x, t] of [
      [a, T0],
      [b, T0 + 2],
      [c, T0 + 1],
    ] as const) {
      await raiseAlert(st, x, finding, undefined, t, 'c1');
      await setOpenAlert(st, x.job, x.id);
    }
    await ackAlert(st, b.id, 'U0OPS', T0 + 3);
    await resolveAlert(st, c.id, { ...finding, verdict: 'ok' }, T0 + 4);
    await saveLastCheck(st, a.job, { at: T0 + 5, reason: 'manual', verdict: 'ok', day: a.day });
    expect(await dumpHealth(st, [a.job, b.job, c.job, 'never'])).toEqual([
      { job: a.job, lastCheckAt: T0 + 5, lastPassAt: T0 + 5, alertId: a.id, alertState: 'open' },
      { job: b.job, lastCheckAt: undefined, lastPassAt: undefined, alertId: b.id, alertState: 'acked' },
      { job: c.job, lastCheckAt: undefined, lastPassAt: undefined, alertId: c.id, alertState: 'resolved' },
      { job: 'never', lastCheckAt: undefined, lastPassAt: undefined, alertId: undefined },
    ]);
    expect((await openAlerts(st, [a.job, b.job, c.job])).map((x) => x.id)).toEqual([b.id, a.id]);
    expect(await latestFailure(st)).toEqual({
      alertId: b.id,
      job: b.job,
      day: b.day,
      at: T0 + 2,
      verdict: 'missing',
    });
  });
});
