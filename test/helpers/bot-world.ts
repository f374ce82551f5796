// The bot for unit tests: the real Bolt app (bot/app.ts createBotApp, its HTTP receiver, the request
// gate and every handler) on a loopback port, against the fake Slack and the real Redis under a fresh
// prefix, with signed requests as Slack sends them. `close()` stops it and deletes every key.
import type { App } from '@slack/bolt';
import { createBotApp } from '../../bot/app.js';
import type { BotDeps } from '../../bot/listeners.js';
import { type FakeSlack, startFakeSlack } from '../../devkit/fake-slack.js';
import {
  createSlackClient,
  type SlackHttpResponse,
  type SlackSendOptions,
} from '../../devkit/slack-signer.js';
import { type AuditRecord, createRedisAuditLog } from '../../infra/audit.js';
import { type Clock, systemClock } from '../../infra/clock.js';
import type { Config } from '../../infra/config.js';
import { parseEnv } from '../../infra/env.js';
import { createLogger } from '../../infra/logger.js';
import { createMetrics } from '../../infra/metrics.js';
import { createQueues } from '../../jobs/queues.js';
import { testConfig } from './config.js';
import { testRedis } from './test-redis.js';
import { until } from './wait.js';

const SIGNING_SECRET = 'unit-signing-secret';

export interface BotWorld {
  app: App;
  /** What the handlers were given (Bolt's Web API client as `slack`). */
  deps: BotDeps;
  slack: FakeSlack;
  prefix: string;
  logs: string[];
  /** Base URL of the bot's HTTP server. */
  url: string;
  /** How many times something asked for a Home refresh. */
  homeChanges(): number;
  /** A signed slash command from `user` in C0GENERAL; resolves to the ack's text. */
  command(user: string, command: string, text?: string): Promise<{ status: number; text: string }>;
  /** A signed click; on a message its answer arrives in `channel` (an ephemeral), from Home in the DM. */
  click(
    user: string,
    actionId: string,
    value: string,
    from?: 'home' | { channel: string },
  ): Promise<SlackHttpResponse>;
  /** A signed modal submission. */
  submit(
    user: string,
    callbackId: string,
    privateMetadata: string,
    values?: Record<string, Record<string, string>>,
  ): Promise<SlackHttpResponse>;
  /** Posts a raw body to /slack/events, signed unless `opts` forges it (a replay, a bad signature). */
  send(body: string, opts?: SlackSendOptions): Promise<SlackHttpResponse>;
  /** A signed Events API delivery. */
  event(event: { type: string } & Record<string, unknown>): Promise<SlackHttpResponse>;
  /** Waits for the text of the next message to `user` in `channel` (a DM when it is the user's id). */
  answer(channel: string, user: string, count?: number): Promise<string>;
  audit(): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export async function startBotWorld(
  opts: { config?: Config; clock?: Clock; deps?: Partial<BotDeps> } = {},
): Promise<BotWorld> {
  const config = opts.config ?? testConfig();
  const clock = opts.clock ?? systemClock;
  const { redis, prefix, cleanup } = testRedis('bot');
  const slack = await startFakeSlack();
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
  const env = parseEnv({
    CHATOPS_ROLE: 'bot',
    CHATOPS_REDIS_PREFIX: prefix,
    SLACK_BOT_TOKEN: 'xoxb-unit',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.url,
    PORT: '0',
  });
  const queues = createQueues({ connection: redis, prefix, config, clock });
  let changes = 0;
  const deps: BotDeps = {
    config,
    env,
    logger,
    audit: createRedisAuditLog(redis, `${prefix}:audit`, 1_000, logger, clock),
    queues,
    redis,
    clock,
    metrics: createMetrics({ defaultMetrics: false, clock }),
    homeChanged: () => void changes++,
    ...opts.deps,
  };
  const bot = createBotApp(deps, { botId: slack.botId, botUserId: slack.botUserId });
  const port = await bot.start();
  const url = `http://127.0.0.1:${port}`;
  const client = createSlackClient({
    url: `${url}/slack/events`,
    signingSecret: SIGNING_SECRET,
    typing: slack,
  });
  const dm = (user: string) => `D${user.slice(1)}`;
  return {
    app: bot.app,
    deps: { ...deps, slack: bot.app.client },
    slack,
    prefix,
    logs,
    url,
    homeChanges: () => changes,
    async command(user, command, text = '') {
      const channelId = 'C0GENERAL';
      const responseUrl = slack.responseUrl(channelId, user);
      const res = await client.command({ command, text, userId: user, channelId, responseUrl });
      return { status: res.status, text: (res.json as { text?: string } | undefined)?.text ?? res.body };
    },
    click(user, actionId, value, from = { channel: 'C0GENERAL' }) {
      if (from === 'home') return client.click({ userId: user, actionId, value, home: {} });
      const messageTs = '1700000000.000100';
      return client.click({
        userId: user,
        actionId,
        value,
        channelId: from.channel,
        messageTs,
        responseUrl: slack.responseUrl(from.channel, user, messageTs),
      });
    },
    submit(user, callbackId, privateMetadata, values = {}) {
      return client.submit({ userId: user, callbackId, privateMetadata, values });
    },
    send: (body, sendOpts) => client.send(body, sendOpts),
    event(event) {
      return client.event({ event });
    },
    async answer(channel, user, count = 1) {
      const where = channel === user ? dm(user) : channel;
      const mine = () => slack.messages(where).filter((m) => where === dm(user) || m.user === user);
      await until(`${count} answer(s) to ${user} in ${where}`, () => mine().length >= count, 5_000, 10);
      return mine()[count - 1]?.text ?? '';
    },
    async audit() {
      return deps.audit.recent(1_000);
    },
    async close() {
      await bot.stop();
      await queues.close();
      await slack.close();
      await cleanup();
    },
  };
}
