// Each outcome of each Lua script of jobs/maintenance/scripts.ts, called as its header says (KEYS,
// ARGV) on the real Redis, with what it wrote read back from the window's hash.
import { describe, expect, it } from 'vitest';
import { runScript, SCRIPTS } from '../../../../jobs/maintenance/scripts.js';
import { createWindow, getWindow, indexKey, windowKey } from '../../../../jobs/maintenance/store.js';
import { type NoticeSpec, noticeKey, specField } from '../../../../jobs/maintenance/window.js';
import {
  announce,
  cancel as cancelAt,
  END,
  end as endAt,
  LEASE,
  newWindow,
  remind,
  START,
  start,
  T0,
  useStore,
} from './world.js';

const s = useStore('mw-scripts');
const { redis } = s;
const GRACE = 60_000;
const end = endAt();
const cancel = cancelAt(START + 1);

/** A stored window (its reminder registered); `fields` written over it raw. */
async function stored(fields: Record<string, string> = {}): Promise<string> {
  const w = await createWindow(s, newWindow('Scripts'), [30_000]);
  if (Object.keys(fields).length) await redis.hset(windowKey(s, w.id), fields);
  return w.id;
}
const field = (id: string, f: string) => redis.hget(windowKey(s, id), f);
const absent = 'mw-0000abcd';

const claim = (id: string, n: NoticeSpec, now: number, token = 'A') =>
  runScript(
    redis,
    'mwClaim',
    [windowKey(s, id)],
    [now, noticeKey(n), specField(n), token, now + LEASE, GRACE],
  ) as Promise<string[]>;

describe('the scripts', () => {
  it('are each registered under a mw name, with the number of keys their header gives', () => {
    for (const [name, script] of Object.entries(SCRIPTS)) {
      expect(name).toMatch(/^mw[A-Z]/);
      expect(script.lua).toContain(`KEYS[${script.keys}]`);
      expect(script.lua).not.toContain(`KEYS[${script.keys + 1}]`);
    }
  });
});

describe('mwCreate', () => {
  const create = (id: string, requestId: string, start = START) =>
    runScript(
      redis,
      'mwCreate',
      [windowKey(s, id), indexKey(s)],
      [start, END + 1_000, id, T0 - 1, 'id', id, 'state', 'scheduled', 'requestId', requestId],
    );

  it('creates the window, sets its expiry, indexes it and trims index entries too old to matter', async () => {
    await redis.zadd(indexKey(s), T0 - 5, 'mw-0ld0');
    expect(await create('mw-c0de', 'req-a')).toBe(1);
    expect(await redis.hgetall(windowKey(s, 'mw-c0de'))).toEqual({
      id: 'mw-c0de',
      state: 'scheduled',
      requestId: 'req-a',
    });
    expect(await redis.pexpiretime(windowKey(s, 'mw-c0de'))).toBe(END + 1_000);
    expect(await redis.zscore(indexKey(s), 'mw-c0de')).toBe(String(START));
    expect(await redis.zscore(indexKey(s), 'mw-0ld0')).toBeNull();
  });

  it("answers an existing window's request id and writes nothing ('' when it has none)", async () => {
    expect(await create('mw-c0d1', 'req-a')).toBe(1);
    expect(await create('mw-c0d1', 'req-b', START + 5)).toBe('req-a');
    expect(await field('mw-c0d1', 'requestId')).toBe('req-a');
    expect(await redis.zscore(indexKey(s), 'mw-c0d1')).toBe(String(START));
    expect(await create('mw-c0d2', '')).toBe(1);
    expect(await create('mw-c0d2', 'req-c')).toBe('');
  });
});

describe('mwRegisterNotices', () => {
  it('registers the notices a window lacks and keeps those it has', async () => {
    const id = await stored();
    const moved: NoticeSpec = { ...start, due: START + 5 };
    const extra: NoticeSpec = { notice: 'remind', lead: 10_000, due: START - 10_000 };
    const args = [`n:${noticeKey(moved)}`, specField(moved), `n:${noticeKey(extra)}`, specField(extra)];
    expect(await runScript(redis, 'mwRegisterNotices', [windowKey(s, id)], args)).toBe(1);
    expect(await field(id, 'n:start')).toBe(specField(start));
    expect(await field(id, 'n:remind-10000')).toBe(specField(extra));
  });

  it('writes nothing for a window that does not exist', async () => {
    expect(
      await runScript(redis, 'mwRegisterNotices', [windowKey(s, absent)], ['n:start', specField(start)]),
    ).toBe(0);
    expect(await redis.exists(windowKey(s, absent))).toBe(0);
  });
});

describe('mwSetAnnouncement', () => {
  it('records the first announcement and keeps it against a later one', async () => {
    const id = await stored();
    const set = (ts: string) => runScript(redis, 'mwSetAnnouncement', [windowKey(s, id)], ['C0MAINT', ts]);
    expect(await set('1.000100')).toBe(1);
    expect(await set('1.000200')).toBe(0);
    expect(await getWindow(s, id)).toMatchObject({ channel: 'C0MAINT', ts: '1.000100' });
    expect(await field(id, 'sent:announce')).toBe('1.000100');
  });
});

describe('mwClaim', () => {
  /** A window whose announcement is posted. */
  const announced = (fields: Record<string, string> = {}) =>
    stored({ channel: 'C0MAINT', ts: '1.000100', 'sent:announce': '1.000100', ...fields });

  it('gone: no such window (and nothing is written)', async () => {
    expect(await claim(absent, start, START)).toEqual(['gone']);
    expect(await redis.exists(windowKey(s, absent))).toBe(0);
  });

  it('post: the asked notice, in flight under the token until the lease ends; the start moves the window to in-progress', async () => {
    const id = await announced();
    const version = Number(await field(id, 'version'));
    expect(await claim(id, start, START, 'S')).toEqual(['post', 'start', specField(start), '0', '0']);
    expect(await field(id, 'sent:start')).toBe(`fly:${START + LEASE}:S`);
    expect(await field(id, 'state')).toBe('in-progress');
    expect(Number(await field(id, 'version'))).toBe(version + 1);
  });

  it('post: the end moves the window to completed', async () => {
    const id = await announced({ 'sent:start': '1.000102', state: 'in-progress' });
    expect(await claim(id, end, END)).toEqual(['post', `end-${END}`, specField(end), '0', '0']);
    expect(await field(id, 'state')).toBe('completed');
  });

  it('post with first: an earlier notice of the thread that is due and not in flight, with lookFirst once tried', async () => {
    const id = await announced({ 'sent:start': 'unsure' });
    expect(await claim(id, end, END, 'E')).toEqual(['post', 'start', specField(start), '1', '1']);
    expect(await field(id, 'sent:start')).toBe(`fly:${END + LEASE}:E`);
  });

  it('post with first: the announcement of a window never announced, before a later notice', async () => {
    const id = await stored();
    expect(await claim(id, start, START)).toEqual(['post', 'announce', specField(announce), '1', '0']);
  });

  it('registers the asked notice when the window lacks it', async () => {
    const id = await announced({ 'sent:remind-30000': '1.000101' });
    const late: NoticeSpec = { notice: 'remind', lead: 5_000, due: START - 5_000 };
    expect(await claim(id, late, START - 5_000)).toEqual(['post', 'remind-5000', specField(late), '0', '0']);
    expect(await field(id, 'n:remind-5000')).toBe(specField(late));
  });

  it('wait: another notice of the window is in flight under another token, until its lease lapses', async () => {
    const id = await announced({ 'sent:remind-30000': `fly:${START + 5_000}:R` });
    expect(await claim(id, start, START, 'S')).toEqual(['wait']);
    // The same token is not "another poster".
    expect((await claim(id, start, START, 'R')).slice(0, 2)).toEqual(['post', 'start']);
  });

  it('sent: already posted', async () => {
    const id = await announced({ 'sent:start': '1.000102' });
    expect(await claim(id, start, START + 1)).toEqual(['sent']);
  });

  it('skip: a reminder once the start is due, a moved end, anything but the cancellation after a cancel', async () => {
    const id = await announced();
    expect(await claim(id, remind, START)).toEqual(['skip', 'started']);
    const moved: NoticeSpec = { notice: 'end', due: END + 5, end: END + 5 };
    expect(await claim(id, moved, END + 5)).toEqual(['skip', 'stale']);
    expect(await claim(id, cancel, START + 1)).toEqual(['skip', 'not-cancelled']);
    await redis.hset(windowKey(s, id), 'state', 'cancelled', 'n:cancel', specField(cancel));
    expect(await claim(id, start, START + 2)).toEqual(['skip', 'cancelled']);
    expect((await claim(id, cancel, START + 2)).slice(0, 2)).toEqual(['post', 'cancel']);
  });

  it('skip: nothing of a window cancelled before its announcement; nothing in a thread with no root', async () => {
    const cancelled = await stored({ state: 'cancelled', 'n:cancel': specField(cancel) });
    expect(await claim(cancelled, announce, T0 + 1)).toEqual(['skip', 'cancelled before it was announced']);
    expect(await claim(cancelled, cancel, START + 1)).toEqual(['skip', 'cancelled before it was announced']);
    const rootless = await stored({ 'sent:announce': 'dropped' });
    expect(await claim(rootless, start, START)).toEqual(['skip', 'never announced']);
  });

  it('drop: once the window ended more than the grace ago, recorded until the operators are told; then skip', async () => {
    const id = await announced();
    const late = END + GRACE + 1;
    const why = 'the window ended more than the grace time ago';
    expect(await claim(id, start, late)).toEqual(['drop', why]);
    expect(await field(id, 'sent:start')).toBe(`drop:${why}`);
    expect(await claim(id, start, late + 1)).toEqual(['drop', why]);
    await redis.hset(windowKey(s, id), 'sent:start', 'dropped');
    expect(await claim(id, start, late + 2)).toEqual(['skip', 'dropped earlier']);
  });
});

describe('mwRenewClaim and mwReleaseClaim', () => {
  const renew = (id: string, token: string, until: number) =>
    runScript(redis, 'mwRenewClaim', [windowKey(s, id)], ['start', token, until]);
  const release = (id: string, token: string) =>
    runScript(redis, 'mwReleaseClaim', [windowKey(s, id)], ['start', token]);

  it("renew: extends the lease while the claim is the token's; not another's, not a claim that is gone", async () => {
    const id = await stored({ 'sent:start': `fly:${START + LEASE}:S` });
    expect(await renew(id, 'S', START + 3 * LEASE)).toBe(1);
    expect(await field(id, 'sent:start')).toBe(`fly:${START + 3 * LEASE}:S`);
    expect(await renew(id, 'X', START + 9 * LEASE)).toBe(0);
    expect(await field(id, 'sent:start')).toBe(`fly:${START + 3 * LEASE}:S`);
    expect(await renew(await stored(), 'S', START)).toBe(0);
  });

  it("release: leaves the token's claim unsure; another's claim is kept", async () => {
    const id = await stored({ 'sent:start': `fly:${START + LEASE}:S` });
    expect(await release(id, 'X')).toBe(0);
    expect(await field(id, 'sent:start')).toBe(`fly:${START + LEASE}:S`);
    expect(await release(id, 'S')).toBe(1);
    expect(await field(id, 'sent:start')).toBe('unsure');
    expect(await release(id, 'S')).toBe(0);
  });
});

describe('mwCancel', () => {
  const cancelAs = (id: string, by: string, at = START + 1) =>
    runScript(redis, 'mwCancel', [windowKey(s, id)], [by, at]);

  it('moves a scheduled or running window to cancelled, with its cancellation notice, once', async () => {
    const id = await stored();
    expect(await cancelAs(id, 'req-1')).toEqual(['scheduled', 1]);
    expect(await getWindow(s, id)).toMatchObject({ state: 'cancelled', version: 2 });
    expect(await field(id, 'n:cancel')).toBe(specField(cancel));
    const running = await stored({ state: 'in-progress' });
    expect(await cancelAs(running, '')).toEqual(['in-progress', 1]);
  });

  it('tells the request that cancelled it so (and from which state); another request, and a closed window, nothing', async () => {
    const id = await stored({ state: 'in-progress' });
    expect(await cancelAs(id, 'req-1')).toEqual(['in-progress', 1]);
    expect(await cancelAs(id, 'req-1', START + 9)).toEqual(['in-progress', 1]);
    expect(await cancelAs(id, 'req-2')).toEqual(['cancelled', 0]);
    expect(await cancelAs(id, '')).toEqual(['cancelled', 0]);
    expect(await field(id, 'n:cancel')).toBe(specField(cancel));
    const done = await stored({ state: 'completed' });
    expect(await cancelAs(done, 'req-3')).toEqual(['completed', 0]);
    expect(await field(done, 'state')).toBe('completed');
  });

  it('gone: no such window', async () => {
    expect(await cancelAs(absent, 'req-1')).toEqual(['gone', 0]);
    expect(await redis.exists(windowKey(s, absent))).toBe(0);
  });
});

describe('mwExtend', () => {
  const extend = (id: string, from: number, to: number) =>
    runScript(redis, 'mwExtend', [windowKey(s, id)], [from, to, to + 1_000, START + 5]);

  it('applied: moves the end, registers the extension and the new end notice, keeps the window longer', async () => {
    const id = await stored();
    expect(await extend(id, END, END + 30_000)).toBe('applied');
    expect(await field(id, 'end')).toBe(String(END + 30_000));
    expect(await field(id, `n:extend-${END + 30_000}`)).toBe(`extend|${START + 5}||${END + 30_000}`);
    expect(await field(id, `n:end-${END + 30_000}`)).toBe(`end|${END + 30_000}||${END + 30_000}`);
    expect(await redis.pexpiretime(windowKey(s, id))).toBe(END + 31_000);
    expect(await field(id, 'version')).toBe('2');
  });

  it('already: this very move was made; stale: the end is neither', async () => {
    const id = await stored();
    expect(await extend(id, END, END + 30_000)).toBe('applied');
    expect(await extend(id, END, END + 30_000)).toBe('already');
    expect(await extend(id, END, END + 60_000)).toBe('stale');
    expect(await field(id, 'end')).toBe(String(END + 30_000));
  });

  it('the state of a completed or cancelled window, and gone', async () => {
    expect(await extend(await stored({ state: 'completed' }), END, END + 1)).toBe('completed');
    const cancelled = await stored({ state: 'cancelled' });
    expect(await extend(cancelled, END, END + 1)).toBe('cancelled');
    expect(await field(cancelled, 'end')).toBe(String(END));
    expect(await extend(absent, END, END + 1)).toBe('gone');
  });
});

describe('mwEdit', () => {
  const edit = (id: string) => runScript(redis, 'mwEdit', [windowKey(s, id)], ['I2', 'P2', 'R2', 'C2']);

  it('changes the texts of a scheduled or running window and answers its state', async () => {
    for (const state of ['scheduled', 'in-progress']) {
      const id = await stored({ state });
      expect(await edit(id)).toBe(state);
      expect(await getWindow(s, id)).toMatchObject({
        impact: 'I2',
        purpose: 'P2',
        rollback: 'R2',
        contact: 'C2',
      });
      expect(await field(id, 'version')).toBe('2');
    }
  });

  it('keeps the texts of a window that ended, and answers gone for none', async () => {
    for (const state of ['completed', 'cancelled']) {
      const id = await stored({ state });
      expect(await edit(id)).toBe(state);
      expect(await getWindow(s, id)).toMatchObject({ impact: 'i', contact: 'c', version: 1 });
    }
    expect(await edit(absent)).toBe('gone');
    expect(await redis.exists(windowKey(s, absent))).toBe(0);
  });
});
