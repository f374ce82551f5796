// A model-based test of a window's notice claims (jobs/maintenance/store.ts) on the real Redis:
// random sequences of claims by several posters, posts that succeed or fail, lease lapses (time),
// cancels and extensions; after every step the invariants hold: at most one notice of a window is in
// flight, what is posted is in thread order, nothing but the cancellation follows a cancel, no
// reminder after the start, nothing posted twice.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cancelWindow,
  claimNotice,
  createWindow,
  extendWindow,
  getWindow,
  markDropped,
  markSent,
  releaseClaim,
  setAnnouncement,
} from '../../../../jobs/maintenance/store.js';
import { type NoticeSpec, noticeKey, threadOrder } from '../../../../jobs/maintenance/window.js';
import { LEASE, newWindow, T0, useStore } from './world.js';

const s = useStore('mw-model');
const GRACE = 30_000;
const TOKENS = ['A', 'B', 'C'] as const;
type Token = (typeof TOKENS)[number];

type Action =
  | { a: 'tick'; ms: number }
  | { a: 'claim'; which: number; token: Token }
  | { a: 'post'; token: Token }
  | { a: 'fail'; token: Token }
  | { a: 'cancel' }
  | { a: 'extend'; ms: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ a: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 25_000 }) }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      a: fc.constant('claim' as const),
      which: fc.integer({ min: 0, max: 9 }),
      token: fc.constantFrom(...TOKENS),
    }),
  },
  { weight: 3, arbitrary: fc.record({ a: fc.constant('post' as const), token: fc.constantFrom(...TOKENS) }) },
  { weight: 2, arbitrary: fc.record({ a: fc.constant('fail' as const), token: fc.constantFrom(...TOKENS) }) },
  { weight: 1, arbitrary: fc.constant({ a: 'cancel' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ a: fc.constant('extend' as const), ms: fc.integer({ min: 1_000, max: 30_000 }) }),
  },
);

describe('notice claims, model-based', () => {
  it('keep the invariants under any sequence of claims, failures, lapses, cancels and extensions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 40 }), async (actions) => {
        const w = await createWindow(s, newWindow('Model'), [40_000, 20_000]);
        let now = T0;
        let cancelledAt: number | undefined;
        // What each poster holds: the key and spec it was granted, until it posts or fails.
        const held = new Map<Token, { key: string; spec: NoticeSpec; until: number }>();
        const posted: NoticeSpec[] = [];
        const postedKeys = new Set<string>();
        let seq = 0;
        for (const act of actions) {
          const win = await getWindow(s, w.id);
          if (!win) throw new Error('window vanished');
          if (act.a === 'tick') now += act.ms;
          else if (act.a === 'cancel') {
            const r = await cancelWindow(s, w.id, `req-${seq++}`, now);
            if (r.cancelled) cancelledAt ??= now;
          } else if (act.a === 'extend') {
            await extendWindow(s, w.id, { from: win.end, to: win.end + act.ms, at: now });
          } else if (act.a === 'claim') {
            // Any registered notice that is due, as the job of that notice would ask (BullMQ runs a
            // notice's delayed job at its due time, never before), or a stale end.
            const asked = win.notices[act.which % Math.max(1, win.notices.length)];
            if (!asked || held.has(act.token) || asked.due > now) continue;
            const c = await claimNotice(s, w.id, asked, now, {
              token: act.token,
              leaseMs: LEASE,
              graceMs: GRACE,
            });
            if (c.status === 'drop') await markDropped(s, w.id, noticeKey(asked));
            if (c.status !== 'post') continue;
            // Exclusive: nobody else holds a live claim of this window.
            for (const [other, h] of held) {
              if (other !== act.token && h.until > now) {
                throw new Error(`${act.token} got ${c.key} while ${other} holds ${h.key}`);
              }
            }
            // After a cancel only the cancellation (or an announcement already tried) goes out.
            if (cancelledAt !== undefined && c.spec.notice !== 'cancel' && c.spec.notice !== 'announce') {
              throw new Error(`${c.key} claimed after the cancel`);
            }
            if (c.spec.notice === 'remind' && now >= win.start) throw new Error('a reminder after the start');
            // An earlier notice is only handed out as `first` when it precedes the asked one.
            if (c.first && threadOrder(c.spec, asked) >= 0)
              throw new Error(`${c.key} is not before ${noticeKey(asked)}`);
            held.set(act.token, { key: c.key, spec: c.spec, until: now + LEASE });
          } else {
            const h = held.get(act.token);
            if (!h) continue;
            held.delete(act.token);
            // A poster that outlived its lease may find its claim taken: it gives up like postOnce would
            // after finding the post (lookFirst) by the taker; only posts of a live claim count.
            if (act.a === 'fail' || h.until <= now) {
              await releaseClaim(s, w.id, h.key, act.token);
              continue;
            }
            const ts = `1.${String(++seq).padStart(6, '0')}`;
            if (h.key === 'announce') await setAnnouncement(s, w.id, 'C0MAINT', ts);
            else await markSent(s, w.id, h.key, ts);
            if (postedKeys.has(h.key)) throw new Error(`${h.key} posted twice`);
            postedKeys.add(h.key);
            posted.push(h.spec);
          }
          // Thread order of what was posted.
          for (let i = 1; i < posted.length; i++) {
            const [a, b] = [posted[i - 1] as NoticeSpec, posted[i] as NoticeSpec];
            expect(threadOrder(a, b), `${noticeKey(a)} before ${noticeKey(b)}`).toBeLessThan(0);
          }
        }
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 150) },
    );
  }, 60_000);
});
