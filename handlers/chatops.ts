import type { App } from '@slack/bolt';
import { type BotDeps, type CommandSpec, registerCommand, registeredCommands } from '../bot/listeners.js';
import type { AuditRecord } from '../infra/audit.js';
import { isAllowed } from '../infra/config.js';
import { UserError } from '../infra/errors.js';
import type { JobSummary } from '../jobs/queues.js';

export type ChatopsArgs = { sub: 'help' } | { sub: 'jobs' } | { sub: 'audit'; count: number };

const USAGE = '`/chatops [help | jobs | audit [n]]`';

/** Parses `/chatops` arguments. */
export function parseChatopsArgs(text: string): ChatopsArgs {
  const [sub = 'help', arg, ...rest] = text.split(/\s+/).filter(Boolean);
  if (rest.length) throw new UserError('usage', 'too many arguments');
  if (sub === 'help' && arg === undefined) return { sub: 'help' };
  if (sub === 'jobs' && arg === undefined) return { sub: 'jobs' };
  if (sub === 'audit') {
    if (arg === undefined) return { sub: 'audit', count: 20 };
    const n = Number(arg);
    if (!Number.isInteger(n) || n < 1 || n > 200)
      throw new UserError('usage', 'n must be a whole number from 1 to 200');
    return { sub: 'audit', count: n };
  }
  throw new UserError('usage', `unknown subcommand "${sub.slice(0, 40)}"`);
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
        `${STATE_ICON[j.state] ?? ':grey_question:'} \`${j.queue}\` ${j.name}: *${j.state}*` +
        `${j.attemptsMade > 1 ? ` after ${j.attemptsMade} attempts` : ''} (by <@${j.requester}>, ${ago(j.createdAt, now)}, job ${j.id})` +
        `${j.state === 'failed' && j.failedReason ? `\n      ${j.failedReason.slice(0, 200)}` : ''}`,
    )
    .join('\n');
}

/** One line per audit record, newest first. */
export function formatAudit(rows: AuditRecord[]): string {
  if (!rows.length) return 'The audit trail is empty.';
  return rows
    .map(
      (r) =>
        `\`${r.at}\` <@${r.user}> ${r.action}${r.target ? ` ${r.target}` : ''}: *${r.outcome}*${r.detail ? ` (${r.detail})` : ''} _req ${r.requestId.slice(0, 8)}_`,
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
      { action: 'chatops.audit', line: '`/chatops audit [n]`: the last n audit entries (default 20)' },
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
      const rows = await d.audit.recent(a.count);
      return {
        outcome: 'succeeded',
        detail: `read ${rows.length}`,
        reply: { text: `*Audit trail* (newest first)\n${formatAudit(rows)}` },
      };
    },
  };
  registerCommand(app, deps, spec);
}
