// Text injection (issue 20, item 6): whatever a person types into any user-text field (a command's
// bad argument, a maintenance title, the Edit modal's fields, a Reject reason, a dump webhook's
// message) must reach Slack escaped, so no mention, link or broadcast can be injected. Each test
// types the injection strings in, lets the feature do its work, and searches every captured Slack
// call and every ack for them raw.
import { describe, expect } from 'vitest';
import { createSlackClient, type FakeSlackMessage } from '../../devkit/index.js';
import { postDumpReport, seedMissingTodaysDump } from '../helpers/dumps.js';
import { APPROVALS, cardText, withMigrationWorld } from '../helpers/migration.js';
import { it, SIGNING_SECRET, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const INJECTIONS = ['<!channel>', '<!here>', '<@U0EVIL>', '<https://x|y>'];
const EVIL = INJECTIONS.join(' ');
const MAINT = 'C0MAINT';

/**
 * Every string Slack reads as formatted text in `v`: message text, mrkdwn, fields. Plain-text
 * objects (labels, a modal's title) and an input's initial value are shown as written, and button
 * values and metadata are never rendered, so they are not searched.
 */
function renderedTexts(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) renderedTexts(x, out);
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.type === 'plain_text') return out;
    for (const [k, x] of Object.entries(o)) {
      if (['initial_value', 'value', 'metadata', 'private_metadata', 'action_id', 'block_id'].includes(k))
        continue;
      renderedTexts(x, out);
    }
  }
  return out;
}

/** Each injection string found raw, with where: `chat.postMessage C0MAINT: <!channel>`. */
function leaks(s: Stack, acks: { what: string; text: string }[]): string[] {
  const found: string[] = [];
  for (const call of s.slack.calls) {
    const texts = renderedTexts(call.args).join('\n');
    for (const inj of INJECTIONS) {
      if (texts.includes(inj)) found.push(`${call.method} ${String(call.args.channel ?? '')}: ${inj}`);
    }
  }
  for (const ack of acks) {
    for (const inj of INJECTIONS) if (ack.text.includes(inj)) found.push(`ack of ${ack.what}: ${inj}`);
  }
  return found;
}

/** The injection strings reached Slack, escaped (so the search above searched something). */
function escapedIn(s: Stack, pattern: RegExp): string[] {
  return s.slack.calls
    .map((c) => renderedTexts(c.args).join('\n'))
    .filter(
      (t) =>
        pattern.test(t) &&
        INJECTIONS.every((inj) => t.includes(inj.replace(/</g, '&lt;').replace(/>/g, '&gt;'))),
    );
}

/** Sends a command as `user` types it and keeps its ack for the search. */
function typer(s: Stack, acks: { what: string; text: string }[]) {
  return async (user: string, command: string, text: string) => {
    const res = await s.command(user, command, text);
    expect(res.status, `${command} ${text}`).toBe(200);
    acks.push({ what: `${command} ${text}`, text: res.text });
    return res.text;
  };
}

function client(s: Stack) {
  return createSlackClient({ url: `${s.baseUrl}/slack/events`, signingSecret: SIGNING_SECRET });
}

/** The value of the button `actionId` on a message. */
function buttonValue(m: FakeSlackMessage | undefined, actionId: string): string | undefined {
  const walk = (v: unknown): string | undefined => {
    if (Array.isArray(v)) return v.map(walk).find((x) => x !== undefined);
    if (!v || typeof v !== 'object') return undefined;
    const o = v as Record<string, unknown>;
    if (o.action_id === actionId && typeof o.value === 'string') return o.value;
    return walk(Object.values(o));
  };
  return walk(m?.blocks ?? []);
}

describe('injection strings typed into every user-text field reach Slack escaped', () => {
  it('bad arguments of every command are quoted back escaped', async ({ startStack }) => {
    const s = await startStack({
      env: { DUMP_WEBHOOK_SECRET: 'not-used-here' },
      seed: seedMissingTodaysDump,
    });
    const acks: { what: string; text: string }[] = [];
    const type = typer(s, acks);
    for (const inj of INJECTIONS) {
      for (const user of ['U0OPS', 'U0ALICE']) {
        await type(user, '/reset-password', inj);
        await type(user, '/reset-password', `alice ${inj}`);
      }
      await type('U0OPS', '/ddb-export', inj);
      await type('U0OPS', '/ddb-export', `prod_txlog --${inj}`);
      await type('U0OPS', '/maintenance', inj);
      await type('U0OPS', '/maintenance', `schedule ${inj} 1h title`);
      await type('U0OPS', '/maintenance', `schedule +1h ${inj} title`);
      await type('U0OPS', '/maintenance', `cancel ${inj}`);
      await type('U0OPS', '/maintenance', `extend ${inj} 1h`);
      await type('U0OPS', '/maintenance', `extend mw-0000 ${inj}`);
      await type('U0OPS', '/migration', inj);
      await type('U0OPS', '/migration', `check ${inj}`);
      await type('U0OPS', '/migration', `phase3 request ${inj}`);
      await type('U0OPS', '/migration', `cutover ${inj}`);
      await type('U0OPS', '/migration', `rollback 4 ${inj}`);
      await type('U0OPS', '/dumps', inj);
      await type('U0OPS', '/dumps', `check ${inj}`);
      await type('U0OPS', '/chatops', inj);
      await type('U0OPS', '/chatops', `audit ${inj}`);
    }
    // The same text escaped once, as typed: never double-escaped.
    const ddb = acks.find((a) => a.what === '/ddb-export <!channel>')?.text ?? '';
    expect(ddb).toContain('"&lt;!channel&gt;"');
    expect(acks.map((a) => a.text).join('\n')).not.toContain('&amp;lt;');
    expect(leaks(s, acks)).toEqual([]);
  });

  it('/maintenance: the title, the Edit modal fields, list, extend and cancel', async ({ startStack }) => {
    const s = await startStack({ extraConfig: { maintenance: { remindBefore: ['1d'] } } });
    const acks: { what: string; text: string }[] = [];
    const type = typer(s, acks);
    expect(await type('U0OPS', '/maintenance', `schedule +2h 30m ${EVIL} & more`)).toMatch(/Scheduled/);
    const announcement = await until('the announcement', () =>
      s.slack.messages(MAINT).find((m) => !m.thread_ts && buttonValue(m, 'mw_edit')),
    );
    const id = buttonValue(announcement, 'mw_edit') as string;
    const c = client(s);
    await c.click({
      userId: 'U0OPS',
      actionId: 'mw_edit',
      value: id,
      channelId: MAINT,
      messageTs: announcement.ts,
      responseUrl: s.slack.responseUrl(MAINT, 'U0OPS', announcement.ts),
    });
    await until('the Edit modal', () => s.slack.callsTo('views.open')[0]);
    const editsBefore = s.slack.callsTo('chat.update').length;
    const submitted = await c.submit({
      userId: 'U0OPS',
      callbackId: 'mw_edit_submit',
      privateMetadata: id,
      values: {
        impact: { value: `impact ${EVIL}` },
        purpose: { value: `purpose ${EVIL}` },
        rollback: { value: `rollback ${EVIL}` },
        contact: { value: `contact ${EVIL}` },
      },
    });
    expect(submitted.status).toBe(200);
    await until(
      'the announcement edited with the new texts',
      () =>
        s.slack
          .callsTo('chat.update')
          .slice(editsBefore)
          .find((u) => JSON.stringify(u.args).includes('contact ')),
      20_000,
    );
    expect(await type('U0OPS', '/maintenance', 'list')).toContain(id);
    await type('U0OPS', '/maintenance', `extend ${id} 15m`);
    await until('the extension in the thread', () =>
      s.slack.messages(MAINT).find((m) => m.thread_ts === announcement.ts),
    );
    await type('U0OPS', '/maintenance', `cancel ${id}`);
    await until('the cancellation', () =>
      s.slack.messages(MAINT).find((m) => /cancel/i.test(m.text) && m.ts !== announcement.ts),
    );
    // The title, and each of the modal's fields, reached Slack escaped.
    expect(escapedIn(s, /&amp; more/).length).toBeGreaterThan(0);
    for (const field of ['impact', 'purpose', 'rollback', 'contact'])
      expect(escapedIn(s, new RegExp(`${field} &lt;!channel`)).length, field).toBeGreaterThan(0);
    // Shown as typed: `&` once, not `&amp;amp;`.
    expect(JSON.stringify(s.slack.calls.map((c) => c.args))).not.toContain('&amp;amp;');
    expect(leaks(s, acks)).toEqual([]);
  }, 60_000);

  it('/migration: the Reject reason typed in the modal', async ({ startStack }) => {
    const s = await startStack(withMigrationWorld());
    const acks: { what: string; text: string }[] = [];
    const type = typer(s, acks);
    expect(await type('U0OPS', '/migration', 'phase3 request +1h 20m')).toMatch(/Queued/);
    const card = await until(
      'the approval card',
      () =>
        s.slack
          .messages(APPROVALS)
          .find(
            (m) =>
              !m.thread_ts && /Phase 3: attach the instance profile/.test(JSON.stringify(m.blocks ?? '')),
          ),
      30_000,
    );
    const id = /`(p3-[0-9a-z]+)`/.exec(JSON.stringify(card.blocks))?.[1] as string;
    const c = client(s);
    await c.click({
      userId: 'U0DAVE',
      actionId: 'mig_reject',
      value: id,
      channelId: APPROVALS,
      messageTs: card.ts,
      responseUrl: s.slack.responseUrl(APPROVALS, 'U0DAVE', card.ts),
    });
    await until('the Reject modal', () => s.slack.callsTo('views.open')[0]);
    const submitted = await c.submit({
      userId: 'U0DAVE',
      callbackId: 'mig_reject_submit',
      privateMetadata: id,
      values: { reason: { value: `not now ${EVIL}` } },
    });
    expect(submitted.status).toBe(200);
    await until('the card says rejected', () => (/Rejected/.test(cardText(s)) ? true : undefined), 20_000);
    await until('the window cancelled', () => s.slack.messages(MAINT).find((m) => /cancel/i.test(m.text)));
    expect(escapedIn(s, /not now &lt;!channel/).length).toBeGreaterThan(0);
    expect(leaks(s, acks)).toEqual([]);
  }, 60_000);

  it('/hooks/dumps: the webhook message on the alert, its fallback text and /dumps status', async ({
    startStack,
  }) => {
    const secret = 'dump-webhook-secret-injection-test';
    const s = await startStack({ env: { DUMP_WEBHOOK_SECRET: secret }, seed: seedMissingTodaysDump });
    const acks: { what: string; text: string }[] = [];
    const body = JSON.stringify({
      job: 'ggh_datatransit',
      status: 'failed',
      exitCode: 3,
      message: `${EVIL} & co`,
    });
    expect((await postDumpReport(s, body, { secret })).status).toBeLessThan(300);
    const alert = await until('the alert', () =>
      s.slack.messages('C0ALERTS').find((m) => !m.thread_ts && /Dump alert/.test(m.text)),
    );
    expect(escapedIn(s, /&amp; co/).length).toBeGreaterThan(0);
    expect(JSON.stringify(alert.blocks)).not.toContain('&amp;amp;');
    await typer(s, acks)('U0OPS', '/dumps', 'status');
    expect(leaks(s, acks)).toEqual([]);
  });
});
