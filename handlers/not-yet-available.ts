import type { App } from '@slack/bolt';
import { type BotDeps, registerCommand } from '../bot/command.js';

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
    usage: '`/maintenance [schedule <start> <duration> <title…> | list | cancel <id>]`',
    line: '`/maintenance …`: schedule maintenance-window notices (not yet available)',
  },
  {
    command: '/dumps',
    action: 'dumps',
    usage: '`/dumps [status | check [job]]`',
    line: '`/dumps [status | check [job]]`: database dump health (not yet available)',
  },
];

/** Registers the commands of the manifest that this version does not implement yet: authorised, audited, and a clear answer. */
export function register(app: App, deps: BotDeps): void {
  for (const p of PLANNED) {
    registerCommand(app, deps, {
      command: p.command,
      usage: p.usage,
      help: [{ action: p.action, line: p.line }],
      parse: () => null,
      action: () => p.action,
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
