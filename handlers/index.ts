import type { App } from '@slack/bolt';
import type { BotDeps } from '../bot/listeners.js';
import { registerUnknownActions } from '../bot/listeners.js';
import { register as registerChatops } from './chatops.js';
import { register as registerDdbExport } from './ddb-export.js';
import { register as registerDumps } from './dumps/index.js';
import { register as registerMaintenance } from './maintenance/index.js';
import { register as registerMigration } from './migration/index.js';
import { register as registerResetPassword } from './reset-password.js';

/** Every listener family the bot serves, in the order /chatops help lists them. One line each. */
export function registerHandlers(app: App, deps: BotDeps): void {
  registerResetPassword(app, deps);
  registerDdbExport(app, deps);
  registerMaintenance(app, deps);
  registerDumps(app, deps);
  registerMigration(app, deps);
  registerChatops(app, deps);
  // Last: an answer for buttons no listener knows (e.g. from an older release's messages).
  registerUnknownActions(app, deps);
}
