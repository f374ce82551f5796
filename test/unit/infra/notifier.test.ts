// Posting and editing through the Slack Web API, against the fake Slack (behind a fault proxy where
// an answer must be lost): DMs by user id, thread replies, edits, and postOnce's exactly-once post
// (a lost answer is looked up by its key, a 429 waited out, a refusal not sent again).
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../../../devkit/fake-slack.js';
import { isSlackRefusal, isSlackUnavailable, type Notifier, slackNotifier } from '../../../infra/notifier.js';
import { type HttpFaultProxy, slackMethodOf, startHttpFaultProxy } from '../../helpers/fault-proxy.js';

let slack: FakeSlack;
let proxy: HttpFaultProxy;
let notifier: Notifier;
/** One request per call, rate limits thrown: what postOnce is given in production. */
let single: WebClient;

beforeAll(async () => {
  slack = await startFakeSlack();
  proxy = await startHttpFaultProxy({ upstream: slack.url, nameOf: slackMethodOf });
  const client = new WebClient('xoxb-test', {
    slackApiUrl: `${proxy.url}/api/`,
    retryConfig: { retries: 0 },
  });
  single = new WebClient('xoxb-test', {
    slackApiUrl: `${proxy.url}/api/`,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  notifier = slackNotifier(client, single);
});
afterAll(async () => {
  await proxy.close();
  await slack.close();
});

const posts = (channel: string) =>
  slack.callsTo('chat.postMessage').filter((c) => c.args.channel === channel);

describe('slackNotifier', () => {
  it('posts to a user id in the DM, replies in a thread, and edits what it posted', async () => {
    const dm = await notifier.post('U0ALICE', 'working', [
      { type: 'section', text: { type: 'mrkdwn', text: 'working' } },
    ]);
    expect(dm.channel).toBe('D0ALICE');
    const reply = await notifier.post(
      'C0OPS',
      'in thread',
      undefined,
      (await notifier.post('C0OPS', 'top')).ts,
      true,
    );
    await notifier.update(dm, 'done');
    expect(slack.messages('D0ALICE')).toEqual([
      expect.objectContaining({ ts: dm.ts, text: 'done', edits: 1 }),
    ]);
    expect(slack.messages('C0OPS').find((m) => m.ts === reply.ts)?.thread_ts).toBeDefined();
    expect(String(slack.callsTo('chat.postMessage').at(-1)?.args.reply_broadcast)).toBe('true');
  });

  it('postOnce posts under its key once: a look-first ask finds the earlier post and posts nothing', async () => {
    const first = await notifier.postOnce({ channel: 'C0ONCE', text: 'starts now' }, { key: 'mw-1/start' });
    expect(slack.messages('C0ONCE')[0]?.metadata).toEqual({
      event_type: 'chatops_message',
      event_payload: { key: 'mw-1/start' },
    });
    const again = await notifier.postOnce(
      { channel: 'C0ONCE', text: 'starts now' },
      { key: 'mw-1/start', lookFirst: true },
    );
    expect(again).toEqual(first);
    expect(posts('C0ONCE')).toHaveLength(1);
  });

  it('postOnce looks for its key after an answer that leaves it open (a 503 after Slack took it)', async () => {
    let lost = false;
    proxy.rule = (c) => {
      if (c.name !== 'chat.postMessage' || lost) return 'pass';
      lost = true;
      return { status: 503, afterForward: true };
    };
    try {
      const ref = await notifier.postOnce({ channel: 'C0LOST', text: 'reminder' }, { key: 'mw-2/remind' });
      expect(slack.messages('C0LOST').map((m) => m.ts)).toEqual([ref.ts]);
      expect(slack.callsTo('conversations.history').some((c) => c.args.channel === 'C0LOST')).toBe(true);
    } finally {
      proxy.rule = () => 'pass';
    }
  });

  it('postOnce does not send again what Slack refused', async () => {
    slack.failNext('chat.postMessage', 'channel_not_found');
    await expect(
      notifier.postOnce({ channel: 'C0GONE', text: 'x' }, { key: 'k-gone' }),
    ).rejects.toMatchObject({
      code: 'slack_webapi_platform_error',
    });
    expect(posts('C0GONE')).toHaveLength(1);
  });

  it('postOnce waits out a 429 for its Retry-After and renders the message again when it sends', async () => {
    slack.failNext('chat.postMessage', 'ratelimited');
    let renders = 0;
    const started = performance.now();
    await notifier.postOnce(() => ({ channel: 'C0BUSY', text: `render ${++renders}` }), { key: 'k-busy' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(slack.messages('C0BUSY').map((m) => m.text)).toEqual(['render 3']);
    expect(posts('C0BUSY').map((c) => Boolean(c.ratelimited))).toEqual([true, false]);
  });
});

describe('reading Slack errors', () => {
  it('tells a refusal from Slack being unavailable, and knows neither in other errors', async () => {
    slack.failNext('chat.update', 'message_not_found');
    const refused = await single.chat
      .update({ channel: 'C1', ts: '1.0', text: 'x' })
      .catch((e: unknown) => e);
    slack.failNext('chat.postMessage', 'ratelimited');
    const limited = await single.chat.postMessage({ channel: 'C1', text: 'x' }).catch((e: unknown) => e);
    const down = new WebClient('x', { slackApiUrl: 'http://127.0.0.1:1/api/', retryConfig: { retries: 0 } });
    const unreachable = await down.auth.test().catch((e: unknown) => e);

    expect([isSlackRefusal(refused), isSlackUnavailable(refused)]).toEqual([true, false]);
    expect([isSlackRefusal(limited), isSlackUnavailable(limited)]).toEqual([false, true]);
    expect([isSlackRefusal(unreachable), isSlackUnavailable(unreachable)]).toEqual([false, true]);
    expect([isSlackRefusal(new Error('x')), isSlackUnavailable(new Error('x'))]).toEqual([false, false]);
  });
});
