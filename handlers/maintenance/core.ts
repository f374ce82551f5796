// What /maintenance's handlers share: the bot's deps as jobs/maintenance's store and operations take
// them, a window found by id, and a window's one-line description in replies.
import type { BotDeps } from '../../bot/listeners.js';
import { UserError } from '../../infra/errors.js';
import { escapeSlack } from '../../infra/slack-text.js';
import { formatDuration, formatLocal } from '../../infra/times.js';
import {
  getWindow,
  type MaintenanceDeps,
  type MaintenanceWindow,
  type WindowStore,
} from '../../jobs/maintenance/index.js';

export function wstore(deps: BotDeps): WindowStore {
  return { redis: deps.redis, prefix: deps.env.CHATOPS_REDIS_PREFIX };
}

/** The bot's deps as the job-first operations (schedule, extend, cancel) take them. */
export function maintenanceDeps(deps: BotDeps): MaintenanceDeps {
  return { ...deps, prefix: deps.env.CHATOPS_REDIS_PREFIX };
}

/** The window `id`, or a UserError that points at `/maintenance list`. */
export async function existingWindow(deps: BotDeps, id: string): Promise<MaintenanceWindow> {
  const w = await getWindow(wstore(deps), id);
  if (!w)
    throw new UserError(
      'unknown_window',
      `there is no maintenance window \`${id}\` (see \`/maintenance list\`)`,
    );
  return w;
}

/** `mw-7f3a` *Title*: its start – its end (its length), in `zone`. */
export function describeWindow(w: MaintenanceWindow, zone: string): string {
  return `\`${w.id}\` *${escapeSlack(w.title)}*: ${formatLocal(w.start, zone)} – ${formatLocal(w.end, zone)} (${formatDuration(w.end - w.start)})`;
}
