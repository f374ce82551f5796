import { type FetchFunction, WebClient } from '@slack/web-api';
import type { Env } from './env.js';

/**
 * A Slack Web API client for the bot token, at SLACK_API_URL, with bounded retries and a timeout.
 * With `retries: 0` and `rejectRateLimited`, each call is exactly one request and a 429 is thrown
 * (with its Retry-After) instead of waited out: for callers that must decide what to send again.
 * `fetch` (e.g. infra/metrics-adapters.ts slackFetch) sees every HTTP request, retries included.
 */
export function createSlackWebClient(
  env: Env,
  retries: number,
  rejectRateLimited = false,
  fetch?: FetchFunction,
): WebClient {
  return new WebClient(env.SLACK_BOT_TOKEN, {
    slackApiUrl: env.SLACK_API_URL,
    retryConfig: { retries, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
    timeout: 10_000,
    rejectRateLimitedCalls: rejectRateLimited,
    ...(fetch ? { fetch } : {}),
  });
}
