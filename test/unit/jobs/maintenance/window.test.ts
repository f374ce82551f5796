// A window's thread plan (jobs/maintenance/window.ts): the notices' keys, their order, the standard
// plan, and a notice written as a hash field and read back.
import { describe, expect, it } from 'vitest';
import * as window from '../../../../jobs/maintenance/window.js';

const T0 = 1_800_000_000_000;
const START = T0 + 3_600_000;
const END = START + 1_800_000;

describe('a window and its notices', () => {
  it('gives each notice a key without a colon (BullMQ job ids are made of it)', () => {
    expect(window.noticeKey({ notice: 'announce' })).toBe('announce');
    expect(window.noticeKey({ notice: 'remind', lead: 600_000 })).toBe('remind-600000');
    expect(window.noticeKey({ notice: 'end', end: END })).toBe(`end-${END}`);
    expect(window.noticeKey({ notice: 'extend', end: END })).toBe(`extend-${END}`);
    expect(window.noticeKey({ notice: 'cancel', end: END })).toBe('cancel');
  });

  it('plans the announcement, the reminders still ahead (longest first), the start and the end', () => {
    const plan = window.standardNotices(
      { start: START, end: END, createdAt: T0 },
      [600_000, 7_200_000, 60_000],
    );
    expect(plan).toEqual([
      { notice: 'announce', due: T0 },
      { notice: 'remind', lead: 600_000, due: START - 600_000 },
      { notice: 'remind', lead: 60_000, due: START - 60_000 },
      { notice: 'start', due: START },
      { notice: 'end', due: END, end: END },
    ]);
  });

  it('orders the thread by due time, then by kind, then the longer reminder first', () => {
    const at = START;
    const specs: window.NoticeSpec[] = [
      { notice: 'end', due: at, end: at },
      { notice: 'cancel', due: at },
      { notice: 'start', due: at },
      { notice: 'extend', due: at, end: END },
      { notice: 'remind', lead: 1_000, due: at },
      { notice: 'remind', lead: 5_000, due: at },
      { notice: 'announce', due: at },
      { notice: 'start', due: at - 1 },
    ];
    expect([...specs].sort(window.threadOrder).map(window.noticeKey)).toEqual([
      'start',
      'announce',
      'remind-5000',
      'remind-1000',
      `extend-${END}`,
      'start',
      'cancel',
      `end-${at}`,
    ]);
  });

  it('writes a notice as `kind|due|lead|end` and reads it back; anything else is no notice', () => {
    const specs: window.NoticeSpec[] = [
      { notice: 'announce', due: T0 },
      { notice: 'remind', lead: 600_000, due: START - 600_000 },
      { notice: 'extend', due: START + 5, end: END },
    ];
    for (const n of specs) expect(window.specOf(window.specField(n))).toEqual(n);
    expect(window.specField(specs[2] as window.NoticeSpec)).toBe(`extend|${START + 5}||${END}`);
    expect(window.specOf('edit|1||')).toBeUndefined();
    expect(window.specOf('')).toBeUndefined();
    expect(window.noticeFields(specs.slice(0, 2))).toEqual([
      'n:announce',
      `announce|${T0}||`,
      'n:remind-600000',
      `remind|${START - 600_000}|600000|`,
    ]);
  });

  it('makes short window ids, and longer ones when asked', () => {
    expect(window.newWindowId()).toMatch(/^mw-[0-9a-f]{4}$/);
    expect(window.newWindowId(true)).toMatch(/^mw-[0-9a-f]{8}$/);
    expect(window.WINDOW_ID.test(window.newWindowId())).toBe(true);
    expect(window.WINDOW_ID.test('mw-12')).toBe(false);
  });
});
