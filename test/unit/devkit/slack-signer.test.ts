import { createHmac } from 'node:crypto';
import { App, isValidSlackRequest, LogLevel } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../../../devkit/fake-slack.js';
import { freePort } from '../../../devkit/free-port.js';
import {
  blockActionsBody,
  createSlackClient,
  manifestShouldEscape,
  signSlackRequest,
  slackCommandText,
  slashCommandBody,
} from '../../../devkit/slack-signer.js';

const SECRET = 'shhh-signing-secret';

describe('signSlackRequest', () => {
  it('produces the v0 HMAC-SHA256 signature Slack sends', () => {
    const body = 'command=%2Faws&text=whoami';
    const headers = signSlackRequest(SECRET, body, 1_700_000_123);
    const expected = createHmac('sha256', SECRET).update(`v0:1700000123:${body}`).digest('hex');
    expect(headers).toEqual({
      'x-slack-request-timestamp': '1700000123',
      'x-slack-signature': `v0=${expected}`,
      'content-type': 'application/x-www-form-urlencoded',
    });
  });

  it('defaults to the current time and passes Bolt verification', () => {
    const body = slashCommandBody({ command: '/aws', text: 'x', userId: 'U1', responseUrl: 'http://r/' });
    const headers = signSlackRequest(SECRET, body);
    const now = Math.floor(Date.now() / 1000);
    expect(Math.abs(Number(headers['x-slack-request-timestamp']) - now)).toBeLessThanOrEqual(1);
    const verify = (secret: string, signedBody: string) =>
      isValidSlackRequest({
        signingSecret: secret,
        body: signedBody,
        headers: {
          'x-slack-signature': headers['x-slack-signature'],
          'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']),
        },
      });
    expect(verify(SECRET, body)).toBe(true);
    expect(verify('other-secret', body)).toBe(false);
    expect(verify(SECRET, `${body}&x=1`)).toBe(false);
  });
});

describe('payload builders', () => {
  it('slashCommandBody carries every field Slack sends', () => {
    const params = new URLSearchParams(
      slashCommandBody({
        command: '/aws',
        text: 'rotate key & more',
        userId: 'U1',
        userName: 'alice',
        channelId: 'C1',
        teamId: 'T1',
        responseUrl: 'http://127.0.0.1/response/C1/U1/1',
        triggerId: 'trig',
      }),
    );
    expect(Object.fromEntries(params)).toEqual({
      token: expect.any(String),
      team_id: 'T1',
      team_domain: expect.any(String),
      channel_id: 'C1',
      channel_name: expect.any(String),
      user_id: 'U1',
      user_name: 'alice',
      command: '/aws',
      // Slack escapes &, < and > in every command's text.
      text: 'rotate key &amp; more',
      api_app_id: expect.any(String),
      is_enterprise_install: 'false',
      response_url: 'http://127.0.0.1/response/C1/U1/1',
      trigger_id: 'trig',
    });
  });

  it('blockActionsBody is a payload form field holding a block_actions interaction', () => {
    const body = blockActionsBody({
      userId: 'U2',
      actionId: 'approve',
      value: 'req-1',
      channelId: 'C2',
      messageTs: '1700000000.000101',
      responseUrl: 'http://127.0.0.1/response/C2/U2/1',
    });
    expect([...new URLSearchParams(body).keys()]).toEqual(['payload']);
    const payload: unknown = JSON.parse(new URLSearchParams(body).get('payload') ?? '');
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U2', team_id: expect.any(String) },
      container: { type: 'message', message_ts: '1700000000.000101', channel_id: 'C2', is_ephemeral: false },
      channel: { id: 'C2' },
      message: { ts: '1700000000.000101' },
      response_url: 'http://127.0.0.1/response/C2/U2/1',
      trigger_id: expect.any(String),
      actions: [{ action_id: 'approve', value: 'req-1', type: 'button', block_id: expect.any(String) }],
    });
  });
});

describe("Slack's escaping of slash-command text", () => {
  const users = (known: Record<string, string>) => ({ userIdByName: (n: string) => known[n] });

  it('always turns &, < and > into entities, whatever should_escape says', () => {
    for (const shouldEscape of [() => true, () => false]) {
      expect(slackCommandText('/x', 'a & b <!channel> <@U0EVIL> <https://x|y>', { shouldEscape })).toBe(
        'a &amp; b &lt;!channel&gt; &lt;@U0EVIL&gt; &lt;https://x|y&gt;',
      );
    }
  });

  it('with should_escape, turns @name of a known user into <@ID|name>; unknown names stay text', () => {
    const typing = { shouldEscape: () => true, ...users({ bob: 'U0BOB' }) };
    expect(slackCommandText('/x', '@bob osio', typing)).toBe('<@U0BOB|bob> osio');
    expect(slackCommandText('/x', 'ask @bob and @ghost', typing)).toBe('ask <@U0BOB|bob> and @ghost');
    expect(slackCommandText('/x', 'mail bob@bob.example', typing)).toBe('mail bob@bob.example');
  });

  it('without should_escape, @name stays plain text even for a known user', () => {
    expect(slackCommandText('/x', '@bob', { shouldEscape: () => false, ...users({ bob: 'U0BOB' }) })).toBe(
      '@bob',
    );
  });

  it("reads should_escape from the repo's manifest: true for /reset-password, false for /maintenance", () => {
    expect(manifestShouldEscape('/reset-password')).toBe(true);
    expect(manifestShouldEscape('/maintenance')).toBe(false);
    expect(manifestShouldEscape('/not-in-the-manifest')).toBe(false);
    const known = users({ bob: 'U0BOB' });
    expect(slackCommandText('/reset-password', '@bob', known)).toBe('<@U0BOB|bob>');
    expect(slackCommandText('/maintenance', 'schedule +1h 1h ask @bob', known)).toBe(
      'schedule +1h 1h ask @bob',
    );
  });

  it('slashCommandBody escapes unless told the text is verbatim', () => {
    const base = { command: '/reset-password', userId: 'U1', responseUrl: 'http://r/' };
    const text = (b: string) => new URLSearchParams(b).get('text');
    expect(text(slashCommandBody({ ...base, text: '<@U0BOB>' }))).toBe('&lt;@U0BOB&gt;');
    expect(text(slashCommandBody({ ...base, text: '<@U0BOB>', verbatim: true }))).toBe('<@U0BOB>');
    expect(text(slashCommandBody({ ...base, text: '@bob', typing: users({ bob: 'U0BOB' }) }))).toBe(
      '<@U0BOB|bob>',
    );
  });
});

describe('createSlackClient against a real Bolt app', () => {
  let fake: FakeSlack;
  let app: App;
  let client: ReturnType<typeof createSlackClient>;
  let url: string;

  beforeAll(async () => {
    fake = await startFakeSlack();
    app = new App({
      token: 'xoxb-test',
      signingSecret: SECRET,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fake.url },
    });
    app.command('/aws', async ({ ack, respond, command }) => {
      await ack();
      await respond({ text: `you said ${command.text}` });
    });
    app.view('devkit_modal', async ({ ack, view, body }) => {
      const typed = view.state.values.reason?.value?.value;
      await ack({
        response_action: 'errors',
        errors: { reason: `${body.user.id} typed ${typed} for ${view.private_metadata}` },
      });
    });
    app.command('/reset-password', async ({ ack, command }) => {
      await ack({ text: `got ${command.text}` });
    });
    app.action('approve', async ({ ack, respond, body }) => {
      await ack();
      await respond({ replace_original: true, text: `approved by ${body.user.id}` });
    });
    const port = await freePort();
    await app.start(port);
    url = `http://127.0.0.1:${port}/slack/events`;
    client = createSlackClient({ url, signingSecret: SECRET });
  });
  afterAll(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('delivers a signed slash command that the app handles', async () => {
    const res = await client.command({
      command: '/aws',
      text: 'hello',
      userId: 'U1',
      channelId: 'C1',
      responseUrl: fake.responseUrl('C1', 'U1'),
    });
    expect(res.status).toBe(200);
    await fake.waitFor((c) => c.method === 'response_url' && c.args.text === 'you said hello');
    expect(fake.messages('C1')).toMatchObject([{ text: 'you said hello', user: 'U1', ephemeral: true }]);
    // Bolt verified its token against the fake, proving the slackApiUrl wiring.
    expect(fake.callsTo('auth.test')[0]?.token).toBe('xoxb-test');
  });

  it('delivers a signed button click that the app handles', async () => {
    const posted = await fetch(`${fake.url}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'C2', text: 'approve?' }),
    });
    const { ts } = (await posted.json()) as { ts: string };
    const res = await client.click({
      userId: 'U9',
      actionId: 'approve',
      value: 'req-1',
      channelId: 'C2',
      messageTs: ts,
      responseUrl: fake.responseUrl('C2', 'U9', ts),
    });
    expect(res.status).toBe(200);
    await fake.waitFor((c) => c.method === 'response_url' && c.args.text === 'approved by U9');
    expect(fake.messages('C2')).toMatchObject([{ ts, text: 'approved by U9', edits: 1 }]);
  });

  it('sends what Slack would: entities always, and @name mentions of users the fake knows', async () => {
    fake.setUser('U0BOB', { name: 'bob' });
    const typed = createSlackClient({ url, signingSecret: SECRET, typing: fake });
    const input = { command: '/reset-password', userId: 'U1', responseUrl: fake.responseUrl('C1', 'U1') };
    const res = await typed.command({ ...input, text: '@bob & <@U0EVIL>' });
    expect((res.json as { text: string }).text).toBe('got <@U0BOB|bob> &amp; &lt;@U0EVIL&gt;');
    // Without the fake, Slack knows nobody: the mention stays text.
    const plain = await client.command({ ...input, text: '@bob' });
    expect((plain.json as { text: string }).text).toBe('got @bob');
  });

  it('delivers a signed modal submission with what the person typed, unescaped as Slack sends it', async () => {
    const res = await client.submit({
      userId: 'U7',
      callbackId: 'devkit_modal',
      privateMetadata: 'req-9',
      values: { reason: { value: 'a & <b>' } },
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ response_action: 'errors', errors: { reason: 'U7 typed a & <b> for req-9' } });
  });

  it('forged and stale requests are rejected by the app', async () => {
    const input = { command: '/aws', text: 'x', userId: 'U1', responseUrl: fake.responseUrl('C1', 'U1') };
    const forged = await client.command(input, { signature: `v0=${'0'.repeat(64)}` });
    expect(forged.status).toBe(401);
    const stale = await client.command(input, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(stale.status).toBe(401);
  });
});
