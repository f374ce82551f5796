// The App Home tab end to end: signed app_home_opened events to the real Bolt receiver publish each
// person's Home (views.publish on the fake Slack, which refuses what Slack's Block Kit limits refuse)
// with what concerns them: nothing open; an open dump alert and the phase-3 request's window for
// everyone; the request's Approve / Reject only for an approver who did not ask for it. A click on a
// Home button (no channel, message or response URL) goes through the same authorised, audited listener
// as the channel card's, is answered by DM, and every open Home tab is refreshed after the change.
import { describe, expect } from 'vitest';
import { createSlackClient, type FakeSlackCall, type SlackRequestClient } from '../../devkit/index.js';
import { postDumpReport } from '../helpers/dumps.js';
import { card, JOB, withMigrationWorld } from '../helpers/migration.js';
import { it, SIGNING_SECRET, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const SECRET = 'dump-webhook-secret-for-home-0123456789';

type Block = { type: string; block_id?: string; elements?: { action_id?: string; value?: string }[] };

function blocksOf(call: FakeSlackCall): Block[] {
  return ((call.args.view as { blocks?: Block[] } | undefined)?.blocks ?? []) as Block[];
}
const blockIds = (call: FakeSlackCall) => blocksOf(call).map((b) => b.block_id ?? '');
const actionIds = (call: FakeSlackCall) =>
  blocksOf(call).flatMap((b) => (b.elements ?? []).flatMap((e) => (e.action_id ? [e.action_id] : [])));

/** The views.publish calls for `user`, oldest first. */
const publishes = (s: Stack, user: string) =>
  s.slack.callsTo('views.publish').filter((c) => c.args.user_id === user);

/** Opens `user`'s Home tab (a signed app_home_opened event) and resolves with the view published for it. */
async function openHome(s: Stack, client: SlackRequestClient, user: string): Promise<FakeSlackCall> {
  const before = publishes(s, user).length;
  const res = await client.event({
    event: { type: 'app_home_opened', user, channel: `D${user.slice(1)}`, tab: 'home' },
  });
  expect(res.status).toBe(200);
  return until(`the Home of ${user}`, () => publishes(s, user)[before], 10_000);
}

describe('App Home', () => {
  it('shows each person what concerns them, and a click on it is authorised, audited and refreshes it', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld({}, { env: { DUMP_WEBHOOK_SECRET: SECRET } }));
    const client = createSlackClient({ url: `${s.baseUrl}/slack/events`, signingSecret: SIGNING_SECRET });

    // Nothing open yet: the Messages tab publishes nothing; the Home tab says so.
    await client.event({
      event: { type: 'app_home_opened', user: 'U0BOB', channel: 'D0BOB', tab: 'messages' },
    });
    const empty = await openHome(s, client, 'U0BOB');
    expect(blockIds(empty)).toContain('home-nothing');
    expect(actionIds(empty)).toEqual([]);

    // An open dump alert (the cron host reports a failure) and a phase-3 request waiting for approvals,
    // with the maintenance window it scheduled.
    expect(
      (
        await postDumpReport(s, JSON.stringify({ job: JOB, status: 'failed', exitCode: 2 }), {
          secret: SECRET,
        })
      ).status,
    ).toBe(202);
    const ack = await s.command('U0OPS', '/migration', 'phase3 request +2h 30m');
    expect(ack.text).toMatch(/Queued: checking the phase-3 prerequisites/);
    const approvalCard = await until('the approval card', () => card(s), 30_000);
    const id = /`(p3-[0-9a-z]+)`/.exec(JSON.stringify(approvalCard.blocks))?.[1] as string;
    await until('the alert of the day', async () =>
      (await s.redis.keys(`${s.prefix}:dump:alert:*`)).length > 0 ? true : undefined,
    );

    // An approver who did not ask: the alert with its buttons, the window, the request with Approve / Reject.
    const dave = await openHome(s, client, 'U0DAVE');
    const daveBlocks = blockIds(dave);
    expect(daveBlocks).toEqual(
      expect.arrayContaining(['home-alerts', 'home-windows', 'home-migration', `home-request-${id}`]),
    );
    expect(daveBlocks.some((b) => /^home-window-mw-/.test(b))).toBe(true);
    expect(actionIds(dave)).toEqual(
      expect.arrayContaining(['dump_ack', 'dump_recheck', 'mig_approve', 'mig_reject']),
    );
    expect(JSON.stringify(blocksOf(dave))).toContain('Waiting for your approval');

    // The requester (admin and approver): the request, without buttons of their own; their own job listed.
    const ops = await openHome(s, client, 'U0OPS');
    expect(blockIds(ops)).toContain(`home-request-${id}`);
    expect(actionIds(ops)).not.toContain('mig_approve');
    expect(blockIds(ops)).toContain('home-jobs-list');

    // Someone with no role: the alert and the window, no migration section, nothing to approve.
    const alice = await openHome(s, client, 'U0ALICE');
    expect(blockIds(alice)).toEqual(expect.arrayContaining(['home-alerts', 'home-windows']));
    expect(blockIds(alice)).not.toContain('home-migration');
    expect(actionIds(alice)).not.toContain('mig_approve');
    expect(actionIds(alice)).toContain('dump_ack');

    // A click on Dave's Home: the same listener as the card's (authorised now, audited), answered by DM.
    const homeClick = (user: string, actionId: string, value: string) =>
      client.click({ userId: user, actionId, value, home: {} });
    const dmBefore = s.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === 'U0DAVE').length;
    const republishedBefore = publishes(s, 'U0DAVE').length;
    expect((await homeClick('U0DAVE', 'mig_approve', id)).status).toBe(200);
    const dm = await until(
      'the answer by DM',
      () => s.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === 'U0DAVE')[dmBefore],
    );
    expect(String(dm.args.text)).toMatch(/Counted: 1 of 2 approvals/);
    const approvals = JSON.parse((await s.redis.hget(`${s.prefix}:mig:req:${id}`, 'approvals')) ?? '[]') as {
      user: string;
    }[];
    expect(approvals.map((a) => a.user)).toEqual(['U0DAVE']);
    // His Home again at once: his approval shown, no buttons left for him.
    const daveAfter = await until(
      'Dave\u2019s Home republished',
      () => publishes(s, 'U0DAVE')[republishedBefore],
    );
    expect(actionIds(daveAfter)).not.toContain('mig_approve');
    expect(JSON.stringify(blocksOf(daveAfter))).toContain('You approved');

    // Alice is no approver: her click on the same button (crafted: her Home has none) is refused and audited.
    const aliceDms = () => s.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === 'U0ALICE');
    const aliceBefore = aliceDms().length;
    await homeClick('U0ALICE', 'mig_approve', id);
    const refused = await until('the refusal by DM', () => aliceDms()[aliceBefore]);
    expect(String(refused.args.text)).toMatch(/not allowed|Only people who hold approver/);
    // Alice acknowledges the alert from her Home (dumps.ack is everyone's).
    const alertId = (await s.redis.keys(`${s.prefix}:dump:alert:*`))[0]?.split(':').pop() as string;
    await homeClick('U0ALICE', 'dump_ack', alertId);
    await until('the acknowledgement by DM', () =>
      aliceDms().find((c) => /Acknowledged/.test(String(c.args.text))),
    );
    expect(await s.redis.hget(`${s.prefix}:dump:alert:${alertId}`, 'ackedBy')).toBe('U0ALICE');

    const rows = await until('the audit entries of the Home clicks', async () => {
      const all = await s.auditRows();
      const mine = all.filter(
        (r) =>
          // A denial is audited before the request is looked at: it names no target.
          (r.action === 'migration.approve' && (r.target === id || r.user === 'U0ALICE')) ||
          (r.action === 'dumps.ack' && r.target === alertId),
      );
      return mine.length >= 3 ? mine : undefined;
    });
    expect(rows.map((r) => [r.user, r.action, r.outcome]).sort()).toEqual(
      [
        ['U0ALICE', 'dumps.ack', 'succeeded'],
        ['U0ALICE', 'migration.approve', 'denied'],
        ['U0DAVE', 'migration.approve', 'succeeded'],
      ].sort(),
    );

    // The change reaches the other open Home tabs (debounced refresh): Bob, who saw nothing, now sees the alert.
    const bobRefreshed = await until(
      'Bob\u2019s Home refreshed with the alert',
      () => publishes(s, 'U0BOB').find((c) => actionIds(c).includes('dump_recheck')),
      20_000,
    );
    expect(blockIds(bobRefreshed)).not.toContain('home-nothing');

    // Every view the bot published passed the fake Slack's Block Kit limits.
    const all = s.slack.callsTo('views.publish');
    expect(all.length).toBeGreaterThanOrEqual(8);
    expect(all.filter((c) => c.error)).toEqual([]);
  });
});
