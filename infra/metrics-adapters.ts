// Where the outbound API metrics are taken, through each library's own extension point: the Slack
// WebClient's `fetch` option (every HTTP request it makes, retries included) and an AWS SDK v3
// middleware in the deserialize step (every HTTP attempt, inside the SDK's retry loop).
import type { FetchFunction } from '@slack/web-api';
import type { MiddlewareStack, Pluggable } from '@smithy/types';
import { iamActionOf } from './aws.js';
import type { AwsResult, Metrics, SlackResult } from './metrics.js';

/**
 * The Web API method of a request URL (`…/api/chat.postMessage` → `chat.postMessage`); `response_url`
 * for anything else (Bolt's `respond` posts to the interaction's response URL with the same fetch).
 */
export function slackMethodOf(url: string | URL, apiUrl?: string): string {
  const href = typeof url === 'string' ? (url.split('?')[0] ?? '') : `${url.origin}${url.pathname}`;
  const method = href.slice(href.lastIndexOf('/') + 1);
  if (apiUrl !== undefined) return href.startsWith(apiUrl) ? method : 'response_url';
  return /^[a-z]+(\.[a-zA-Z]+){1,3}$/.test(method) ? method : 'response_url';
}

async function slackResultOf(res: Response): Promise<SlackResult> {
  if (res.status === 429) return '429';
  if (res.status >= 500) return '5xx';
  if (res.status !== 200) return 'error';
  // Slack answers most failures with HTTP 200 and `ok: false`; read a copy, the client reads the body.
  // A response URL may answer a bare `ok`.
  const text = await res
    .clone()
    .text()
    .catch(() => '');
  if (text.trim() === 'ok') return 'ok';
  let body: { ok?: unknown } | undefined;
  try {
    body = JSON.parse(text) as { ok?: unknown };
  } catch {
    body = undefined;
  }
  return body?.ok === true ? 'ok' : 'error';
}

/**
 * A `fetch` for `new WebClient(token, { fetch })` (and Bolt's `clientOptions.fetch`) that counts each
 * Web API request in `chatops_slack_api_calls_total{method,result}`.
 */
export function slackFetch(
  metrics: Pick<Metrics, 'slackCall'>,
  base: typeof globalThis.fetch = globalThis.fetch,
  /** SLACK_API_URL: requests elsewhere are response URLs. */
  apiUrl?: string,
): FetchFunction {
  return async (url, init) => {
    const method = slackMethodOf(url, apiUrl);
    let res: Response;
    try {
      res = await base(url, init as RequestInit);
    } catch (err) {
      metrics.slackCall(method, 'error');
      throw err;
    }
    metrics.slackCall(method, await slackResultOf(res));
    return res;
  };
}

// Error codes the AWS services use for throttling (besides HTTP 429).
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
]);

/** The `result` label of a failed AWS attempt. */
export function awsResultOf(err: unknown): AwsResult {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  if (status === 429 || THROTTLING.has(e?.name ?? '') || THROTTLING.has(e?.code ?? '')) return 'throttled';
  if (status === undefined) return 'error';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  return 'error';
}

/**
 * An SDK plugin (`client.middlewareStack.use(awsMetricsPlugin(metrics))`, or in `clientPlugins`)
 * counting each HTTP attempt in `chatops_aws_api_calls_total{service,result}`.
 */
export function awsMetricsPlugin<I extends object = object, O extends object = object>(
  metrics: Pick<Metrics, 'awsCall'>,
): Pluggable<I, O> {
  return {
    applyToStack(stack: MiddlewareStack<I, O>) {
      stack.add(
        (next, context) => async (args) => {
          const service =
            iamActionOf(String(context.clientName), String(context.commandName)).split(':')[0] ?? '';
          try {
            const out = await next(args);
            metrics.awsCall(service, 'ok');
            return out;
          } catch (err) {
            metrics.awsCall(service, awsResultOf(err));
            throw err;
          }
        },
        // High priority: outside the SDK's deserializer, so a service error arrives parsed, with its status.
        // override: applied again to the same STS client at every refresh of assumed-role credentials.
        { step: 'deserialize', priority: 'high', name: 'chatopsAwsCallMetrics', override: true },
      );
    },
  };
}
