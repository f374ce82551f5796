// Cancelling a window, from `/maintenance cancel <id>` or the announcement's Cancel button: the one
// cancel path of this handler, and the place whatever other features tie to a window's fate is called.
import type { BotDeps, Outcome } from '../../bot/listeners.js';
import type { RequestContext } from '../../bot/middleware.js';
import {
  cancelWithNotice,
  MAINTENANCE_QUEUE,
  noticeJobId,
  reminderLeads,
} from '../../jobs/maintenance/index.js';
import { cancelRequestsOfWindow } from '../../jobs/migration/index.js';
import { describeWindow, existingWindow, maintenanceDeps } from './core.js';

/**
 * Cancels a window (command or button): the cancellation notice is queued first (its job cancels the
 * window if this process does not get to it), then the window; pending notices dropped.
 */
export async function cancel(id: string, req: RequestContext, deps: BotDeps): Promise<Outcome> {
  const w = await existingWindow(deps, id);
  const { found, cancelled } = await cancelWithNotice(
    maintenanceDeps(deps),
    id,
    { requestId: req.requestId, requester: req.userId },
    req.confirmBy,
  );
  if (!cancelled) {
    return {
      outcome: 'invalid',
      target: id,
      detail: `already ${found}`,
      reply: { text: `:information_source: \`${id}\` is already ${found}; nothing changed.` },
    };
  }
  // The window moved to cancelled by this request: whatever other features tie to a window's fate
  // (e.g. /migration cancelling the phase-3 requests linked to it) is called from here, and from no
  // other cancel path of this handler (the button comes here too).
  await cancelRequestsOfWindow(deps, id, req.userId).catch((err) =>
    req.log.warn(
      { err: String(err) },
      'migration requests of the window not cancelled here; their runs check the window',
    ),
  );
  // The pending notices would skip themselves (they check the state); dropping them keeps Redis tidy.
  const q = deps.queues.queue(MAINTENANCE_QUEUE);
  const pending = [
    ...reminderLeads(deps.config).map((lead) => noticeJobId(id, { notice: 'remind', lead })),
    noticeJobId(id, { notice: 'start' }),
    noticeJobId(id, { notice: 'end', end: w.end }),
  ];
  await Promise.all(pending.map((j) => q.remove(j).catch(() => 0)));
  return {
    outcome: 'succeeded',
    target: id,
    reply: {
      text: `:no_entry_sign: Cancelled ${describeWindow(w, deps.config.timezone)}. The cancellation is posted in its thread and mailed.`,
    },
  };
}
