// The /migration fault scenarios' stack: the shared world (test/helpers/migration-world.ts) with one
// bot in this process and no worker, and a request approved by both approvers.
import { createSlackClient } from '../../devkit/index.js';
import { APPROVALS, card as approvalCard, migrationStack as worldStack } from '../helpers/migration-world.js';
import { SIGNING_SECRET, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

export { cardText, instance } from '../helpers/migration-world.js';

/** A stack (one bot in this process, no worker) with the migration world seeded. */
export function migrationStack(opts: { lockMs?: number; migration?: Record<string, unknown> } = {}) {
  return worldStack(
    { migration: opts.migration ?? {} },
    { topology: { bots: 1, workers: 0 }, ...(opts.lockMs ? { jobs: { lockMs: opts.lockMs } } : {}) },
  );
}

export function instanceIdOf(s: Stack): string {
  return (s.config.migration as { instanceId: string }).instanceId;
}

/** Requests phase 3 in `args` (e.g. `+2s 60s`) and has U0DAVE and U0ERIN approve it. */
export async function requestAndApprove(s: Stack, args: string): Promise<void> {
  const ack = await s.command('U0OPS', '/migration', `phase3 request ${args}`);
  if (!/Queued: checking the phase-3 prerequisites/.test(ack.text))
    throw new Error(`not queued: ${ack.text}`);
  const card = await until('the approval card', () => approvalCard(s), 30_000);
  const id = /`(p3-[0-9a-z]+)`/.exec(JSON.stringify(card.blocks))?.[1] as string;
  const client = createSlackClient({
    url: `http://127.0.0.1:${s.instances[0]?.port}/slack/events`,
    signingSecret: SIGNING_SECRET,
  });
  for (const user of ['U0DAVE', 'U0ERIN']) {
    const before = s.slack.callsTo('response_url').length;
    await client.click({
      userId: user,
      actionId: 'mig_approve',
      value: id,
      channelId: APPROVALS,
      messageTs: card.ts,
      responseUrl: s.slack.responseUrl(APPROVALS, user, card.ts),
    });
    await until('the answer to the approval', () => s.slack.callsTo('response_url')[before]);
  }
}
