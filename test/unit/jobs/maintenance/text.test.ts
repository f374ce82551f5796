// What a window looks like in Slack and in mail (jobs/maintenance/text.ts): everything a person typed
// (the title, the Edit modal's fields) is escaped in every Slack rendering, fallback text included;
// mail keeps the plain text.
import { describe, expect, it } from 'vitest';
import {
  announcementCard,
  droppedText,
  mailText,
  noticeLine,
  templateText,
} from '../../../../jobs/maintenance/text.js';
import type { MaintenanceWindow, NoticeSpec } from '../../../../jobs/maintenance/window.js';

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
