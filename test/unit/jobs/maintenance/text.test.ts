// What a window looks like in Slack and in mail: everything a person typed (the title, the Edit modal's
// fields, a bad argument quoted back) is escaped in every Slack rendering, fallback text included;
// mail keeps the plain text. And the bounds of a schedule command's start.
import { describe, expect, it } from 'vitest';
import { parseMaintenanceArgs } from '../../../../handlers/maintenance/command.js';
import { UserError } from '../../../../infra/errors.js';
import {
  announcementCard,
  droppedText,
  mailText,
  noticeLine,
  templateText,
} from '../../../../jobs/maintenance/job.js';
import type { MaintenanceWindow, NoticeSpec } from '../../../../jobs/maintenance/store.js';

const INJECTIONS = ['<!channel>', '<!here>', '<@U0EVIL>', '<https://evil.example|re-approve here>'];
const EVIL = `Patch ${INJECTIONS.join(' ')} & more`;
const ZONE = 'Asia/Tokyo';
const NOW = Date.UTC(2026, 11, 1, 0, 0);

const window: MaintenanceWindow = {
  id: 'mw-7f3a',
  title: EVIL,
  start: NOW + 3_600_000,
  end: NOW + 7_200_000,
  state: 'scheduled',
  createdBy: 'U0OPS',
  createdAt: NOW,
  impact: `impact ${EVIL}`,
  purpose: `purpose ${EVIL}`,
  rollback: `rollback ${EVIL}`,
  contact: `contact ${EVIL}`,
  sent: {},
  notices: [],
  version: 1,
};

/** No raw injection anywhere in what Slack gets; the escaped form is there instead. */
function expectInert(rendered: string): void {
  for (const raw of INJECTIONS) expect(rendered).not.toContain(raw);
  expect(rendered).toContain('&lt;!channel&gt;');
  expect(rendered).toContain('&amp; more');
}

const notices: NoticeSpec[] = [
  { notice: 'remind', due: NOW + 1_000, lead: 3_600_000 },
  { notice: 'start', due: window.start },
  { notice: 'end', due: window.end, end: window.end },
  { notice: 'cancel', due: NOW + 2_000 },
  { notice: 'extend', due: NOW + 3_000, end: window.end },
];

describe('a window in Slack', () => {
  it('escapes the title and every Edit-modal field in the announcement, its fallback text included, in every state', () => {
    for (const state of ['scheduled', 'in-progress', 'completed', 'cancelled'] as const) {
      const card = announcementCard({ ...window, state }, ZONE);
      expectInert(card.text);
      expectInert(JSON.stringify(card.blocks));
      for (const field of ['impact', 'purpose', 'rollback', 'contact']) {
        expect(JSON.stringify(card.blocks)).toContain(`${field} Patch &lt;!channel&gt;`);
      }
    }
  });

  it('escapes the title in every thread notice, late or not', () => {
    for (const n of notices) {
      expectInert(noticeLine(n, window, ZONE, 0));
      expectInert(noticeLine(n, window, ZONE, 60_000));
    }
    expect(noticeLine(notices[1] as NoticeSpec, window, ZONE, 60_000)).toMatch(/_\(late: due .*\)_/);
  });

  it('escapes the title in the operators alert of a dropped notice', () => {
    expectInert(droppedText(notices[1] as NoticeSpec, window, window.id, ZONE, 'the window ended'));
  });

  it('keeps the plain text in mail: no entity, no markup, no Slack date token', () => {
    for (const n of [{ notice: 'announce', due: NOW } as NoticeSpec, ...notices]) {
      const text = mailText(n, window, ZONE, 60_000);
      expect(text).toContain(EVIL);
      expect(text).toContain(`contact contact ${EVIL}`);
      expect(text).not.toMatch(/&lt;|&amp;|<!date|\*Timeline/);
    }
    expect(mailText(notices[1] as NoticeSpec, window, ZONE, 60_000)).toMatch(
      /^Started: Maintenance Patch .* has started\. Planned end 2026-12-01 11:00 JST\. \(late: due/,
    );
    expect(templateText(window, ZONE, false)).toContain(`Impact: impact ${EVIL}`);
  });
});

describe('/maintenance arguments', () => {
  const refusal = (text: string, maxLeadDays = 365): UserError => {
    try {
      parseMaintenanceArgs(text, ZONE, NOW, maxLeadDays);
    } catch (err) {
      if (err instanceof UserError) return err;
      throw err;
    }
    throw new Error(`accepted: ${text}`);
  };

  it('quotes a bad argument back escaped', () => {
    for (const text of [
      'reboot<!channel>',
      'cancel <!here>',
      'schedule <!channel> 30m Title',
      'schedule +1h <@U0EVIL> Title',
    ]) {
      const message = refusal(text).message;
      expect(message).not.toMatch(/<!channel>|<!here>|<@U0EVIL>/);
      expect(message).toMatch(/&lt;/);
    }
  });

  it('refuses a start further ahead than maintenance.maxLeadDays, and says which setting', () => {
    expect(refusal('schedule 2027-12-10 10:00 1h Far', 365).message).toMatch(
      /more than 365 days ahead.*maintenance\.maxLeadDays/,
    );
    expect(refusal('schedule +11d 1h Soon', 10).message).toMatch(/more than 10 days ahead/);
    expect(parseMaintenanceArgs('schedule +9d 1h Soon', ZONE, NOW, 10)).toMatchObject({ sub: 'schedule' });
    expect(parseMaintenanceArgs('schedule 2027-11-30 10:00 1h Near', ZONE, NOW, 365)).toMatchObject({
      start: Date.UTC(2027, 10, 30, 1, 0),
    });
  });

  it('refuses offsets beyond ±14:00 and accepts those within', () => {
    expect(refusal('schedule 2026-12-06T02:00+15:00 1h Off').message).toMatch(/-14:00 to \+14:00/);
    expect(refusal('schedule 2026-12-06T02:00-14:30 1h Off').message).toMatch(/-14:00 to \+14:00/);
    expect(parseMaintenanceArgs('schedule 2026-12-06T02:00+14:00 1h Kiribati', ZONE, NOW, 365)).toMatchObject(
      {
        start: Date.UTC(2026, 11, 5, 12, 0),
      },
    );
    expect(parseMaintenanceArgs('schedule 2026-12-06T02:00-12:00 1h Baker', ZONE, NOW, 365)).toMatchObject({
      start: Date.UTC(2026, 11, 6, 14, 0),
    });
  });
});
