// /migration in Slack: the command, the approval card's buttons and reject modal, the status card's
// Refresh. Handlers use jobs/migration's public face (plans, store, cards), never its processor.
import type { App } from '@slack/bolt';
import { type BotDeps, registerCommand } from '../../bot/listeners.js';
import { registerApprovals } from './approval.js';
import { migrationCommand } from './command.js';

export { migrationCommand } from './command.js';
export { type MigrationArgs, parseMigrationArgs } from './parse.js';

/** Registers /migration, the approval card's buttons, the reject modal and the status card's refresh. */
export function register(app: App, deps: BotDeps): void {
  registerCommand(app, deps, migrationCommand);
  registerApprovals(app, deps);
}
