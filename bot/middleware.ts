// Global Bolt middleware, run for every request after Bolt has verified its signature: the replay
// guard, then the request context (request id, user, logger) every listener reads.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import type { Redis } from '../infra/redis.js';
import { withTimeout } from '../infra/redis.js';

/** Slack's window for request timestamps, in both directions. */
export const MAX_CLOCK_SKEW_SECONDS = 300;
/** How long Redis may take to confirm a request's first write before the bot answers without it. */
export const REDIS_CONFIRM_MS = 2_000;

/** A signed request that must be refused with 401: a replay, or a timestamp outside the window. */
export class ReplayError extends Error {
  readonly code = 'chatops_replay_refused';
}

/** Headers the HTTP receiver copies into the context (Bolt's customPropertiesExtractor). */
export function signedHeaders(req: IncomingMessage): Record<string, string> {
  const sig = req.headers['x-slack-signature'];
  const ts = req.headers['x-slack-request-timestamp'];
  return typeof sig === 'string' && typeof ts === 'string' ? { slackSignature: sig, slackTimestamp: ts } : {};
}

/**
 * Refuses a signed request whose timestamp is more than 5 minutes off either way (Bolt only refuses
 * old ones) or whose signature was already accepted by any replica (SET NX in Redis; kept as long as
 * the timestamp window, so a replay can never outlive it). Slack's own retries are signed anew.
 * When Redis does not answer in time the request goes on marked `redisDown`, and listeners change
 * nothing: the guard's key may still land later, but no job was sent after it.
 */
export function replayGuard(opts: {
  redis: Redis;
  prefix: string;
  clock: Clock;
  log: Logger;
}): Middleware<AnyMiddlewareArgs> {
  return async ({ context, next }) => {
    const sig = context.slackSignature as string | undefined;
    const ts = Number(context.slackTimestamp);
    if (sig === undefined) return next(); // Socket Mode: the connection is authenticated, not each request.
    if (!Number.isFinite(ts) || Math.abs(opts.clock.now() / 1000 - ts) > MAX_CLOCK_SKEW_SECONDS) {
      opts.log.warn({ ts }, 'refused a request whose timestamp is outside the 5-minute window');
      throw new ReplayError('timestamp outside the window');
    }
    let fresh: boolean;
    try {
      const set = opts.redis.set(
        `${opts.prefix}:seen:${sig}`,
        '1',
        'PX',
        2 * MAX_CLOCK_SKEW_SECONDS * 1000,
        'NX',
      );
      fresh = (await withTimeout(set, REDIS_CONFIRM_MS, 'the replay check')) === 'OK';
    } catch (err) {
      opts.log.error(
        { err: err instanceof Error ? err.message : String(err) },
        'replay check: Redis did not answer',
      );
      context.redisDown = true;
      return next();
    }
    if (!fresh) {
      opts.log.warn({ ts }, 'refused a replayed request (signature already accepted)');
      throw new ReplayError('signature already accepted');
    }
    return next();
  };
}

/** What every listener gets in `context.req`. */
export interface RequestContext {
  requestId: string;
  userId: string;
  log: Logger;
  /** The replay check could not reach Redis: change nothing, say so. */
  redisDown: boolean;
  /** By when Redis must have confirmed this request's writes (epoch ms), so the ack stays inside Slack's 3 s. */
  confirmBy: number;
}

function userOf(body: AnyMiddlewareArgs['body']): string {
  const b = body as { user_id?: string; user?: { id?: string } | string };
  if (typeof b.user_id === 'string') return b.user_id;
  if (typeof b.user === 'string') return b.user;
  return b.user?.id ?? 'unknown';
}

/** Gives every request an id, its Slack user and a child logger. */
export function requestContext(log: Logger, clock: Clock): Middleware<AnyMiddlewareArgs> {
  return async ({ context, body, next }) => {
    const requestId = randomUUID();
    const userId = userOf(body);
    const req: RequestContext = {
      requestId,
      userId,
      log: log.child({ requestId, user: userId }),
      redisDown: context.redisDown === true,
      confirmBy: typeof context.confirmBy === 'number' ? context.confirmBy : clock.now() + REDIS_CONFIRM_MS,
    };
    context.req = req;
    await next();
  };
}
