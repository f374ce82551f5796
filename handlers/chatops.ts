import type { App } from '@slack/bolt';
import { type BotDeps, type CommandSpec, registerCommand, registeredCommands } from '../bot/listeners.js';
import type { AuditRecord } from '../infra/audit.js';
import { isAllowed } from '../infra/config.js';
import { UserError } from '../infra/errors.js';
import { escapeSlack, quoteSlack } from '../infra/slack-text.js';
import { formatLocal } from '../infra/times.js';
import type { JobSummary } from '../jobs/queues.js';

/** `actions`: everything but denials and invalid input; `refusals`: only those (kept in a stream of their own). */
export type AuditFilter = 'actions' | 'refusals';
export type ChatopsArgs =
  | { sub: 'help' }
  | { sub: 'jobs' }
  | { sub: 'audit'; count: number; only?: AuditFilter };

const USAGE = '`/chatops [help | jobs | audit [n] [actions | refusals]]`';

/** Parses `/chatops` arguments. */
export function parseChatopsArgs(text: string): ChatopsArgs {
  const [sub = 'help', ...args] = text.split(/\s+/).filter(Boolean);
  if (sub === 'help' && !args.length) return { sub: 'help' };
  if (sub === 'jobs' && !args.length) return { sub: 'jobs' };
  if (sub === 'audit') {
    let count = 20;
    let only: AuditFilter | undefined;
    if (args[0] !== undefined && /^[-+.\d]/.test(args[0])) {
      const n = Number(args.shift());
      if (!Number.isInteger(n) || n < 1 || n > 200)
        throw new UserError('usage', 'n must be a whole number from 1 to 200');
      count = n;
    }
    if (args[0] !== undefined) {
      const f = args.shift() as string;
      if (f !== 'actions' && f !== 'refusals') {
        throw new UserError('usage', `show \`actions\` or \`refusals\`, not "${quoteSlack(f, 40)}"`);
      }
      only = f;
    }
    if (args.length) throw new UserError('usage', 'too many arguments');
    return only ? { sub: 'audit', count, only } : { sub: 'audit', count };
  }
  if (sub !== 'help' && sub !== 'jobs')
    throw new UserError('usage', `unknown subcommand "${quoteSlack(sub, 40)}"`);
  throw new UserError('usage', 'too many arguments');
}

function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129_600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

const STATE_ICON: Record<string, string> = {
  completed: ':white_check_mark:',
  failed: ':x:',
  active: ':arrows_counterclockwise:',
  waiting: ':hourglass:',
  delayed: ':clock3:',
  prioritized: ':hourglass:',
};

/** One line per job: state, what, who, when. */
export function formatJobs(jobs: JobSummary[], now: number): string {
  if (!jobs.length) return 'No recent jobs.';
  return jobs
    .map(
      (j) =>
        `${STATE_ICON[j.state] ?? ':grey_question:'} \`${j.queue}\` ${escapeSlack(j.name)}: *${j.state}*` +
        `${j.attemptsMade > 1 ? ` after ${j.attemptsMade} attempts` : ''} (by <@${j.requester}>, ${ago(j.createdAt, now)}, job ${escapeSlack(j.id)})` +
        `${j.state === 'failed' && j.failedReason ? `\n      ${quoteSlack(j.failedReason, 200)}` : ''}`,
    )
    .join('\n');
}

/** An audit time (ISO, UTC) in the configured zone, to the second, with the zone's abbreviation: `2026-12-06 02:00:07 JST`. */
export function auditTime(at: string, zone: string): string {
  const ms = Date.parse(at);
  if (!Number.isFinite(ms)) return quoteSlack(at, 40);
  const seconds = String(Math.floor((((ms % 60_000) + 60_000) % 60_000) / 1000)).padStart(2, '0');
  return formatLocal(ms, zone).replace(/^(\d{4}-\d{2}-\d{2} \d{2}:\d{2})/, `$1:${seconds}`);
}

/** One line per audit record, newest first, times in `zone`. Targets and details may hold user text: escaped. */
export function formatAudit(rows: AuditRecord[], zone: string): string {
  if (!rows.length) return 'The audit trail is empty.';
  return rows
    .map(
      (r) =>
        `\`${auditTime(r.at, zone)}\` <@${r.user}> ${r.action}${r.target ? ` ${quoteSlack(r.target, 200)}` : ''}: *${r.outcome}*` +
        `${r.detail ? ` (${quoteSlack(r.detail, 200)})` : ''} _req ${r.requestId.slice(0, 8)}_`,
    )
    .join('\n');
}

/** Registers /chatops (help, jobs, audit). */
export function register(app: App, deps: BotDeps): void {
  const spec: CommandSpec<ChatopsArgs> = {
    command: '/chatops',
    usage: USAGE,
    help: [
      { action: 'chatops', line: '`/chatops help`: this list; `/chatops jobs`: recent jobs and their state' },
      {
        action: 'chatops.audit',
        line: '`/chatops audit [n] [actions | refusals]`: the last n audit entries (default 20); denials and invalid input are kept apart, so they never push actions out',
      },
    ],
    parse: (text) => parseChatopsArgs(text),
    permission: (a) => (a.sub === 'audit' ? 'chatops.audit' : 'chatops'),
    async execute(a, req, d) {
      if (a.sub === 'help') {
        const lines = registeredCommands(app).flatMap((c) =>
          c.help.filter((h) => isAllowed(d.config, req.userId, h.action)).map((h) => `• ${h.line}`),
        );
        return {
          outcome: 'succeeded',
          reply: { text: `*Commands you can run*\n${lines.join('\n') || 'none: ask an admin for a role'}` },
        };
      }
      if (a.sub === 'jobs') {
        const jobs = await d.queues.recent(15);
        return { outcome: 'succeeded', reply: { text: `*Recent jobs*\n${formatJobs(jobs, d.clock.now())}` } };
      }
      const rows = await d.audit.recent(a.count, a.only);
      const which = a.only === 'actions' ? ', actions only' : a.only === 'refusals' ? ', refusals only' : '';
      return {
        outcome: 'succeeded',
        detail: `read ${rows.length}${a.only ? ` ${a.only}` : ''}`,
        reply: {
          text: `*Audit trail* (newest first${which}, times in ${d.config.timezone})\n${formatAudit(rows, d.config.timezone)}`,
        },
      };
    },
  };
  registerCommand(app, deps, spec);
}
