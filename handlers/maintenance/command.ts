// /maintenance itself: schedule, list, cancel, extend. Parse, authorise, enqueue, answer; the notices
// are jobs/maintenance's (each operation queues its job first, then writes the window).
import type { BotDeps, CommandSpec, Outcome } from '../../bot/listeners.js';
import type { RequestContext } from '../../bot/middleware.js';
import { UserError } from '../../infra/errors.js';
import { formatDuration, formatLocal, MAX_DURATION_MS } from '../../infra/times.js';
import {
  extendWithNotice,
  getWindow,
  MAINTENANCE_QUEUE,
  type MaintenanceWindow,
  noticeJobId,
  reminderLeads,
  SCHEDULE_DEDUP_MS,
  scheduleDedupKey,
  scheduleWithNotice,
  windowsEndingAfter,
} from '../../jobs/maintenance/index.js';
import { cancel } from './cancel.js';
import { describeWindow, existingWindow, maintenanceDeps, wstore } from './core.js';
import { type MaintenanceArgs, parseMaintenanceArgs, USAGE } from './parse.js';

/** The next notice a window will send, for `list`. */
export function nextNotice(w: MaintenanceWindow, leads: number[], now: number, zone: string): string {
  const times: [number, string][] = [
    ...leads
      .filter((l) => w.start - l > w.createdAt)
      .map((l): [number, string] => [w.start - l, `reminder (${formatDuration(l)} before)`]),
    [w.start, 'start'],
    [w.end, 'completion'],
  ];
  const next = times.filter(([t]) => t > now).sort((a, b) => a[0] - b[0])[0];
  return next ? `next: ${next[1]} at ${formatLocal(next[0], zone)}` : 'no notice left';
}

/** `list`: the windows scheduled or in progress, each with its next notice. */
async function list(deps: BotDeps): Promise<Outcome> {
  const zone = deps.config.timezone;
  const now = deps.clock.now();
  const open = (await windowsEndingAfter(wstore(deps), now)).filter(
    (w) => w.state === 'scheduled' || w.state === 'in-progress',
  );
  const leads = reminderLeads(deps.config);
  const lines = open.map(
    (w) => `• ${describeWindow(w, zone)}, ${w.state}; ${nextNotice(w, leads, now, zone)}`,
  );
  return {
    outcome: 'succeeded',
    reply: {
      text: lines.length
        ? `*Upcoming and active maintenance windows*\n${lines.join('\n')}`
        : 'No upcoming or active maintenance windows.',
    },
  };
}

/** `extend <id> <duration>`: moves the end (the extension notice queued first), and the end notice with it. */
async function extend(
  a: Extract<MaintenanceArgs, { sub: 'extend' }>,
  req: RequestContext,
  deps: BotDeps,
): Promise<Outcome> {
  const zone = deps.config.timezone;
  const now = deps.clock.now();
  const w = await existingWindow(deps, a.id);
  const end = w.end + a.durationMs;
  if (end - w.start > MAX_DURATION_MS)
    throw new UserError('bad_duration', 'a window cannot be longer than 30 days');
  if (end <= now)
    throw new UserError('bad_duration', `the new end ${formatLocal(end, zone)} is already past`);
  if (w.state !== 'scheduled' && w.state !== 'in-progress') {
    throw new UserError('window_closed', `\`${a.id}\` is ${w.state}: it cannot be extended`);
  }
  // The notice is queued first; its job makes the same move if this process does not get to it.
  const moved = await extendWithNotice(
    maintenanceDeps(deps),
    a.id,
    { from: w.end, to: end },
    { requestId: req.requestId, requester: req.userId },
    req.confirmBy,
  );
  if (moved === 'stale') {
    throw new UserError(
      'window_changed',
      `the end of \`${a.id}\` changed while this was being done: see \`/maintenance list\` and extend again`,
    );
  }
  if (moved !== 'applied' && moved !== 'already') {
    throw new UserError('window_closed', `\`${a.id}\` is ${moved}: it cannot be extended`);
  }
  await deps.queues
    .queue(MAINTENANCE_QUEUE)
    .remove(noticeJobId(a.id, { notice: 'end', end: w.end }))
    .catch(() => 0);
  return {
    outcome: 'succeeded',
    target: a.id,
    detail: `end ${new Date(end).toISOString()}`,
    reply: {
      text: `:hourglass: Extended \`${a.id}\`: it now ends ${formatLocal(end, zone)}. The completion notice moves with it.`,
    },
  };
}

/** `schedule <start> <duration> <title…>`: queues the announcement carrying the window, then stores it. */
async function schedule(
  a: Extract<MaintenanceArgs, { sub: 'schedule' }>,
  req: RequestContext,
  deps: BotDeps,
): Promise<Outcome> {
  const channel = deps.config.channels.maintenance;
  if (!channel)
    throw new UserError(
      'not_configured',
      "no maintenance channel is configured: add channels.maintenance to the bot's config",
    );
  const zone = deps.config.timezone;
  const spec = {
    title: a.title,
    start: a.start,
    end: a.start + a.durationMs,
    createdBy: req.userId,
    createdAt: deps.clock.now(),
    requestId: req.requestId,
    ...deps.config.maintenance.defaults,
  };
  const done = await scheduleWithNotice(maintenanceDeps(deps), spec, {
    dedupKey: scheduleDedupKey(req.userId, a.text),
    confirmBy: req.confirmBy,
  });
  if (done.status === 'duplicate') {
    const first = await getWindow(wstore(deps), done.windowId);
    return {
      outcome: 'invalid',
      target: done.windowId,
      detail: 'duplicate',
      reply: {
        text: `:information_source: You just scheduled this: ${first ? describeWindow(first, zone) : `\`${done.windowId}\``}. Nothing new was scheduled (the same command again within ${formatDuration(SCHEDULE_DEDUP_MS)} is taken as a repeat; change the title to schedule a second window).`,
      },
    };
  }
  const w: MaintenanceWindow = {
    ...spec,
    id: done.windowId,
    state: 'scheduled',
    sent: {},
    notices: [],
    version: 1,
  };
  return {
    outcome: 'queued',
    target: w.id,
    detail: `${new Date(w.start).toISOString()} +${formatDuration(a.durationMs)}`,
    reply: {
      text: `:calendar: Scheduled ${describeWindow(w, zone)}. The announcement goes to <#${channel}>; reminders, start and completion follow in its thread.`,
    },
  };
}

export const maintenanceCommand: CommandSpec<MaintenanceArgs> = {
  command: '/maintenance',
  usage: USAGE,
  help: [
    {
      action: 'maintenance',
      line: '`/maintenance schedule <start> <duration> <title…>`, `list`, `cancel <id>`, `extend <id> <duration>`: maintenance-window notices',
    },
  ],
  parse: (text, _req, deps) =>
    parseMaintenanceArgs(text, deps.config.timezone, deps.clock.now(), deps.config.maintenance.maxLeadDays),
  permission: () => 'maintenance',
  execute(a, req, deps) {
    if (a.sub === 'list') return list(deps);
    if (a.sub === 'cancel') return cancel(a.id, req, deps);
    if (a.sub === 'extend') return extend(a, req, deps);
    return schedule(a, req, deps);
  },
};
