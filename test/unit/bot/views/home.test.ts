// The App Home view (bot/views/home.ts) for an approver, a non-approver and a person with nothing
// open; its buttons are the channel cards' own; what people typed is inert; it fits Slack's limits.
import { readFileSync } from 'node:fs';
import type { HomeView, KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import {
  type HomeData,
  type HomePhase,
  type HomeRequest,
  type HomeWindow,
  homeView,
} from '../../../../bot/views/home.js';
import { blockErrors } from '../../../../devkit/fake-slack.js';
import { alertCard } from '../../../../jobs/dumps/alert-card.js';
import type { DumpAlert } from '../../../../jobs/dumps/store.js';

const NOW = Date.UTC(2026, 11, 6, 3, 0, 0);
const MIN = 60_000;

const ENDED_WINDOW: HomeWindow = {
  id: 'mw-old1',
  title: 'Done already',
  start: NOW - 120 * MIN,
  end: NOW - 60 * MIN,
  state: 'in-progress',
  createdBy: 'U0OPS',
};
const PHASES: HomePhase[] = [
  { name: 'Phase 1, infrastructure', done: true, detail: 'all checks pass' },
  { name: 'Phase 2, parallel testing', done: true, detail: 'streak 7 of 7' },
  { name: 'Phase 3, instance profile', done: false, detail: 'request p3-abc123 pending' },
];
const REQUEST: HomeRequest = {
  id: 'p3-abc123',
  kind: 'phase3',
  requester: 'U0ADMIN',
  summary: 'Stop i-0123 and attach chatops-cron-profile in window mw-ab12',
  approvals: ['U0APPR2'],
  needed: 2,
  expiresAt: NOW + 30 * MIN,
};

function data(over: Partial<HomeData> = {}): HomeData {
  return {
    viewer: 'U0APPR1',
    isApprover: true,
    zone: 'Asia/Tokyo',
    now: NOW,
    alerts: [
      {
        id: 'da-orders-20261206',
        job: 'orders',
        day: '2026-12-06',
        state: 'open',
        count: 2,
        lastAt: NOW - 5 * MIN,
        seen: 'missing',
      },
      {
        id: 'da-billing-20261206',
        job: 'billing',
        day: '2026-12-06',
        state: 'acked',
        count: 1,
        lastAt: NOW - 50 * MIN,
        ackedBy: 'U0OPS',
        windowId: 'mw-ab12',
      },
    ],
    windows: [
      {
        id: 'mw-ab12',
        title: 'DB upgrade',
        start: NOW - 10 * MIN,
        end: NOW + 50 * MIN,
        state: 'in-progress',
        createdBy: 'U0OPS',
      },
      {
        id: 'mw-cd34',
        title: 'Kernel patch',
        start: NOW + 2 * 86_400_000,
        end: NOW + 2 * 86_400_000 + 60 * MIN,
        state: 'scheduled',
        createdBy: 'U0OPS',
      },
      ENDED_WINDOW,
    ],
    migration: {
      phases: PHASES,
      requests: [REQUEST],
    },
    jobs: [
      { id: 'j1', queue: 'reset-password', name: 'reset', state: 'completed', createdAt: NOW - 3 * MIN },
      {
        id: 'j2',
        queue: 'ddb-export',
        name: 'export prod_txlog',
        state: 'failed',
        createdAt: NOW - 9 * MIN,
        failedReason: 'AccessDenied',
      },
    ],
    ...over,
  };
}

interface Btn {
  action_id: string;
  value: string;
  block_id: string;
  confirm?: unknown;
}

const blocksOf = (view: HomeView) => view.blocks as KnownBlock[];

function buttons(view: HomeView): Btn[] {
  const out: Btn[] = [];
  for (const b of blocksOf(view)) {
    if (b.type !== 'actions') continue;
    for (const e of b.elements) {
      if (e.type === 'button')
        out.push({
          action_id: e.action_id ?? '',
          value: e.value ?? '',
          block_id: b.block_id ?? '',
          confirm: e.confirm,
        });
    }
  }
  return out;
}

/** Every mrkdwn/plain text in the view, joined. */
function texts(view: HomeView): string {
  return (JSON.stringify(view.blocks).match(/"text":"((?:[^"\\]|\\.)*)"/g) ?? []).join('\n');
}

/** What Slack refuses in a Home view, plus the limits named in the brief, checked here too. */
function limitProblems(view: HomeView): string[] {
  const problems = [...(blockErrors(view.blocks, 'view') ?? [])];
  if (view.blocks.length > 100) problems.push(`${view.blocks.length} blocks`);
  const ids = view.blocks.map((b) => b.block_id).filter((id): id is string => id !== undefined);
  if (new Set(ids).size !== ids.length) problems.push('duplicate block_id');
  for (const b of blocksOf(view)) {
    if (b.type === 'section' && (b.text?.text.length ?? 0) > 3000)
      problems.push(`section ${b.block_id} too long`);
    if (b.type === 'header' && b.text.text.length > 150) problems.push(`header ${b.block_id} too long`);
  }
  return problems;
}

/** The action ids of the channel's dump alert card, rendered by its own module. */
function channelAlertActions(): string[] {
  const a: DumpAlert = {
    id: 'da-orders-20261206',
    job: 'orders',
    day: '2026-12-06',
    fireAt: NOW,
    state: 'open',
    count: 1,
    firstAt: NOW,
    lastAt: NOW,
    mentioned: true,
    version: 1,
  };
  return alertCard(a, { zone: 'UTC' }).blocks.flatMap((b) =>
    b.type === 'actions' ? b.elements.map((e) => ('action_id' in e ? String(e.action_id) : '')) : [],
  );
}

/** The approval card's action ids, read from its module (being moved: old or new path). */
function approvalCardSource(): string {
  for (const p of ['jobs/migration/cards.ts', 'jobs/migration-cards.ts']) {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      // try the other place
    }
  }
  throw new Error(
    'the migration card module is in neither jobs/migration/cards.ts nor jobs/migration-cards.ts',
  );
}

describe('home view', () => {
  it('shows an approver the alerts with their buttons, the windows, the request waiting for them with Approve/Reject, and their jobs', () => {
    const view = homeView(data());
    expect(view.type).toBe('home');
    expect(limitProblems(view)).toEqual([]);
    const b = buttons(view);
    // Acknowledge only for the open alert, Re-check for both; values are the alert ids.
    expect(b.filter((x) => x.action_id === 'dump_ack').map((x) => x.value)).toEqual(['da-orders-20261206']);
    expect(b.filter((x) => x.action_id === 'dump_recheck').map((x) => x.value)).toEqual([
      'da-orders-20261206',
      'da-billing-20261206',
    ]);
    // The same action ids as the channel card.
    expect(new Set(b.filter((x) => x.action_id.startsWith('dump_')).map((x) => x.action_id))).toEqual(
      new Set(channelAlertActions()),
    );
    // Approve / Reject for the request, its id as the value, each behind a confirm dialog.
    const decide = b.filter((x) => x.action_id.startsWith('mig_'));
    expect(decide.map((x) => [x.action_id, x.value])).toEqual([
      ['mig_approve', 'p3-abc123'],
      ['mig_reject', 'p3-abc123'],
    ]);
    for (const x of decide) expect(x.confirm).toBeDefined();
    const card = approvalCardSource();
    for (const x of decide) expect(card).toContain(`action_id: '${x.action_id}'`);
    const t = texts(view);
    expect(t).toContain('Waiting for your approval');
    expect(t).toContain('*Approvals:* 1 of 2: <@U0APPR2>');
    expect(t).toContain('DB upgrade');
    expect(t).toContain('In progress');
    expect(t).toContain('Kernel patch');
    expect(t).toContain('Upcoming');
    expect(t).not.toContain('Done already');
    expect(t).toContain('Phase 2, parallel testing');
    expect(t).toContain('export prod_txlog');
    expect(t).toContain('AccessDenied');
    expect(t).toContain('Acknowledged by <@U0OPS>');
    expect(t).not.toContain('Nothing open');
  });

  it('shows an approver no buttons for a request they made or already approved', () => {
    const own = homeView(data({ viewer: 'U0ADMIN', migration: { phases: [], requests: [REQUEST] } }));
    expect(buttons(own).filter((x) => x.action_id.startsWith('mig_'))).toEqual([]);
    expect(texts(own)).toContain('You requested this; 1 more approval needed');
    const done = homeView(data({ viewer: 'U0APPR2', migration: { phases: [], requests: [REQUEST] } }));
    expect(buttons(done).filter((x) => x.action_id.startsWith('mig_'))).toEqual([]);
    expect(texts(done)).toContain('You approved; 1 more needed');
  });

  it('shows a non-approver the same picture without Approve / Reject', () => {
    const view = homeView(data({ viewer: 'U0BOB', isApprover: false }));
    expect(limitProblems(view)).toEqual([]);
    const b = buttons(view);
    expect(b.filter((x) => x.action_id.startsWith('mig_'))).toEqual([]);
    expect(b.filter((x) => x.action_id === 'dump_ack')).toHaveLength(1);
    const t = texts(view);
    expect(t).toContain('p3-abc123');
    expect(t).toContain('Only approvers can approve or reject it.');
    expect(t).not.toContain('Waiting for your approval');
  });

  it('says nothing is open to a person with no alerts, windows, requests or jobs', () => {
    const view = homeView(
      data({ viewer: 'U0BOB', isApprover: false, alerts: [], windows: [], migration: undefined, jobs: [] }),
    );
    expect(limitProblems(view)).toEqual([]);
    expect(buttons(view)).toEqual([]);
    const t = texts(view);
    expect(t).toContain('Nothing open right now');
    expect(t).not.toContain('Dump alerts');
    // Ended windows and a migration with no request do not count as open.
    const quiet = homeView(
      data({
        alerts: [],
        jobs: [],
        windows: [ENDED_WINDOW],
        migration: { phases: PHASES, requests: [] },
      }),
    );
    expect(texts(quiet)).toContain('Nothing open right now');
    expect(texts(quiet)).toContain('Phase 1, infrastructure');
    expect(buttons(quiet)).toEqual([]);
  });

  it('renders what people typed as inert text', () => {
    const view = homeView(
      data({
        windows: [
          {
            id: 'mw-ab12',
            title: '<!channel> go to <https://evil.example|login> & <@U0ADMIN>',
            start: NOW + MIN,
            end: NOW + 60 * MIN,
            state: 'scheduled',
            createdBy: '<!here>',
          },
        ],
        jobs: [
          {
            id: 'j9',
            queue: 'ddb-export',
            name: 'export <!everyone>',
            state: 'failed',
            createdAt: NOW,
            failedReason: 'table <@U0X> & co',
          },
        ],
      }),
    );
    const t = texts(view);
    expect(t).toContain('&lt;!channel&gt; go to &lt;https://evil.example|login&gt; &amp; &lt;@U0ADMIN&gt;');
    expect(t).toContain('export &lt;!everyone&gt;');
    expect(t).toContain('table &lt;@U0X&gt; &amp; co');
    expect(t).toContain('scheduled by &lt;!here&gt;');
    expect(t).not.toMatch(/<!(channel|here|everyone)>/);
    expect(t).not.toContain('<https://evil');
  });

  it('stays within Slack limits with far more than fits', () => {
    const long = 'x'.repeat(900);
    const view = homeView(
      data({
        alerts: Array.from({ length: 80 }, (_, i) => ({
          id: `da-job${i}-20261206`,
          job: `job${i}-${long}`,
          day: '2026-12-06',
          state: 'open' as const,
          count: i + 1,
          lastAt: NOW - i * MIN,
          seen: long,
        })),
        windows: Array.from({ length: 40 }, (_, i) => ({
          id: `mw-${(0x1000 + i).toString(16)}`,
          title: long,
          start: NOW + i * MIN,
          end: NOW + (i + 60) * MIN,
          state: 'scheduled' as const,
          createdBy: 'U0OPS',
        })),
        migration: {
          phases: Array.from({ length: 12 }, (_, i) => ({ name: `Phase ${i}`, done: false, detail: long })),
          requests: Array.from({ length: 20 }, (_, i) => ({
            id: `p3-req${i}xx`,
            kind: 'phase3' as const,
            requester: 'U0ADMIN',
            summary: long,
            approvals: [],
            needed: 2,
            expiresAt: NOW + i * MIN,
          })),
        },
        jobs: Array.from({ length: 100 }, (_, i) => ({
          id: `j${i}`,
          queue: 'ddb-export',
          name: long,
          state: 'failed',
          createdAt: NOW - i * MIN,
          failedReason: long,
        })),
      }),
    );
    expect(limitProblems(view)).toEqual([]);
    const t = texts(view);
    expect(t).toContain('65 more: `/dumps status`');
    expect(t).toContain('30 more: `/maintenance list`');
    expect(t).toContain('15 more: `/migration status`');
    expect(t).toContain('90 more: `/chatops jobs`');
    // The newest alert is among those shown.
    expect(buttons(view).some((x) => x.value === 'da-job0-20261206')).toBe(true);
  });
});
