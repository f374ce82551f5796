import type { KnownBlock } from '@slack/types';
import { ErrorCode, type WebClient } from '@slack/web-api';
import pRetry, { AbortError } from 'p-retry';

export type Blocks = KnownBlock[];

export interface MessageRef {
  channel: string;
  ts: string;
}

/** A message to post: with `threadTs` a reply in that thread, also shown in the channel when `broadcast`. */
export interface OutgoingMessage {
  channel: string;
  text: string;
  blocks?: Blocks;
  threadTs?: string;
  broadcast?: boolean;
}

/** How `postOnce` recognises a message it may already have posted. */
export interface OnceKey {
  /** Unique per message (e.g. `mw-7f3a/start`); carried in the message's metadata. */
  key: string;
  /** An earlier attempt may have posted it (a claim taken over): look before posting. */
  lookFirst?: boolean;
}

/** Posting and editing Slack messages: what jobs need of Slack. */
export interface Notifier {
  /**
   * Posts a message; a user id as channel posts into the app's DM with that user. With `threadTs`
   * it is a reply in that thread, also shown in the channel when `broadcast` is set. At least once:
   * a post whose answer is lost is retried.
   */
  post(
    channel: string,
    text: string,
    blocks?: Blocks,
    threadTs?: string,
    broadcast?: boolean,
  ): Promise<MessageRef>;
  /**
   * Posts a channel message exactly once under `once.key`: rate-limited calls are sent again after
   * their Retry-After (Slack did not take them); after an answer that leaves it unknown whether Slack took the post (5xx,
   * timeout, connection reset) the channel or thread is searched for the key before posting again.
   * `msg` may be a function: it is called for each request, so text that depends on when the post
   * goes out (e.g. "late by …") is right when Slack takes it; channel and thread must not change.
   */
  postOnce(msg: OutgoingMessage | (() => OutgoingMessage), once: OnceKey): Promise<MessageRef>;
  /** Replaces the text and blocks of a message the bot posted earlier. */
  update(ref: MessageRef, text: string, blocks?: Blocks): Promise<void>;
}

/** The metadata event type of messages posted with `postOnce`. */
export const ONCE_EVENT_TYPE = 'chatops_message';
/** How many pages of channel history or thread replies a look-up reads at most. */
const LOOKUP_PAGES = 5;
/** How long one post keeps waiting out 429s (each for its Retry-After) before it fails the attempt. */
const RATE_LIMIT_WAIT_MS = 15 * 60_000;

interface ListedMessage {
  ts?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

function errorCode(err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code;
}

/** True when Slack answered and refused the call (a platform error such as `channel_not_found`). */
export function isSlackRefusal(err: unknown): boolean {
  return errorCode(err) === ErrorCode.PlatformError;
}

/**
 * True when a Slack call failed because Slack was not answering or not taking calls (a network
 * error, a 5xx, a 429): sending it again later may succeed. False for Slack's refusals (a platform
 * error such as `channel_not_found`) and for anything that did not come from the Web API client.
 */
export function isSlackUnavailable(err: unknown): boolean {
  const code = errorCode(err);
  return (
    code === ErrorCode.RequestError || code === ErrorCode.HTTPError || code === ErrorCode.RateLimitedError
  );
}

/** The message the bot posted earlier under `key`, in the thread or among the channel's latest. */
async function findPosted(
  client: WebClient,
  msg: OutgoingMessage,
  key: string,
): Promise<MessageRef | undefined> {
  const pages = msg.threadTs
    ? client.paginate('conversations.replies', {
        channel: msg.channel,
        ts: msg.threadTs,
        include_all_metadata: true,
        limit: 200,
      })
    : client.paginate('conversations.history', {
        channel: msg.channel,
        include_all_metadata: true,
        limit: 200,
      });
  let read = 0;
  for await (const page of pages) {
    for (const m of (page as { messages?: ListedMessage[] }).messages ?? []) {
      if (m.ts && m.metadata?.event_type === ONCE_EVENT_TYPE && m.metadata.event_payload?.key === key) {
        return { channel: msg.channel, ts: m.ts };
      }
    }
    read += 1;
    if (read >= LOOKUP_PAGES) break;
  }
  return undefined;
}

function postArgs(m: OutgoingMessage) {
  const base = { channel: m.channel, text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) };
  return m.threadTs ? { ...base, thread_ts: m.threadTs, reply_broadcast: m.broadcast === true } : base;
}

/**
 * A Notifier over the Slack Web API. `client` retries by itself (429 and 5xx alike); `single` must
 * make one request per call and reject rate-limited ones (retries 0, rejectRateLimitedCalls), so
 * that `postOnce` decides itself what may be sent again.
 */
export function slackNotifier(client: WebClient, single: WebClient = client): Notifier {
  return {
    async post(channel, text, blocks, threadTs, broadcast) {
      const res = await client.chat.postMessage(postArgs({ channel, text, blocks, threadTs, broadcast }));
      return { channel: String(res.channel ?? channel), ts: String(res.ts) };
    },
    async postOnce(message, once) {
      const render = typeof message === 'function' ? message : () => message;
      const msg = render();
      let unsure = once.lookFirst === true;
      return pRetry(
        async () => {
          if (unsure) {
            const found = await findPosted(client, msg, once.key);
            if (found) return found;
            // Not there: until another unsure answer, a rate-limited retry can post without looking.
            unsure = false;
          }
          // A 429 means Slack did not take the post: wait exactly its Retry-After and send it again
          // (no backoff on top, so a rate-limited channel stays busy). @slack/web-api does the same,
          // but would also resend after a 5xx, which may have been posted.
          for (let waited = 0; ; ) {
            try {
              const res = await single.chat.postMessage({
                ...postArgs(render()),
                metadata: { event_type: ONCE_EVENT_TYPE, event_payload: { key: once.key } },
              });
              return { channel: String(res.channel ?? msg.channel), ts: String(res.ts) };
            } catch (err) {
              const code = errorCode(err);
              const retryAfterMs = ((err as { retryAfter?: number }).retryAfter ?? 1) * 1000;
              if (code === ErrorCode.RateLimitedError && waited + retryAfterMs <= RATE_LIMIT_WAIT_MS) {
                await new Promise((r) => setTimeout(r, retryAfterMs));
                waited += retryAfterMs;
                continue;
              }
              // Slack refused it (a platform error is final), or the answer leaves it open.
              if (code === ErrorCode.PlatformError) throw new AbortError(err as Error);
              if (code !== ErrorCode.RateLimitedError) unsure = true;
              throw err;
            }
          }
        },
        { retries: 8, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
      );
    },
    async update(ref, text, blocks) {
      await client.chat.update({ channel: ref.channel, ts: ref.ts, text, ...(blocks ? { blocks } : {}) });
    },
  };
}
