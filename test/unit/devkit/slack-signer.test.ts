import { createHmac } from 'node:crypto';
import { App, isValidSlackRequest, LogLevel } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../../../devkit/fake-slack.js';
import { freePort } from '../../../devkit/free-port.js';
import {
  blockActionsBody,
  createSlackClient,
  signSlackRequest,
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
      text: 'rotate key & more',
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

describe('createSlackClient against a real Bolt app', () => {
  let fake: FakeSlack;
  let app: App;
  let client: ReturnType<typeof createSlackClient>;

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
    app.action('approve', async ({ ack, respond, body }) => {
      await ack();
      await respond({ replace_original: true, text: `approved by ${body.user.id}` });
    });
    const port = await freePort();
    await app.start(port);
    client = createSlackClient({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret: SECRET });
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

  it('forged and stale requests are rejected by the app', async () => {
    const input = { command: '/aws', text: 'x', userId: 'U1', responseUrl: fake.responseUrl('C1', 'U1') };
    const forged = await client.command(input, { signature: `v0=${'0'.repeat(64)}` });
    expect(forged.status).toBe(401);
    const stale = await client.command(input, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(stale.status).toBe(401);
  });
});
