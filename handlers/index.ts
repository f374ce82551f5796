import type { App } from '@slack/bolt';
import type { BotDeps } from '../bot/listeners.js';
import { registerUnknownActions } from '../bot/listeners.js';
import { register as registerChatops } from './chatops.js';
import { register as registerDdbExport } from './ddb-export.js';
import { register as registerMaintenance } from './maintenance.js';
import { register as registerPlanned } from './planned.js';
import { register as registerResetPassword } from './reset-password.js';

/** Every listener family the bot serves, in the order /chatops help lists them. One line each. */
export function registerHandlers(app: App, deps: BotDeps): void {
  registerResetPassword(app, deps);
  registerDdbExport(app, deps);
  registerMaintenance(app, deps);
  registerChatops(app, deps);
  // Last: the manifest's commands no file above registered, and buttons no listener knows.
  registerPlanned(app, deps);
  registerUnknownActions(app, deps);
}
