// Where the outbound API metrics are taken: the Slack WebClient's fetch option (every request,
// response URLs named apart) against the fake Slack, and an AWS SDK middleware (every HTTP attempt,
// retries included) against a loopback S3.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { WebClient } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { startFakeSlack } from '../../../devkit/fake-slack.js';
import { createMetrics } from '../../../infra/metrics.js';
import { awsMetricsPlugin, awsResultOf, slackFetch, slackMethodOf } from '../../../infra/metrics-adapters.js';

/** One sample line's value, e.g. value(text, 'chatops_slack_api_calls_total{method="x",result="ok"}'). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the Slack adapter', () => {
  it('names response URLs apart from Web API methods', () => {
    const api = 'https://slack.com/api/';
    expect(slackMethodOf('https://slack.com/api/chat.postMessage', api)).toBe('chat.postMessage');
    expect(slackMethodOf('https://slack.com/api/views.publish?x=1', api)).toBe('views.publish');
    expect(slackMethodOf('https://hooks.slack.com/actions/T0/123/abc', api)).toBe('response_url');
    expect(slackMethodOf(new URL('https://hooks.slack.com/actions/T0/1/abc'))).toBe('response_url');
    expect(slackMethodOf(new URL('http://127.0.0.1:3000/api/chat.update'))).toBe('chat.update');
  });

  it('counts Slack Web API requests by method and result through the WebClient fetch option', async () => {
    const slack = await startFakeSlack();
    const m = createMetrics({ defaultMetrics: false });
    try {
      const client = new WebClient('xoxb-test', {
        slackApiUrl: slack.url,
        fetch: slackFetch(m),
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
      });
      await client.chat.postMessage({ channel: 'C1', text: 'hi' });
      slack.failNext('chat.postMessage', 'ratelimited');
      await expect(client.chat.postMessage({ channel: 'C1', text: 'hi' })).rejects.toThrow();
      slack.failNext('chat.update', 'message_not_found');
      await expect(client.chat.update({ channel: 'C1', ts: '1.0', text: 'x' })).rejects.toThrow();
      const text = await m.render();
      expect(value(text, 'chatops_slack_api_calls_total{method="chat.postMessage",result="ok"}')).toBe(1);
      expect(value(text, 'chatops_slack_api_calls_total{method="chat.postMessage",result="429"}')).toBe(1);
      expect(value(text, 'chatops_slack_api_calls_total{method="chat.update",result="error"}')).toBe(1);
    } finally {
      await slack.close();
    }
  });
});

describe('the AWS adapter', () => {
  it('counts every AWS HTTP attempt by service and result with an SDK plugin', async () => {
    // A loopback S3: ListBuckets answers, HeadBucket on "missing" 404, on "busy" 503 SlowDown.
    const s3 = createServer((req, res) => {
      if (req.url?.startsWith('/missing')) {
        res.writeHead(404).end();
      } else if (req.url?.startsWith('/busy')) {
        res.writeHead(503, { 'x-amz-error-code': 'SlowDown' }).end();
      } else if (req.url?.startsWith('/broken')) {
        res.writeHead(500).end();
      } else {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0"?><ListAllMyBucketsResult><Buckets></Buckets></ListAllMyBucketsResult>');
      }
    });
    await new Promise<void>((r) => s3.listen(0, '127.0.0.1', r));
    const m = createMetrics({ defaultMetrics: false });
    try {
      const client = new S3Client({
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${(s3.address() as AddressInfo).port}`,
        forcePathStyle: true,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 2,
      });
      client.middlewareStack.use(awsMetricsPlugin(m));
      await client.send(new ListBucketsCommand({}));
      await expect(client.send(new HeadBucketCommand({ Bucket: 'missing' }))).rejects.toThrow();
      await expect(client.send(new HeadBucketCommand({ Bucket: 'broken' }))).rejects.toThrow();
      const text = await m.render();
      expect(value(text, 'chatops_aws_api_calls_total{service="s3",result="ok"}')).toBe(1);
      expect(value(text, 'chatops_aws_api_calls_total{service="s3",result="4xx"}')).toBe(1);
      // A 5xx is retried by the SDK: both attempts count.
      expect(value(text, 'chatops_aws_api_calls_total{service="s3",result="5xx"}')).toBe(2);
      client.destroy();
    } finally {
      s3.closeAllConnections();
      await new Promise((r) => s3.close(r));
    }
    expect(awsResultOf({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })).toBe(
      'throttled',
    );
    expect(awsResultOf({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } })).toBe('throttled');
    expect(awsResultOf(new Error('connect ECONNREFUSED'))).toBe('error');
  });
});
