// /maintenance in Slack: the command, and the announcement's Edit details and Cancel window buttons
// and Edit modal. Handlers use jobs/maintenance's public face (its store's reads, the job-first
// operations), never its processor.
import type { App } from '@slack/bolt';
import { type BotDeps, registerAction, registerCommand, registerView } from '../../bot/listeners.js';
import { cancel } from './cancel.js';
import { maintenanceCommand } from './command.js';
import { openEdit, submitEdit } from './edit.js';
import { windowId } from './parse.js';

export { maintenanceCommand } from './command.js';
export { type MaintenanceArgs, parseMaintenanceArgs } from './parse.js';

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
    handle: (click, _req, d) => openEdit(click, d),
  });
  registerView(app, deps, {
    callbackId: 'mw_edit_submit',
    permission: () => 'maintenance',
    handle: submitEdit,
  });
}
