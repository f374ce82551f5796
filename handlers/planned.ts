import type { App } from '@slack/bolt';
import { type BotDeps, registerCommand, registeredCommands } from '../bot/listeners.js';

/** Commands of the Slack app manifest that later releases implement. */
const PLANNED: { command: string; action: string; usage: string; line: string }[] = [
  {
    command: '/migration',
    action: 'migration',
    usage: '`/migration [status | check N | phase3 request <start> | rollback N | cutover <cron>]`',
    line: '`/migration …`: drive the EC2 cron-host migration runbook (not yet available)',
  },
  {
    command: '/maintenance',
    action: 'maintenance',
    usage:
      '`/maintenance [schedule <start> <duration> <title…> | list | cancel <id> | extend <id> <duration>]`',
    line: '`/maintenance …`: schedule maintenance-window notices (not yet available)',
  },
  {
    command: '/dumps',
    action: 'dumps',
    usage: '`/dumps [status | check [job]]`',
    line: '`/dumps [status | check [job]]`: database dump health (not yet available)',
  },
];

/**
 * Answers the manifest's commands that no handler registered: authorised, audited, and a clear
 * "not yet available". Registered after every real handler, and only for commands none of them took.
 */
export function register(app: App, deps: BotDeps): void {
  const taken = new Set(registeredCommands(app).map((c) => c.command));
  for (const p of PLANNED.filter((x) => !taken.has(x.command))) {
    registerCommand(app, deps, {
      command: p.command,
      usage: p.usage,
      help: [{ action: p.action, line: p.line }],
      parse: () => null,
      permission: () => p.action,
      async execute() {
        return {
          outcome: 'invalid',
          detail: 'not yet available',
          reply: {
            text: `:construction: \`${p.command}\` is not yet available in this version of the bot. Usage when it is: ${p.usage}`,
          },
        };
      },
    });
  }
}
