// /dumps in Slack: the command and the alert's Acknowledge and Re-check buttons. Handlers use
// jobs/dumps's public face (queue, store reads, check helpers), never its processor.
import type { App } from '@slack/bolt';
import { type BotDeps, registerCommand } from '../../bot/listeners.js';
import { registerAlertButtons } from './buttons.js';
import { dumpsCommand } from './command.js';

export { dumpsCommand } from './command.js';
export { type DumpsArgs, parseDumpsArgs } from './parse.js';

/** Registers /dumps and the alert's Acknowledge and Re-check buttons. */
export function register(app: App, deps: BotDeps): void {
  registerCommand(app, deps, dumpsCommand);
  registerAlertButtons(app, deps);
}
