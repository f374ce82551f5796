import { randomUUID } from 'node:crypto';
import type { App, SlashCommand } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { AuditLog, AuditOutcome } from '../infra/audit.js';
import { allowedRoles, type Config, isAllowed } from '../infra/config.js';
import type { Env } from '../infra/env.js';
import { ChatopsError, DeniedError, UserError, userMessage } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import type { Redis } from '../infra/redis.js';
import type { Queues } from '../jobs/queues.js';

/** What the bot process has; handlers get this and nothing else. */
export interface BotDeps {
  config: Config;
  env: Env;
  logger: Logger;
  audit: AuditLog;
  queues: Queues;
  redis: Redis;
}

export interface CommandRequest {
  requestId: string;
  userId: string;
  channelId: string;
  text: string;
  log: Logger;
}

export type Reply = { text: string; blocks?: KnownBlock[] };

export interface CommandOutcome {
  reply: Reply;
  outcome: AuditOutcome;
  target?: string;
  detail?: string;
}

/** One slash command: parse the text, name the action to authorise, then do it (enqueue, answer). */
export interface CommandSpec<P> {
  command: string;
  usage: string;
  /** Lines for /chatops help, each with the action that must be allowed for the caller to see it. */
  help: { action: string; line: string }[];
  /** Syntax only: throws UserError on bad arguments. Must not look anything up that reveals data. */
  parse(text: string, req: CommandRequest, deps: BotDeps): P;
  action(parsed: P, req: CommandRequest, deps: BotDeps): string;
  execute(parsed: P, req: CommandRequest, deps: BotDeps): Promise<CommandOutcome>;
}

const registries = new WeakMap<App, CommandSpec<unknown>[]>();

/** Every command registered on `app`, in registration order (for help). */
export function registeredCommands(app: App): readonly CommandSpec<unknown>[] {
  return registries.get(app) ?? [];
}

/** Ephemeral reply text for a denial, which also names who can do it. */
export function denialText(config: Config, action: string): string {
  const roles = allowedRoles(config, action).join(', ');
  return `:no_entry: You are not allowed to do that (${action}${roles ? `; allowed roles: ${roles}` : ''}). Ask an admin to add you to the right role in the bot's config.`;
}

/**
 * Runs a command spec: request id, parse, authorise, execute, one audit entry, one ephemeral ack.
 * Exported so tests can call it without HTTP.
 */
export async function runCommand<P>(
  spec: CommandSpec<P>,
  cmd: Pick<SlashCommand, 'user_id' | 'channel_id' | 'text'>,
  deps: BotDeps,
): Promise<Reply> {
  const requestId = randomUUID();
  const req: CommandRequest = {
    requestId,
    userId: cmd.user_id,
    channelId: cmd.channel_id,
    text: (cmd.text ?? '').trim(),
    log: deps.logger.child({ requestId, command: spec.command, user: cmd.user_id }),
  };
  const action = spec.command.slice(1);
  const audit = (outcome: AuditOutcome, extra: { action?: string; target?: string; detail?: string } = {}) =>
    deps.audit
      .record({
        requestId,
        user: req.userId,
        action: extra.action ?? action,
        outcome,
        target: extra.target,
        detail: extra.detail,
      })
      .catch((err) => req.log.error({ err: String(err) }, 'audit write failed'));
  let parsed: P;
  try {
    parsed = spec.parse(req.text, req, deps);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    await audit('invalid', { detail: err.code });
    return { text: `${err.message}\nUsage: ${spec.usage}` };
  }
  const act = spec.action(parsed, req, deps);
  if (!isAllowed(deps.config, req.userId, act)) {
    req.log.warn({ action: act }, 'denied');
    await audit('denied', { action: act });
    return { text: denialText(deps.config, act) };
  }
  try {
    const out = await spec.execute(parsed, req, deps);
    await audit(out.outcome, { action: act, target: out.target, detail: out.detail });
    return out.reply;
  } catch (err) {
    if (err instanceof DeniedError) {
      await audit('denied', { action: act });
      return { text: `:no_entry: ${err.message}` };
    }
    if (err instanceof ChatopsError) {
      await audit('invalid', { action: act, detail: err.code });
      return { text: `:warning: ${err.message}` };
    }
    req.log.error({ err: err instanceof Error ? err.message : String(err) }, 'command failed');
    await audit('failed', { action: act, detail: err instanceof Error ? err.name : 'unknown' });
    return { text: `:warning: ${userMessage(err)} (request ${requestId})` };
  }
}

/** Registers a command with Bolt; the reply goes out in the ack, so "queued" is only said once it is true. */
export function registerCommand<P>(app: App, deps: BotDeps, spec: CommandSpec<P>): void {
  const list = registries.get(app) ?? [];
  list.push(spec as CommandSpec<unknown>);
  registries.set(app, list);
  app.command(spec.command, async ({ command, ack }) => {
    const reply = await runCommand(spec, command, deps);
    await ack({ response_type: 'ephemeral', ...reply });
  });
}
