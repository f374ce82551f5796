import { LogLevel, WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../../../devkit/fake-slack.js';

describe('fake-slack', () => {
  let fake: FakeSlack;
  let client: WebClient;

  beforeAll(async () => {
    fake = await startFakeSlack({ botUserId: 'UBOT', botId: 'BBOT', teamId: 'TTEAM' });
    client = new WebClient('xoxb-secret', {
      slackApiUrl: fake.url,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => {
    fake.reset();
  });

  it('exposes the base URL in the form WebClient expects', () => {
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    expect(fake.url).toBe(`http://127.0.0.1:${fake.port}/api/`);
  });

  it('answers auth.test with the configured identity and records the token outside args', async () => {
    const res = await client.auth.test();
    expect(res).toMatchObject({ ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'TTEAM' });
    const [call] = fake.callsTo('auth.test');
    expect(call?.token).toBe('xoxb-secret');
    expect(call?.args).not.toHaveProperty('token');
    expect(JSON.stringify(call?.args)).not.toContain('xoxb-secret');
  });

  it('takes the token from a form field when there is no Authorization header', async () => {
    const res = await fetch(`${fake.url}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=xoxb-form&foo=bar',
    });
    expect(await res.json()).toMatchObject({ ok: true });
    const call = await fake.waitFor('auth.test');
    expect(call.token).toBe('xoxb-form');
    expect(call.args).toEqual({ foo: 'bar' });
  });

  it('posts and updates a message, decoding JSON form fields and tracking edits', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'hello *world*' } }];
    const posted = await client.chat.postMessage({ channel: 'C123', text: 'hello', blocks });
    expect(posted.ok).toBe(true);
    expect(posted.channel).toBe('C123');
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);

    const postCall = fake.callsTo('chat.postMessage')[0];
    expect(postCall?.args.blocks).toEqual(blocks);
    expect(postCall?.args.text).toBe('hello');

    const newBlocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'done' } }];
    const updated = await client.chat.update({
      channel: 'C123',
      ts: posted.ts ?? '',
      text: 'done',
      blocks: newBlocks,
    });
    expect(updated).toMatchObject({ ok: true, channel: 'C123', ts: posted.ts, text: 'done' });

    const messages = fake.messages('C123');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      channel: 'C123',
      ts: posted.ts,
      text: 'done',
      blocks: newBlocks,
      edits: 1,
    });
  });

  it('issues unique increasing timestamps and keeps post order', async () => {
    const a = await client.chat.postMessage({ channel: 'C1', text: 'a' });
    const b = await client.chat.postMessage({ channel: 'C2', text: 'b' });
    const c = await client.chat.postMessage({ channel: 'C1', text: 'c', thread_ts: a.ts ?? '' });
    expect(Number(b.ts)).toBeGreaterThan(Number(a.ts));
    expect(Number(c.ts)).toBeGreaterThan(Number(b.ts));
    expect(fake.messages().map((m) => m.text)).toEqual(['a', 'b', 'c']);
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['a', 'c']);
    expect(fake.messages('C1')[1]?.thread_ts).toBe(a.ts);
  });

  it('maps user ids to DM channels for postMessage and conversations.open', async () => {
    const posted = await client.chat.postMessage({ channel: 'U777', text: 'dm' });
    expect(posted.channel).toBe('D777');
    expect(fake.messages('D777')[0]?.text).toBe('dm');
    const opened = await client.conversations.open({ users: 'U777' });
    expect(opened.channel?.id).toBe('D777');
  });

  it('stores ephemeral messages with the recipient', async () => {
    const res = await client.chat.postEphemeral({ channel: 'C9', user: 'U5', text: 'only you' });
    expect(res.ok).toBe(true);
    expect(res.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(fake.messages('C9')).toEqual([
      { channel: 'C9', ts: res.message_ts, text: 'only you', user: 'U5', ephemeral: true, edits: 0 },
    ]);
  });

  it('answers users.info, views.open and unknown methods', async () => {
    fake.setUser('U42', { name: 'alice', email: 'alice@example.com' });
    const info = await client.users.info({ user: 'U42' });
    expect(info.user).toMatchObject({ id: 'U42', name: 'alice', profile: { email: 'alice@example.com' } });
    const plain = await client.users.info({ user: 'U43' });
    expect(plain.user?.profile?.email).toBe('');
    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'x' }, blocks: [] };
    expect((await client.views.open({ trigger_id: 't1', view })).ok).toBe(true);
    expect(fake.callsTo('views.open')[0]?.args.view).toEqual(view);
    expect((await client.apiCall('reactions.add', { name: 'x' })).ok).toBe(true);
  });

  it('rejects chat.update of an unknown message like Slack does', async () => {
    await expect(client.chat.update({ channel: 'C1', ts: '1.000001', text: 'x' })).rejects.toMatchObject({
      data: { ok: false, error: 'message_not_found' },
    });
  });

  it('accepts JSON bodies', async () => {
    const res = await fetch(`${fake.url}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer xoxb-json' },
      body: JSON.stringify({ channel: 'CJ', text: 'json', blocks: [{ type: 'divider' }] }),
    });
    expect(await res.json()).toMatchObject({ ok: true, channel: 'CJ' });
    const call = await fake.waitFor((c) => c.method === 'chat.postMessage');
    expect(call.token).toBe('xoxb-json');
    expect(call.args).toEqual({ channel: 'CJ', text: 'json', blocks: [{ type: 'divider' }] });
  });

  it('injects errors for the next N calls only', async () => {
    fake.failNext('chat.postMessage', 'channel_not_found', 2);
    for (let i = 0; i < 2; i++) {
      await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({
        data: { error: 'channel_not_found' },
      });
    }
    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).resolves.toMatchObject({ ok: true });
    expect(fake.callsTo('chat.postMessage')).toHaveLength(3);
    expect(fake.messages('C1')).toHaveLength(1);
  });

  it('answers ratelimited with HTTP 429 and Retry-After', async () => {
    fake.failNext('chat.postMessage');
    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 1,
    });
    fake.failNext('auth.test', 'ratelimited');
    const res = await fetch(`${fake.url}auth.test`, { method: 'POST' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual({ ok: false, error: 'ratelimited' });
  });

  it('with perChannelPerSecond, answers a second post to a channel within the second with 429 and posts nothing', async () => {
    const limited = await startFakeSlack({ perChannelPerSecond: 1 });
    const raw = (channel: string, text: string) =>
      fetch(`${limited.url}chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel, text }),
      });
    try {
      expect((await raw('C1', 'first')).status).toBe(200);
      const second = await raw('C1', 'too soon');
      expect(second.status).toBe(429);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(await second.json()).toEqual({ ok: false, error: 'ratelimited' });
      // Another channel has its own allowance; updates are not posts.
      expect((await raw('C2', 'elsewhere')).status).toBe(200);
      const [first] = limited.messages('C1');
      const update = await fetch(`${limited.url}chat.update`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'C1', ts: first?.ts, text: 'edited' }),
      });
      expect(update.status).toBe(200);
      expect(limited.messages().map((m) => m.text)).toEqual(['edited', 'elsewhere']);
      expect(limited.callsTo('chat.postMessage').map((c) => c.ratelimited ?? false)).toEqual([
        false,
        true,
        false,
      ]);
      // The Web API client waits for Retry-After and tries again: the post lands once, a second later.
      const client = new WebClient('xoxb-x', {
        slackApiUrl: limited.url,
        retryConfig: { retries: 2 },
        logLevel: LogLevel.ERROR,
      });
      const started = Date.now();
      await client.chat.postMessage({ channel: 'C2', text: 'retried' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(limited.messages('C2').map((m) => m.text)).toEqual(['elsewhere', 'retried']);
      // Off again: posts go through back to back.
      limited.setPerChannelPerSecond(undefined);
      expect((await raw('C1', 'a')).status).toBe(200);
      expect((await raw('C1', 'b')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('refuses a per-channel limit that is not a positive number', async () => {
    await expect(startFakeSlack({ perChannelPerSecond: 0 })).rejects.toThrow(/positive number/);
    expect(() => fake.setPerChannelPerSecond(-1)).toThrow(/positive number/);
  });

  it('marks a call answered 429 by failNext as rate limited', async () => {
    fake.failNext('chat.postMessage');
    await client.chat.postMessage({ channel: 'C1', text: 'x' }).catch(() => undefined);
    expect(fake.callsTo('chat.postMessage')[0]?.ratelimited).toBe(true);
    expect(fake.messages('C1')).toHaveLength(0);
  });

  it('stores response_url messages and honours replace_original', async () => {
    const url = fake.responseUrl('C5', 'U5');
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'working on it' }),
    });
    expect(res.status).toBe(200);
    const call = await fake.waitFor('response_url');
    expect(call.args).toEqual({ text: 'working on it' });
    expect(call.url).toBe(url);
    expect(fake.messages('C5')).toMatchObject([{ text: 'working on it', user: 'U5', ephemeral: true }]);

    const posted = await client.chat.postMessage({ channel: 'C5', text: 'approve?' });
    const replaceUrl = fake.responseUrl('C5', 'U5', posted.ts);
    expect(replaceUrl).not.toBe(url);
    await fetch(replaceUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'approved' }),
    });
    const original = fake.messages('C5').find((m) => m.ts === posted.ts);
    expect(original).toMatchObject({ text: 'approved', edits: 1 });
  });

  it('waitFor resolves on a future call and rejects with a clear message on timeout', async () => {
    const pending = fake.waitFor((c) => c.method === 'chat.postMessage' && c.args.text === 'later', 5000);
    await client.chat.postMessage({ channel: 'C1', text: 'sooner' });
    await client.chat.postMessage({ channel: 'C1', text: 'later' });
    await expect(pending).resolves.toMatchObject({ args: { text: 'later' } });

    await expect(fake.waitFor('chat.delete', 50)).rejects.toThrow(
      /no call matching chat\.delete within 50 ms \(recorded: chat\.postMessage x2\)/,
    );
  });

  it('onCall notifies until unsubscribed', async () => {
    const seen: string[] = [];
    const off = fake.onCall((c) => seen.push(c.method));
    await client.auth.test();
    off();
    await client.chat.postMessage({ channel: 'C1', text: 'x' });
    expect(seen).toEqual(['auth.test']);
    expect(fake.calls).toHaveLength(2);
  });

  it('reset clears calls, messages and pending failures', async () => {
    fake.failNext('auth.test', 'invalid_auth');
    await client.chat.postMessage({ channel: 'C1', text: 'x' });
    fake.reset();
    expect(fake.calls).toHaveLength(0);
    expect(fake.messages()).toHaveLength(0);
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
  });

  it('reset can keep the message store', async () => {
    await client.chat.postMessage({ channel: 'C1', text: 'keep' });
    fake.reset({ messages: false });
    expect(fake.calls).toHaveLength(0);
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['keep']);
  });

  it('rejects pending waiters on close', async () => {
    const other = await startFakeSlack();
    const pending = other.waitFor('never', 10_000);
    await other.close();
    await expect(pending).rejects.toThrow(/closed/);
  });

  it('survives a malformed request path', async () => {
    const res = await fetch(`${fake.url}%E0%A4%A`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect((await client.auth.test()).ok).toBe(true);
  });

  describe("refuses what Slack refuses, with Slack's documented limits", () => {
    const section = (text: string, blockId?: string) => ({
      type: 'section',
      ...(blockId ? { block_id: blockId } : {}),
      text: { type: 'mrkdwn', text },
    });
    const button = (value: string, label = 'Go') => ({
      type: 'actions',
      elements: [{ type: 'button', action_id: 'go', value, text: { type: 'plain_text', text: label } }],
    });
    /** Posts through the real Web API client and returns Slack's error (or "ok"). */
    const post = (args: Record<string, unknown>) =>
      client
        .apiCall('chat.postMessage', { channel: 'C1', text: 'x', ...args })
        .then(() => 'ok')
        .catch((err: { data?: { error?: string; errors?: string[] } }) => err.data?.error ?? String(err));

    it('invalid_blocks for a duplicate block_id, and nothing is posted', async () => {
      expect(await post({ blocks: [section('a', 'same'), section('b', 'same')] })).toBe('invalid_blocks');
      const [call] = fake.callsTo('chat.postMessage');
      expect(call?.error).toBe('invalid_blocks');
      expect(fake.messages('C1')).toEqual([]);
      expect(await post({ blocks: [section('a', 'one'), section('b', 'two')] })).toBe('ok');
    });

    it('invalid_blocks past 50 blocks in a message; 50 are fine', async () => {
      const blocks = (n: number) => Array.from({ length: n }, (_, i) => section(`line ${i}`));
      expect(await post({ blocks: blocks(51) })).toBe('invalid_blocks');
      expect(await post({ blocks: blocks(50) })).toBe('ok');
      expect(fake.messages('C1')).toHaveLength(1);
    });

    it('invalid_blocks past 100 blocks in a modal or Home tab; 100 are fine', async () => {
      const view = (n: number) => ({
        type: 'modal',
        title: { type: 'plain_text', text: 'x' },
        blocks: Array.from({ length: n }, (_, i) => section(`line ${i}`)),
      });
      await expect(client.views.open({ trigger_id: 't', view: view(101) as never })).rejects.toMatchObject({
        data: { error: 'invalid_blocks' },
      });
      await expect(client.views.publish({ user_id: 'U1', view: view(101) as never })).rejects.toMatchObject({
        data: { error: 'invalid_blocks' },
      });
      expect((await client.views.open({ trigger_id: 't', view: view(100) as never })).ok).toBe(true);
    });

    it('invalid_blocks for a section text over 3,000 characters, with the pointer Slack gives', async () => {
      expect(await post({ blocks: [section('x'.repeat(3000))] })).toBe('ok');
      const res = await client
        .apiCall('chat.postMessage', { channel: 'C1', text: 'x', blocks: [section('x'.repeat(3001))] })
        .catch((err: { data: Record<string, unknown> }) => err.data);
      expect(res).toMatchObject({ ok: false, error: 'invalid_blocks' });
      expect(JSON.stringify(res)).toContain('json-pointer:/blocks/0/text/text');
    });

    it('invalid_blocks for a button value over 2,000 characters', async () => {
      expect(await post({ blocks: [button('v'.repeat(2000))] })).toBe('ok');
      expect(await post({ blocks: [button('v'.repeat(2001))] })).toBe('invalid_blocks');
      expect(await post({ blocks: [button('v', 'l'.repeat(76))] })).toBe('invalid_blocks');
    });

    it('msg_too_long for text over 40,000 characters', async () => {
      expect(await post({ text: 'y'.repeat(40_000) })).toBe('ok');
      expect(await post({ text: 'y'.repeat(40_001) })).toBe('msg_too_long');
    });

    it('no_text for a new message with neither text nor blocks', async () => {
      expect(await post({ text: undefined })).toBe('no_text');
      expect(await post({ text: undefined, blocks: [section('only blocks')] })).toBe('ok');
    });

    it('invalid_arguments for chat.update without ts or channel; an update is held to the same limits', async () => {
      const posted = await client.chat.postMessage({ channel: 'C1', text: 'v1' });
      const update = (args: Record<string, unknown>) =>
        client
          .apiCall('chat.update', args)
          .then(() => 'ok')
          .catch((err: { data?: { error?: string } }) => err.data?.error);
      expect(await update({ channel: 'C1', text: 'v2' })).toBe('invalid_arguments');
      expect(await update({ ts: posted.ts, text: 'v2' })).toBe('invalid_arguments');
      expect(await update({ channel: 'C1', ts: posted.ts, text: 'z'.repeat(40_001) })).toBe('msg_too_long');
      expect(
        await update({ channel: 'C1', ts: posted.ts, blocks: [section('a', 'b'), section('c', 'b')] }),
      ).toBe('invalid_blocks');
      expect(fake.messages('C1')[0]).toMatchObject({ text: 'v1', edits: 0 });
      expect(await update({ channel: 'C1', ts: posted.ts, text: 'v2' })).toBe('ok');
    });

    it('holds response_url messages to the same limits', async () => {
      const res = await fetch(fake.responseUrl('C5', 'U5'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'x', blocks: [section('a', 'b'), section('c', 'b')] }),
      });
      expect(await res.json()).toMatchObject({ ok: false, error: 'invalid_blocks' });
      expect(fake.messages('C5')).toEqual([]);
    });
  });

  it('knows users by name, for @name mentions in slash commands', () => {
    fake.setUser('U0BOB', { name: 'bob' });
    expect(fake.userIdByName('bob')).toBe('U0BOB');
    expect(fake.userIdByName('Bob')).toBe('U0BOB');
    expect(fake.userIdByName('nobody')).toBeUndefined();
  });
});
