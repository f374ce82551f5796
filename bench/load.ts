// Closed-loop load generator: `c` workers on one keep-alive agent, each sending a freshly signed
// slash command (or whatever `send` sends) and waiting for the full response before sending the next.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { signSlackRequest } from '../devkit/slack-signer.js';
import { percentile } from './report.js';

export interface HttpReply {
  status: number;
  body: string;
  /** False when the request had to open a new connection. */
  reused: boolean;
}

/** One request on `agent` to the target on `port`; resolves with the full response. */
export function httpRequest(
  agent: Agent,
  port: number,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  timeoutMs = 10_000,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        timeout: timeoutMs,
        headers:
          body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, reused: req.reusedSocket }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** One signed POST to /slack/events on `agent`; resolves with the full response. */
export function postSigned(
  agent: Agent,
  port: number,
  signingSecret: string,
  body: string,
  timeoutMs = 10_000,
): Promise<HttpReply> {
  return httpRequest(
    agent,
    port,
    'POST',
    '/slack/events',
    { ...signSlackRequest(signingSecret, body) },
    body,
    timeoutMs,
  );
}

export interface LoadOptions {
  port: number;
  concurrency: number;
  signingSecret: string;
  warmupMs: number;
  durationMs: number;
  /** Upper bound on measured requests (the window also ends at durationMs). */
  maxRequests: number;
  /** A fresh request body for worker `w` (a new trigger_id each time), signed and posted to /slack/events. */
  body?(worker: number): string;
  /** Instead of `body`: sends one request of worker `w` on `agent` (e.g. another route) and resolves with the reply. */
  send?(agent: Agent, worker: number): Promise<HttpReply>;
  /** The status a served request gets (default 200); any other counts as an error. */
  expectStatus?: number;
  /** True when a reply with that status is what the target should answer; others count as bad replies. */
  accept?(reply: HttpReply): boolean;
  /** Called when the measured window starts and when the last measured request finished. */
  onWindow?(event: 'start' | 'end'): void;
}

export interface LoadResult {
  concurrency: number;
  requests: number;
  /** Transport errors and answers other than `expectStatus` during the measured window. */
  errors: number;
  /** 200 answers that `accept` refused (e.g. the bot answered with an error text). */
  badReplies: number;
  /** Connections opened during the measured window (keep-alive working: 0). */
  newConnections: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  /** Percentiles 98, 99.5 and 99.9: where the tail bends (GC pauses hit about 1% of requests at c=1). */
  tailMs: { p98: number; p995: number; p999: number };
  maxms: number;
  /** One reply body from the measured window, to show what the target answered. */
  sample?: string;
}

/** Warm-up, then a measured window; latency is send to full response, every sample kept. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const { body, send } = o;
  if (!body === !send) throw new Error('runLoad: give exactly one of body and send');
  // The body is built before the clock starts (as before `send` existed); `send` signs inside it.
  const prepare = (w: number): string | undefined => body?.(w);
  const one = (w: number, b: string | undefined): Promise<HttpReply> =>
    b === undefined
      ? (send as NonNullable<LoadOptions['send']>)(agent, w)
      : postSigned(agent, o.port, o.signingSecret, b);
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency, keepAliveMsecs: 10_000 });
  const samples = new Float64Array(o.maxRequests);
  let n = 0;
  let errors = 0;
  let badReplies = 0;
  let newConnections = 0;
  let sample: string | undefined;
  let lastEnd = 0;
  const warmEnd = performance.now() + o.warmupMs;
  let measureStart = Number.POSITIVE_INFINITY;
  let measureEnd = Number.POSITIVE_INFINITY;
  let firstError: string | undefined;

  const worker = async (w: number) => {
    // Warm-up: same traffic, nothing recorded (JIT, connection pool, Redis connections).
    while (performance.now() < warmEnd) {
      try {
        await one(w, prepare(w));
      } catch {
        // counted in the measured window only
      }
    }
    if (measureStart === Number.POSITIVE_INFINITY) {
      o.onWindow?.('start');
      measureStart = performance.now();
      measureEnd = measureStart + o.durationMs;
    }
    while (n < o.maxRequests && performance.now() < measureEnd) {
      const b = prepare(w);
      const t = performance.now();
      try {
        const reply = await one(w, b);
        const end = performance.now();
        if (!reply.reused) newConnections += 1;
        if (reply.status !== (o.expectStatus ?? 200)) {
          errors += 1;
          firstError ??= `HTTP ${reply.status}: ${reply.body.slice(0, 200)}`;
          continue;
        }
        if (o.accept && !o.accept(reply)) {
          badReplies += 1;
          firstError ??= `bad reply: ${reply.body.slice(0, 200)}`;
        }
        sample ??= reply.body;
        if (n < o.maxRequests) samples[n++] = end - t;
        lastEnd = end;
      } catch (err) {
        errors += 1;
        firstError ??= String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  o.onWindow?.('end');
  agent.destroy();

  const seconds = (lastEnd - measureStart) / 1000;
  const sorted = samples.subarray(0, n).sort();
  if (firstError) process.stderr.write(`  (c=${o.concurrency}) first problem: ${firstError}\n`);
  return {
    concurrency: o.concurrency,
    requests: n,
    errors,
    badReplies,
    newConnections,
    seconds,
    rps: n / seconds,
    p50ms: percentile(sorted, 50),
    p99ms: percentile(sorted, 99),
    tailMs: { p98: percentile(sorted, 98), p995: percentile(sorted, 99.5), p999: percentile(sorted, 99.9) },
    maxms: n ? (sorted[n - 1] as number) : Number.NaN,
    sample,
  };
}
