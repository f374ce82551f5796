// The maintenance queue's job ids and the reminder leads of the config (jobs/maintenance/data.ts).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../infra/config.js';
import { mailJobId, noticeJobId, reminderLeads } from '../../../../jobs/maintenance/data.js';

describe('maintenance jobs', () => {
  it('names each notice and each mail of a window by one deterministic id', () => {
    expect(noticeJobId('mw-7f3a', { notice: 'announce' })).toBe('mw-7f3a-announce');
    expect(noticeJobId('mw-7f3a', { notice: 'remind', lead: 600_000 })).toBe('mw-7f3a-remind-600000');
    expect(noticeJobId('mw-7f3a', { notice: 'end', end: 5 })).toBe('mw-7f3a-end-5');
    expect(mailJobId('mw-7f3a', { notice: 'end', due: 5, end: 5 })).toBe('mw-7f3a-mail-end-5');
    expect(mailJobId('mw-7f3a', { notice: 'start', due: 5 })).not.toBe(
      noticeJobId('mw-7f3a', { notice: 'start' }),
    );
  });

  it('reads maintenance.remindBefore as leads in ms, longest first', () => {
    const config = parseConfig({ accounts: {}, maintenance: { remindBefore: ['10m', '1d', '1h'] } }, '/tmp');
    expect(reminderLeads(config)).toEqual([86_400_000, 3_600_000, 600_000]);
  });
});
