// Keeping Slack in step with a request: the approval card re-rendered from the stored state (and
// marked with the version it shows), and each failure posted once in the card's thread. Both are
// done right after the change and, when Slack was away then, again by the watchdog.
import { escapeSlack, quoteSlack } from '../../infra/slack-text.js';
import { getWindow } from '../maintenance/index.js';
import { approvalCardOf } from './cards.js';
import type { MigrationCore } from './deps.js';
import { cardShown, failurePosted, type MigrationRequest, readRequest } from './store.js';

/** Re-renders the approval card from the stored state; false when Slack did not take the edit. */
export async function refreshCard(core: MigrationCore, id: string): Promise<boolean> {
  const r = await readRequest(core.store, id);
  if (!r?.cardChannel || !r.cardTs) return true;
  const window = r.kind === 'phase3' ? await getWindow(core.store, r.windowId) : undefined;
  const card = approvalCardOf(core.config, core.clock.now(), r, window);
  try {
    await core.cards.update({ channel: r.cardChannel, ts: r.cardTs }, card.text, card.blocks);
  } catch (err) {
    core.log.warn({ id, err: String(err) }, 'could not edit the approval card (the watchdog tries again)');
    return false;
  }
  await cardShown(core.store, id, r.version);
  return true;
}

/** What a failed request says in its card's thread (from the record alone, so it can be re-posted). */
export function failureText(r: MigrationRequest): string {
  const why = quoteSlack(r.error ?? 'unknown error', 500);
  if (r.kind === 'cleanup') {
    return `:x: The deletion under \`s3://${escapeSlack(r.plan.bucket)}/${escapeSlack(r.plan.prefix)}\` (\`${r.id}\`) stopped: ${why}`;
  }
  const step = r.failedStep ?? 0;
  return `:x: Phase 3 (\`${r.id}\`) failed at step ${step + 1} (${r.plan.steps[step] ?? '?'}): ${why}. Retry or Roll back from the card.`;
}

/** Posts the request's latest failure in the card's thread, once; false when Slack did not take it. */
export async function postFailure(core: MigrationCore, id: string): Promise<boolean> {
  const r = await readRequest(core.store, id);
  if (r?.state !== 'failed' || r.failures <= r.failPosted) return true;
  const channel = r.cardChannel ?? core.config.channels.approvals;
  if (!channel || !core.cards.postOnce) return true;
  try {
    await core.cards.postOnce(
      { channel, text: failureText(r), threadTs: r.cardTs },
      { key: `${r.id}/failed-${r.failures}`, lookFirst: true },
    );
  } catch (err) {
    core.log.warn({ id, err: String(err) }, 'could not post the failure (the watchdog tries again)');
    return false;
  }
  await failurePosted(core.store, id, r.failures);
  return true;
}
