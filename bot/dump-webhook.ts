// POST /hooks/dumps: cron scripts report a dump at once. Each request is signed with
// DUMP_WEBHOOK_SECRET (HMAC-SHA256 over `v0:<timestamp>:<body>`, compared in constant time; the
// header exactly `v0=` and 64 lowercase hex digits), fresh (5 minutes either way) and used once: its
// replay key is the request itself (a hash of timestamp and body), SET NX in Redis across replicas
// for as long as the request could be accepted anywhere. A refused request changes nothing: the
// replay mark is set only for a report that is about to be queued.
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { withTimeout } from '../infra/redis.js';
import { DUMPS_QUEUE, type DumpsData } from '../jobs/dumps/index.js';
import { NotConfirmedError } from '../jobs/queues.js';
import type { BotDeps } from './listeners.js';
import { ACK_BUDGET_MS, MAX_CLOCK_SKEW_SECONDS, REPLAY_KEY_TTL_MS, SLACK_SIGNATURE } from './middleware.js';

/** The largest body accepted (8 KiB). */
export const MAX_BODY_BYTES = 8 * 1024;

const report = z.strictObject({
  job: z.string().regex(/^[\w.-]{1,100}$/, 'must be a dump job name'),
  status: z.enum(['failed', 'ok']),
  exitCode: z.number().int().min(-1).max(255).optional(),
  message: z.string().max(2000).optional(),
});

export type DumpReport = z.infer<typeof report>;

/** `v0=<hex>` for a body sent at `timestamp` (unix seconds): what a cron script sends. */
export function signDumpReport(secret: string, timestamp: number | string, body: string | Buffer): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

/** The replay key of a report: the timestamp and body as signed, hashed (hex). */
export function dumpReportKey(timestamp: string, body: string | Buffer): string {
  return createHash('sha256').update(`v0:${timestamp}:`).update(body).digest('hex');
}

/** True when `given` is exactly the signature of the body; constant time over equal lengths. */
export function signatureMatches(
  secret: string,
  timestamp: string,
  body: string | Buffer,
  given: string,
): boolean {
  if (!SLACK_SIGNATURE.test(given)) return false;
  const expected = Buffer.from(signDumpReport(secret, timestamp, body));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

type BodyResult = { ok: true; body: Buffer } | { ok: false; status: 413 | 400; error: string };

/** Reads the body, stopping at `limit` bytes (the rest is discarded, not buffered). */
function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve({ ok: false, status: 413, error: `the body is larger than ${limit} bytes` });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: BodyResult) => {
      if (done) return;
      done = true;
      resolve(r);
    };
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        chunks.length = 0;
        finish({ ok: false, status: 413, error: `the body is larger than ${limit} bytes` });
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => finish({ ok: true, body: Buffer.concat(chunks) }));
    req.on('error', () => finish({ ok: false, status: 400, error: 'the request body could not be read' }));
  });
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** The parsed report, or why it is refused (400). */
export function parseReport(
  body: string,
  jobs: readonly string[],
): { report: DumpReport } | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { error: 'the body is not JSON' };
  }
  const res = report.safeParse(raw);
  if (!res.success) {
    const i = res.error.issues[0];
    return { error: `${i?.path.length ? i.path.join('.') : 'body'}: ${i?.message ?? 'invalid'}` };
  }
  if (!jobs.includes(res.data.job))
    return { error: `unknown job "${res.data.job}": it is not in dumps.jobs` };
  return { report: res.data };
}

/** The route handler of POST /hooks/dumps. */
export function dumpWebhook(deps: BotDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const log = deps.logger.child({ component: 'dump-webhook' });
  const prefix = deps.env.CHATOPS_REDIS_PREFIX;
  const refuse = (res: ServerResponse, status: number, error: string) => {
    log.warn({ status, reason: error }, 'dump report refused');
    send(res, status, { error });
  };
  return (req, res) => {
    const deadline = deps.clock.now() + ACK_BUDGET_MS;
    void (async () => {
      const secret = deps.env.DUMP_WEBHOOK_SECRET;
      if (!secret) {
        req.resume();
        return refuse(res, 503, 'dump reports are not accepted: DUMP_WEBHOOK_SECRET is not set');
      }
      const ts = header(req, 'x-chatops-timestamp') ?? '';
      const sig = header(req, 'x-chatops-signature') ?? '';
      // The headers first: a malformed one is refused before the body is read.
      if (!SLACK_SIGNATURE.test(sig)) {
        req.resume();
        return refuse(res, 401, 'X-Chatops-Signature does not match');
      }
      if (!/^\d{1,12}$/.test(ts) || Math.abs(deps.clock.now() / 1000 - Number(ts)) > MAX_CLOCK_SKEW_SECONDS) {
        req.resume();
        return refuse(res, 401, 'X-Chatops-Timestamp is missing or more than 5 minutes off');
      }
      const body = await readBody(req, MAX_BODY_BYTES);
      if (!body.ok) {
        res.setHeader('connection', 'close');
        return refuse(res, body.status, body.error);
      }
      if (!signatureMatches(secret, ts, body.body, sig)) {
        return refuse(res, 401, 'X-Chatops-Signature does not match');
      }
      const parsed = parseReport(
        body.body.toString('utf8'),
        deps.config.dumps?.jobs.map((j) => j.name) ?? [],
      );
      if ('error' in parsed) return refuse(res, 400, parsed.error);
      const r = parsed.report;
      const digest = dumpReportKey(ts, body.body);
      const seenKey = `${prefix}:dump:seen:${digest}`;
      let fresh: boolean;
      try {
        const set = deps.redis.set(seenKey, '1', 'PX', REPLAY_KEY_TTL_MS, 'NX');
        fresh =
          (await withTimeout(set, Math.max(0, deadline - deps.clock.now()), 'the replay check')) === 'OK';
      } catch (err) {
        log.error(
          { err: err instanceof Error ? err.message : String(err) },
          'dump report: Redis did not answer',
        );
        return refuse(res, 503, 'Redis is not answering; nothing was recorded, send the report again');
      }
      if (!fresh) return refuse(res, 401, 'this signature was already accepted (a replay)');
      const requestId = randomUUID();
      // The request's own key: even a replay that got past a lost replay mark adds nothing.
      const jobId = `dh-${digest.slice(0, 32)}`;
      const data: DumpsData =
        r.status === 'failed'
          ? {
              kind: 'report',
              job: r.job,
              at: deps.clock.now(),
              requestId,
              requester: 'cron-host',
              ...(r.exitCode === undefined ? {} : { exitCode: r.exitCode }),
              ...(r.message === undefined ? {} : { message: r.message }),
            }
          : { kind: 'check', jobs: [r.job], reason: 'report-ok', requestId, requester: 'cron-host' };
      try {
        await deps.queues.enqueue(DUMPS_QUEUE, data.kind, data, { jobId, confirmBy: deadline });
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'dump report not queued');
        if (err instanceof NotConfirmedError) {
          return refuse(res, 503, 'Redis did not confirm the report in time; it may still be recorded');
        }
        // Not queued: free the request's key, so a retry of this very request is accepted.
        await deps.redis.del(seenKey).catch(() => 0);
        return refuse(res, 503, 'the report could not be queued; send it again');
      }
      // Sent now, not awaited on its own: the answer does not wait a second round trip for it.
      deps.audit
        .record({
          requestId,
          user: 'cron-host',
          action: 'dumps.report',
          outcome: 'queued',
          target: r.job,
          detail: r.status,
        })
        .catch((err) => log.error({ err: String(err) }, 'audit write failed'));
      log.info({ requestId, job: r.job, status: r.status }, 'dump report accepted');
      send(res, 202, { status: 'accepted', job: r.job, report: r.status });
    })().catch((err) => {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'dump webhook failed');
      send(res, 500, { error: 'internal error' });
    });
  };
}
