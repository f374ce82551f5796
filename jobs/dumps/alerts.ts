// The Slack side of a dump alert: a raise posts the alert, edits it, or edits it and posts the normal
// alert in its thread; a pass resolves it. The store says which (its claims make exactly one worker
// talk to Slack); every edit re-renders the whole message from Redis.
import type { JobContext, WorkerDeps } from '../common.js';
import { whileRenewing } from '../common.js';
import { activeWindows } from '../maintenance/index.js';
import { alertCard, notifyReply, resolvedReply } from './alert-card.js';
import { type DumpJobConfig, dayOf } from './check.js';
import type { DumpsData } from './data.js';
import { queueCheckAt } from './schedule.js';
import {
  alertId,
  CLAIM_STALE_MS,
  clearOpenAlert,
  type DumpStore,
  type Finding,
  getAlert,
  markMentioned,
  markResolvePosted,
  type RaiseAction,
  raiseAlert,
  releasePost,
  renewClaim,
  resolveAlert,
  setAlertMessage,
  setOpenAlert,
} from './store.js';

/** The alert store of this deployment. */
export function dumpStore(deps: WorkerDeps): DumpStore {
  return { redis: deps.redis, prefix: deps.prefix };
}

/** Runs a Slack call for alert `id` while keeping its claim fresh: a long wait (429s) never makes it stale. */
function holding<T>(
  ctx: JobContext<DumpsData>,
  id: string,
  claim: 'post' | 'notify' | 'resolve',
  work: () => Promise<T>,
): Promise<T> {
  const { deps } = ctx;
  return whileRenewing(
    () => renewClaim(dumpStore(deps), id, claim, deps.clock.now()),
    CLAIM_STALE_MS / 3,
    work,
    ctx.log,
  );
}

/** The Slack side of a raise: post the alert, edit it, or edit it and post the normal alert in its thread. */
async function publish(ctx: JobContext<DumpsData>, id: string, action: RaiseAction): Promise<void> {
  const { deps } = ctx;
  const s = dumpStore(deps);
  const opts = { zone: deps.config.timezone, mention: deps.config.dumps?.mention };
  if (action === 'wait') return; // the worker posting it re-renders after its post
  if (action === 'post') {
    const channel = deps.config.channels.alerts;
    const a = await getAlert(s, id);
    if (!a) return;
    if (!channel) {
      await releasePost(s, id);
      ctx.log.error({ alertId: id }, 'dump alert not posted: channels.alerts is not configured');
      return;
    }
    const card = alertCard(a, opts);
    let ref: { channel: string; ts: string };
    try {
      // Looks first: a post claim taken over from a worker that died may have reached Slack.
      ref = await holding(ctx, id, 'post', () =>
        deps.notifier.postOnce(
          { channel, text: card.text, blocks: card.blocks },
          { key: `${id}/alert`, lookFirst: true },
        ),
      );
    } catch (err) {
      await releasePost(s, id);
      throw err;
    }
    if (!(await setAlertMessage(s, id, ref, a.state === 'open' && !a.windowId))) {
      ctx.log.warn({ alertId: id }, 'a second alert message was posted after a stale post claim');
    }
    await refresh(ctx, id, a.version);
    return;
  }
  await refresh(ctx, id);
  if (action === 'notify') {
    const a = await getAlert(s, id);
    if (!a?.ts || !a.channel) return;
    try {
      const { channel, ts } = a;
      await holding(ctx, id, 'notify', () =>
        deps.notifier.postOnce(
          { channel, text: notifyReply(a, opts), threadTs: ts, broadcast: true },
          { key: `${id}/notify`, lookFirst: true },
        ),
      );
    } catch (err) {
      await markMentioned(s, id, false);
      throw err;
    }
    await markMentioned(s, id, true);
  }
}

/** Re-renders the alert message from Redis until what Slack shows is the latest version (at most 3 edits). */
export async function refresh(ctx: JobContext<DumpsData>, id: string, shown?: number): Promise<void> {
  const { deps } = ctx;
  const opts = { zone: deps.config.timezone, mention: deps.config.dumps?.mention };
  let rendered = shown;
  for (let i = 0; i < 3; i++) {
    const a = await getAlert(dumpStore(deps), id);
    if (!a?.ts || !a.channel || a.version === rendered) return;
    const card = alertCard(a, opts);
    await deps.notifier.update({ channel: a.channel, ts: a.ts }, card.text, card.blocks);
    rendered = a.version;
  }
}

/** Records a failure of the job's day and tells Slack; during a maintenance window, re-checks at its end. */
export async function raise(
  ctx: JobContext<DumpsData>,
  cfg: DumpJobConfig,
  fireAt: number,
  finding: Finding,
  checkId: string,
): Promise<string> {
  const { deps } = ctx;
  const s = dumpStore(deps);
  const now = deps.clock.now();
  const day = dayOf(fireAt, deps.config.timezone);
  const id = alertId(cfg.name, day);
  const [w] = await activeWindows(s, now);
  const window = w && { id: w.id, title: w.title, end: w.end };
  const raised = await raiseAlert(s, { id, job: cfg.name, day, fireAt }, finding, window, now, checkId);
  await setOpenAlert(s, cfg.name, id);
  if (window) {
    await queueCheckAt(deps, `dwe-${id}-${window.id}-${window.end}`, {
      job: cfg.name,
      reason: 'window-end',
      fireAt,
      runAt: window.end,
    });
  }
  ctx.log.info(
    { alertId: id, change: raised.change, action: raised.action, window: window?.id },
    'dump alert raised',
  );
  await publish(ctx, id, raised.action);
  return id;
}

/** A passing check resolves the day's alert: the message edited, "resolved" in its thread (once). */
export async function resolve(
  ctx: JobContext<DumpsData>,
  cfg: DumpJobConfig,
  day: string,
  finding: Finding,
): Promise<boolean> {
  const { deps } = ctx;
  const s = dumpStore(deps);
  const id = alertId(cfg.name, day);
  const claim = await resolveAlert(s, id, finding, deps.clock.now());
  await clearOpenAlert(s, cfg.name, id);
  if (claim !== 'post') return false;
  const a = await getAlert(s, id);
  if (!a?.ts || !a.channel) return true; // never posted: nothing to edit
  try {
    const { channel, ts } = a;
    const ref = await holding(ctx, id, 'resolve', async () => {
      await refresh(ctx, id);
      return deps.notifier.postOnce(
        { channel, text: resolvedReply(a, deps.config.timezone), threadTs: ts },
        { key: `${id}/resolved`, lookFirst: true },
      );
    });
    await markResolvePosted(s, id, ref.ts);
  } catch (err) {
    await markResolvePosted(s, id, undefined);
    throw err;
  }
  return true;
}
