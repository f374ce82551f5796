// What the notice job's parts share (jobs/maintenance/context.ts): the notice a job's data names, and
// the skip: a log line and the result that says why.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../infra/logger.js';
import type { JobContext } from '../../../../jobs/common.js';
import { noticeOf, skipped } from '../../../../jobs/maintenance/context.js';
import type { NoticeData } from '../../../../jobs/maintenance/data.js';
import { noticeData } from './world.js';

describe('a notice job', () => {
  it('names its thread notice with the lead and end it has, and only those', () => {
    expect(noticeOf(noticeData('mw-7f3a', { notice: 'remind', due: 5, lead: 600_000 }))).toEqual({
      notice: 'remind',
      due: 5,
      lead: 600_000,
    });
    expect(noticeOf(noticeData('mw-7f3a', { notice: 'extend', due: 5, end: 9, from: 7 }))).toEqual({
      notice: 'extend',
      due: 5,
      end: 9,
    });
  });

  it('skips with a log line naming the window, the notice (or its mail) and why', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
    const ctx = { log } as unknown as JobContext<NoticeData>;
    expect(skipped(ctx, noticeData('mw-7f3a', { notice: 'end', due: 5, end: 9 }), 'stale')).toEqual({
      windowId: 'mw-7f3a',
      notice: 'end-9',
      outcome: 'skipped',
      why: 'stale',
    });
    const mail = noticeData('mw-7f3a', {
      notice: 'mail',
      due: 5,
      mail: { notice: 'start', due: 5, lateMs: 0 },
    });
    expect(skipped(ctx, mail, 'gone')).toMatchObject({ notice: 'mail-start', outcome: 'skipped' });
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { windowId: 'mw-7f3a', notice: 'end-9', why: 'stale', msg: 'notice skipped' },
      { windowId: 'mw-7f3a', notice: 'mail-start', why: 'gone', msg: 'notice skipped' },
    ]);
  });
});
