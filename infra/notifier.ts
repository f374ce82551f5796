import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';

export type Blocks = KnownBlock[];

export interface MessageRef {
  channel: string;
  ts: string;
}

/** Posting and editing Slack messages: what jobs need of Slack. */
export interface Notifier {
  /**
   * Posts a message; a user id as channel posts into the app's DM with that user. With `threadTs`
   * it is a reply in that thread, also shown in the channel when `broadcast` is set.
   */
  post(
    channel: string,
    text: string,
    blocks?: Blocks,
    threadTs?: string,
    broadcast?: boolean,
  ): Promise<MessageRef>;
  /** Replaces the text and blocks of a message the bot posted earlier. */
  update(ref: MessageRef, text: string, blocks?: Blocks): Promise<void>;
}

/** A Notifier over the Slack Web API client. */
export function slackNotifier(client: WebClient): Notifier {
  return {
    async post(channel, text, blocks, threadTs, broadcast) {
      const base = { channel, text, ...(blocks ? { blocks } : {}) };
      const res = await client.chat.postMessage(
        threadTs ? { ...base, thread_ts: threadTs, reply_broadcast: broadcast === true } : base,
      );
      return { channel: String(res.channel ?? channel), ts: String(res.ts) };
    },
    async update(ref, text, blocks) {
      await client.chat.update({ channel: ref.channel, ts: ref.ts, text, ...(blocks ? { blocks } : {}) });
    },
  };
}
