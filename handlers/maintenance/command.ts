import type { App, ViewOutput } from '@slack/bolt';
import type { View } from '@slack/types';
import {
  type BotDeps,
  type CommandSpec,
  type Outcome,
  registerAction,
  registerCommand,
  registerView,
} from '../../bot/listeners.js';
import type { RequestContext } from '../../bot/middleware.js';
import { UserError } from '../../infra/errors.js';
import { escapeSlack } from '../../infra/slack-text.js';
import {
  formatDuration,
  formatLocal,
  MAX_DURATION_MS,
  parseDuration,
  parseStart,
  startWordCount,
} from '../../infra/times.js';
import {
  cancelWithNotice,
  extendWithNotice,
  MAINTENANCE_QUEUE,
  type NoticeData,
  noticeJobId,
  reminderLeads,
  SCHEDULE_DEDUP_MS,
  scheduleDedupKey,
  scheduleWithNotice,
} from '../../jobs/maintenance/job.js';
import {
  editWindow,
  getWindow,
  type MaintenanceWindow,
  type NoticeKind,
  WINDOW_ID,
  type WindowStore,
  windowsEndingAfter,
} from '../../jobs/maintenance/store.js';
import { cancelRequestsOfWindow } from '../../jobs/migration/index.js';

const USAGE =
  '`/maintenance schedule <start> <duration> <title…> | list | cancel <id> | extend <id> <duration>`';
const START_HELP =
  'a start is `YYYY-MM-DD HH:MM` in the configured time zone, an ISO time with an offset, or `+15m`';

export type MaintenanceArgs =
  | { sub: 'schedule'; start: number; durationMs: number; title: string; text: string }
  | { sub: 'list' }
  | { sub: 'cancel'; id: string }
  | { sub: 'extend'; id: string; durationMs: number };

function windowId(word: string | undefined): string {
  if (!word)
    throw new UserError('usage', 'name the window id (e.g. `mw-7f3a`; `/maintenance list` shows them)');
  if (!WINDOW_ID.test(word))
    throw new UserError('usage', `"${escapeSlack(word.slice(0, 20))}" is not a window id like \`mw-7f3a\``);
  return word;
}

/**
 * Parses `/maintenance` arguments; times are checked against `now` in `zone` (a past start is refused,
 * and one more than `maxLeadDays` ahead).
 */
export function parseMaintenanceArgs(
  text: string,
  zone: string,
  now: number,
  maxLeadDays?: number,
): MaintenanceArgs {
  const [sub = 'list', ...rest] = text.split(/\s+/).filter(Boolean);
  if (sub === 'list' && rest.length === 0) return { sub: 'list' };
  if (sub === 'cancel' && rest.length <= 1) return { sub: 'cancel', id: windowId(rest[0]) };
  if (sub === 'extend') {
    if (rest.length !== 2)
      throw new UserError('usage', 'extend takes a window id and a duration, e.g. `extend mw-7f3a 30m`');
    return { sub: 'extend', id: windowId(rest[0]), durationMs: parseDuration(rest[1] as string) };
  }
  if (sub === 'schedule') {
    if (!rest.length)
      throw new UserError('usage', `schedule needs a start, a duration and a title; ${START_HELP}`);
    const n = Math.max(1, startWordCount(rest));
    const start = parseStart(rest.slice(0, n).join(' '), zone, now, {
      maxLeadDays,
      leadSetting: 'maintenance.maxLeadDays',
    });
    const duration = rest[n];
    if (!duration) throw new UserError('usage', 'schedule needs a duration after the start, e.g. `30m`');
    const durationMs = parseDuration(duration);
    const title = rest
      .slice(n + 1)
      .join(' ')
      .trim();
    if (!title)
      throw new UserError('usage', 'schedule needs a title after the duration, e.g. `EC2 cron host restart`');
    if (title.length > 150) throw new UserError('usage', 'the title is longer than 150 characters');
    return { sub: 'schedule', start, durationMs, title, text };
  }
  throw new UserError('usage', `unknown subcommand "${escapeSlack(sub.slice(0, 40))}"`);
}

function store(deps: BotDeps): WindowStore {
  return { redis: deps.redis, prefix: deps.env.CHATOPS_REDIS_PREFIX };
}

function notice(req: RequestContext, w: MaintenanceWindow, n: { notice: NoticeKind; due: number }) {
  const data: NoticeData = { requestId: req.requestId, requester: req.userId, windowId: w.id, ...n };
  return { data, jobId: noticeJobId(w.id, n) };
}

function describe(w: MaintenanceWindow, zone: string): string {
  return `\`${w.id}\` *${escapeSlack(w.title)}*: ${formatLocal(w.start, zone)} – ${formatLocal(w.end, zone)} (${formatDuration(w.end - w.start)})`;
}

/** The next notice a window will send, for `list`. */
function nextNotice(w: MaintenanceWindow, leads: number[], now: number, zone: string): string {
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

/**
 * Cancels a window (command or button): the cancellation notice is queued first (its job cancels the
 * window if this process does not get to it), then the window; pending notices dropped.
 */
async function cancel(id: string, req: RequestContext, deps: BotDeps): Promise<Outcome> {
  const s = store(deps);
  const w = await getWindow(s, id);
  if (!w)
    throw new UserError(
      'unknown_window',
      `there is no maintenance window \`${id}\` (see \`/maintenance list\`)`,
    );
  const { found, cancelled } = await cancelWithNotice(
    { ...deps, prefix: deps.env.CHATOPS_REDIS_PREFIX },
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
      text: `:no_entry_sign: Cancelled ${describe(w, deps.config.timezone)}. The cancellation is posted in its thread and mailed.`,
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
  async execute(a, req, deps) {
    const zone = deps.config.timezone;
    const s = store(deps);
    const now = deps.clock.now();
    if (a.sub === 'list') {
      const open = (await windowsEndingAfter(s, now)).filter(
        (w) => w.state === 'scheduled' || w.state === 'in-progress',
      );
      const leads = reminderLeads(deps.config);
      const lines = open.map((w) => `• ${describe(w, zone)}, ${w.state}; ${nextNotice(w, leads, now, zone)}`);
      return {
        outcome: 'succeeded',
        reply: {
          text: lines.length
            ? `*Upcoming and active maintenance windows*\n${lines.join('\n')}`
            : 'No upcoming or active maintenance windows.',
        },
      };
    }
    if (a.sub === 'cancel') return cancel(a.id, req, deps);
    if (a.sub === 'extend') {
      const w = await getWindow(s, a.id);
      if (!w)
        throw new UserError(
          'unknown_window',
          `there is no maintenance window \`${a.id}\` (see \`/maintenance list\`)`,
        );
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
        { ...deps, prefix: deps.env.CHATOPS_REDIS_PREFIX },
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
    const channel = deps.config.channels.maintenance;
    if (!channel)
      throw new UserError(
        'not_configured',
        "no maintenance channel is configured: add channels.maintenance to the bot's config",
      );
    const spec = {
      title: a.title,
      start: a.start,
      end: a.start + a.durationMs,
      createdBy: req.userId,
      createdAt: now,
      requestId: req.requestId,
      ...deps.config.maintenance.defaults,
    };
    const done = await scheduleWithNotice({ ...deps, prefix: deps.env.CHATOPS_REDIS_PREFIX }, spec, {
      dedupKey: scheduleDedupKey(req.userId, a.text),
      confirmBy: req.confirmBy,
    });
    if (done.status === 'duplicate') {
      const first = await getWindow(s, done.windowId);
      return {
        outcome: 'invalid',
        target: done.windowId,
        detail: 'duplicate',
        reply: {
          text: `:information_source: You just scheduled this: ${first ? describe(first, zone) : `\`${done.windowId}\``}. Nothing new was scheduled (the same command again within ${formatDuration(SCHEDULE_DEDUP_MS)} is taken as a repeat; change the title to schedule a second window).`,
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
        text: `:calendar: Scheduled ${describe(w, zone)}. The announcement goes to <#${channel}>; reminders, start and completion follow in its thread.`,
      },
    };
  },
};

/** The Edit modal, prefilled with the window's texts. */
export function editModal(w: MaintenanceWindow): View {
  const input = (
    id: keyof Pick<MaintenanceWindow, 'impact' | 'purpose' | 'rollback' | 'contact'>,
    label: string,
  ) => ({
    type: 'input' as const,
    block_id: id,
    label: { type: 'plain_text' as const, text: label },
    element: {
      type: 'plain_text_input' as const,
      action_id: 'value',
      initial_value: w[id],
      multiline: id !== 'contact',
      max_length: 1000,
    },
  });
  return {
    type: 'modal',
    callback_id: 'mw_edit_submit',
    private_metadata: w.id,
    title: { type: 'plain_text', text: 'Maintenance notice' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      input('impact', 'Impact'),
      input('purpose', 'Purpose'),
      input('rollback', 'Rollback plan'),
      input('contact', 'Contact'),
    ],
  };
}

function modalValue(view: ViewOutput, block: string): string {
  return (view.state.values[block]?.value?.value ?? '').trim();
}

/** Registers /maintenance, the announcement's Edit and Cancel buttons, and the Edit modal. */
export function register(app: App, deps: BotDeps): void {
  registerCommand(app, deps, maintenanceCommand);
  registerAction(app, deps, {
    actionId: 'mw_cancel',
    permission: () => 'maintenance',
    handle: (click, req, d) => cancel(windowId(click.value), req, d),
  });
  registerAction(app, deps, {
    actionId: 'mw_edit',
    permission: () => 'maintenance',
    async handle(click, _req, d) {
      const w = await getWindow(store(d), windowId(click.value));
      if (!w) throw new UserError('unknown_window', `the window \`${click.value}\` no longer exists`);
      if (w.state !== 'scheduled' && w.state !== 'in-progress') {
        return {
          outcome: 'invalid',
          target: w.id,
          detail: w.state,
          reply: { text: `\`${w.id}\` is ${w.state}; it can no longer be edited.` },
        };
      }
      await d.slack?.views.open({ trigger_id: click.triggerId, view: editModal(w) });
      return {
        outcome: 'succeeded',
        target: w.id,
        detail: 'edit opened',
        reply: { text: `Editing \`${w.id}\`…` },
      };
    },
  });
  registerView(app, deps, {
    callbackId: 'mw_edit_submit',
    permission: () => 'maintenance',
    async handle(view, req, d) {
      const id = windowId(view.private_metadata);
      const texts = {
        impact: modalValue(view, 'impact'),
        purpose: modalValue(view, 'purpose'),
        rollback: modalValue(view, 'rollback'),
        contact: modalValue(view, 'contact'),
      };
      const empty = Object.entries(texts).filter(([, v]) => !v);
      if (empty.length) {
        return {
          outcome: 'invalid',
          target: id,
          reply: { text: 'Every field needs text.' },
          errors: Object.fromEntries(empty.map(([k]) => [k, 'Cannot be empty'])),
        };
      }
      const found = await editWindow(store(d), id, texts);
      if (found !== 'scheduled' && found !== 'in-progress') {
        return {
          outcome: 'invalid',
          target: id,
          detail: found,
          reply: { text: `\`${id}\` is ${found}; nothing changed.` },
        };
      }
      const w = (await getWindow(store(d), id)) as MaintenanceWindow;
      const n = notice(req, w, { notice: 'edit', due: d.clock.now() });
      const jobId = `${n.jobId}-${w.version}`;
      await d.queues.enqueue(MAINTENANCE_QUEUE, jobId, n.data, { jobId, confirmBy: req.confirmBy });
      return {
        outcome: 'succeeded',
        target: id,
        reply: { text: `:pencil2: Updated the notice of \`${id}\`; the announcement is being edited.` },
      };
    },
  });
}
