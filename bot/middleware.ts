// The request gate, in the order a request meets it:
// 1. gateSlackRequests wraps the HTTP receiver's request listener: a signature header that is not
//    exactly `v0=` + 64 lowercase hex digits, or a timestamp more than 5 minutes off either way, is
//    answered 401 before Bolt reads the body. The ack budget starts here, when the request arrives.
// 2. Bolt verifies the signature, as published.
// 3. slackRequestProperties (Bolt's customPropertiesExtractor) names the request by what was signed:
//    its timestamp and a hash of its raw body, so any re-encoding of the header is the same request.
// 4. requestGate (the app's one global middleware) gives the request its id, user, logger and
//    deadline, and refuses with 401 a request any replica has already accepted.
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, RequestListener } from 'node:http';
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import { markRefused } from '../infra/metrics.js';
import type { Redis } from '../infra/redis.js';
import { withTimeout } from '../infra/redis.js';

/** Slack's window for request timestamps, in both directions. */
export const MAX_CLOCK_SKEW_SECONDS = 300;
/** How far apart the replicas' clocks may be: a replay key outlives the acceptance window by this. */
export const REPLICA_CLOCK_MARGIN_SECONDS = 60;
/**
 * How long a replay key is kept. A request is accepted while its timestamp is within 300 s of the
 * receiving replica's clock, so one stamped 299 s ahead stays acceptable for almost 600 s of real
 * time; another replica whose clock is behind accepts it for up to the clock difference longer.
 */
export const REPLAY_KEY_TTL_MS = (2 * MAX_CLOCK_SKEW_SECONDS + REPLICA_CLOCK_MARGIN_SECONDS) * 1000;
/**
 * The one budget of everything before the ack (replay check, authorisation, the work, the audit
 * entry), counted from the moment the request arrives. Slack gives up after 3 s.
 */
export const ACK_BUDGET_MS = 2_500;

/** The only signature header accepted: Slack's v0 scheme, lowercase hex of HMAC-SHA256, nothing else. */
export const SLACK_SIGNATURE = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{1,12}$/;

/** A signed request that must be refused with 401: a replay. */
export class ReplayError extends Error {
  readonly code = 'chatops_replay_refused';
}

/** Why a Slack request's headers are refused before its body is read, or undefined when they may go on. */
export function malformedSlackHeaders(headers: IncomingHttpHeaders, nowMs: number): string | undefined {
  const sig = headers['x-slack-signature'];
  if (typeof sig !== 'string' || !SLACK_SIGNATURE.test(sig)) {
    return 'x-slack-signature is not v0= and 64 lowercase hex digits';
  }
  const ts = headers['x-slack-request-timestamp'];
  if (typeof ts !== 'string' || !TIMESTAMP.test(ts)) return 'x-slack-request-timestamp is not a number';
  if (Math.abs(nowMs / 1000 - Number(ts)) > MAX_CLOCK_SKEW_SECONDS) {
    return 'x-slack-request-timestamp is more than 5 minutes off';
  }
  return undefined;
}

/** When each request on a gated endpoint arrived (epoch ms), for its ack budget. */
const arrivals = new WeakMap<IncomingMessage, number>();

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

/**
 * Wraps an HTTP receiver's request listener (Bolt's public `requestListener`): a POST to one of
 * `endpoints` whose signature or timestamp header is malformed is answered 401 at once, before
 * anything reads its body or Redis; every other request goes on to Bolt, stamped with its arrival.
 */
export function gateSlackRequests(
  inner: RequestListener,
  opts: { endpoints: readonly string[]; clock: Clock; log: Logger },
): RequestListener {
  return (req, res) => {
    if (req.method === 'POST' && opts.endpoints.includes(pathOf(req.url))) {
      const now = opts.clock.now();
      const problem = malformedSlackHeaders(req.headers, now);
      if (problem) {
        opts.log.warn({ reason: problem }, 'refused a Slack request before reading it');
        // Counted by infra/metrics.ts countRefusals, which wraps this listener.
        markRefused(res, problem.startsWith('x-slack-signature') ? 'signature' : 'timestamp');
        req.resume();
        res.writeHead(401);
        res.end();
        return;
      }
      arrivals.set(req, now);
    }
    inner(req, res);
  };
}

/** What the receiver copies into every request's context (Bolt's customPropertiesExtractor). */
export type SlackRequestProperties = {
  /** Timestamp and body as signed, hashed: the request itself, however its headers were written. */
  replayKey?: string;
  /** When the request arrived (epoch ms). */
  arrivedAt?: number;
};

/** Bolt's customPropertiesExtractor: runs after Bolt verified the signature over this raw body. */
export function slackRequestProperties(req: IncomingMessage & { rawBody?: Buffer }): SlackRequestProperties {
  const ts = req.headers['x-slack-request-timestamp'];
  const props: SlackRequestProperties = {};
  const arrivedAt = arrivals.get(req);
  if (arrivedAt !== undefined) props.arrivedAt = arrivedAt;
  if (typeof ts === 'string' && req.rawBody) {
    props.replayKey = createHash('sha256').update(`v0:${ts}:`).update(req.rawBody).digest('hex');
  }
  return props;
}

/** What every listener gets in `context.req`. */
export interface RequestContext {
  requestId: string;
  userId: string;
  log: Logger;
  /** When the request arrived (epoch ms): its ack latency is measured from here. */
  arrivedAt: number;
  /** The replay check could not reach Redis in time: change nothing, say so. */
  redisDown: boolean;
  /**
   * The deadline of everything before the ack (epoch ms): the arrival plus ACK_BUDGET_MS. Redis
   * writes that are not confirmed by then are reported as "may still happen".
   */
  confirmBy: number;
}

function userOf(body: AnyMiddlewareArgs['body']): string {
  const b = body as { user_id?: string; user?: { id?: string } | string };
  if (typeof b.user_id === 'string') return b.user_id;
  if (typeof b.user === 'string') return b.user;
  return b.user?.id ?? 'unknown';
}

/**
 * The one global middleware of the app: gives every request its context (an id, its Slack user, a
 * logger, its deadline: arrival + budget), then refuses with 401 a request whose replay key any
 * replica has already accepted (SET NX in Redis, kept for REPLAY_KEY_TTL_MS, longer than the
 * request can be accepted anywhere). Slack's own retries are signed anew, so they pass. When Redis
 * does not answer within the request's budget the request goes on marked `redisDown`, and listeners
 * change nothing: the key may still land later, but no job was sent after it. Socket Mode requests
 * carry no replay key: the connection is authenticated, not each request.
 */
export function requestGate(opts: {
  redis: Redis;
  prefix: string;
  clock: Clock;
  log: Logger;
}): Middleware<AnyMiddlewareArgs> {
  return async ({ context, body, next }) => {
    const requestId = randomUUID();
    const userId = userOf(body);
    // Socket Mode requests have no arrival stamp: their budget starts here.
    const arrivedAt = typeof context.arrivedAt === 'number' ? context.arrivedAt : opts.clock.now();
    let log: Logger | undefined;
    const req: RequestContext = {
      requestId,
      userId,
      // Made on first use: most requests never log.
      get log() {
        log ??= opts.log.child({ requestId, user: userId });
        return log;
      },
      arrivedAt,
      redisDown: false,
      confirmBy: arrivedAt + ACK_BUDGET_MS,
    };
    context.req = req;
    const key = context.replayKey as string | undefined;
    if (key === undefined) return next();
    let fresh: boolean;
    try {
      const set = opts.redis.set(`${opts.prefix}:seen:${key}`, '1', 'PX', REPLAY_KEY_TTL_MS, 'NX');
      fresh =
        (await withTimeout(set, Math.max(0, req.confirmBy - opts.clock.now()), 'the replay check')) === 'OK';
    } catch (err) {
      req.log.error(
        { err: err instanceof Error ? err.message : String(err) },
        'replay check: Redis did not answer',
      );
      req.redisDown = true;
      return next();
    }
    if (!fresh) {
      req.log.warn('refused a replayed request (already accepted)');
      throw new ReplayError('request already accepted');
    }
    return next();
  };
}
