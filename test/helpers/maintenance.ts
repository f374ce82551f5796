// What the /maintenance integration files share: the stack's options for short real windows, the
// command, and reading the channel and the thread as the fake Slack recorded them.
import type { FakeSlackMessage } from '../../devkit/index.js';
import type { Stack, StackOptions } from './stack.js';

export const CHANNEL = 'C0MAINT';

export function maintOptions(
  extra: Record<string, unknown> = {},
  topology?: { bots: number; workers: number },
): StackOptions {
  return {
    extraConfig: {
      maintenance: { emailTo: ['stakeholders@example.com'], remindBefore: ['10s'] },
      ...extra,
    },
    ...(topology ? { topology } : {}),
  };
}

export async function schedule(s: Stack, args: string): Promise<string> {
  const res = await s.command('U0OPS', '/maintenance', `schedule ${args}`);
  const id = /`(mw-[0-9a-f]+)`/.exec(res.text)?.[1];
  if (!id) throw new Error(`not scheduled: ${res.text}`);
  return id;
}

export function announcement(s: Stack, id: string): FakeSlackMessage | undefined {
  return s.slack.messages(CHANNEL).find((m) => !m.thread_ts && JSON.stringify(m.blocks ?? '').includes(id));
}

export function replies(s: Stack, ts: string): FakeSlackMessage[] {
  return s.slack.messages(CHANNEL).filter((m) => m.thread_ts === ts);
}

/** When the fake Slack accepted the post whose text matches. */
export function postedAt(s: Stack, re: RegExp): number[] {
  return s.slack
    .callsTo('chat.postMessage')
    .filter((c) => re.test(String(c.args.text)) && !/ratelimited/.test(JSON.stringify(c)))
    .map((c) => c.at);
}
