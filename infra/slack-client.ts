import { WebClient } from '@slack/web-api';
import type { Env } from './env.js';

/** A Slack Web API client for the bot token, at SLACK_API_URL, with bounded retries and a timeout. */
export function createSlackWebClient(env: Env, retries: number): WebClient {
  return new WebClient(env.SLACK_BOT_TOKEN, {
    slackApiUrl: env.SLACK_API_URL,
    retryConfig: { retries, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
    timeout: 10_000,
  });
}
