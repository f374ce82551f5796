import type { App } from '@slack/bolt';
import type { BotDeps } from '../bot/command.js';
import { register as registerChatops } from './chatops.js';
import { register as registerDdbExport } from './ddb-export.js';
import { register as registerNotYet } from './not-yet-available.js';
import { register as registerResetPassword } from './reset-password.js';

/** Every command the bot serves, in the order /chatops help lists them. */
export function registerHandlers(app: App, deps: BotDeps): void {
  registerResetPassword(app, deps);
  registerDdbExport(app, deps);
  registerChatops(app, deps);
  registerNotYet(app, deps);
}
