import { randomUUID } from 'node:crypto';
import type { App, SlashCommand } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { AuditEntry, AuditLog, AuditOutcome } from '../infra/audit.js';
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

/**
 * A class, not an object literal with `get log()`: V8 (Node 20) gives every such literal its own
 * dictionary-mode hidden class, one per request, and those maps in old space kept each request's
 * garbage alive through young-generation GCs (longer scavenge pauses; found with --log-maps).
 */
class Request implements CommandRequest {
  readonly userId: string;
  readonly channelId: string;
  readonly text: string;
  // Private fields: the request can be spread or logged without dragging the logger along.
  readonly #command: string;
  readonly #base: Logger;
  #log: Logger | undefined;

  constructor(
    readonly requestId: string,
    cmd: Pick<SlashCommand, 'user_id' | 'channel_id' | 'text'>,
    command: string,
    base: Logger,
  ) {
    this.userId = cmd.user_id;
    this.channelId = cmd.channel_id;
    this.text = (cmd.text ?? '').trim();
    this.#command = command;
    this.#base = base;
  }

  /** Built on first use: most commands never log, and a pino child per request is costly. */
  get log(): Logger {
    this.#log ??= this.#base.child({ requestId: this.requestId, command: this.#command, user: this.userId });
    return this.#log;
  }
}

export interface CommandOutcome {
  reply: Reply;
  outcome: AuditOutcome;
  target?: string;
  detail?: string;
  /**
   * Redis writes the reply speaks of (the job entering the intake). The dispatcher acks first,
   * then watches this; if it fails the requester gets a follow-up saying nothing was started.
   */
  written?: Promise<unknown>;
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
const dispatchers = new WeakMap<App, Map<string, CommandSpec<unknown>>>();

/** Every command registered on `app`, in registration order (for help). */
export function registeredCommands(app: App): readonly CommandSpec<unknown>[] {
  return registries.get(app) ?? [];
}

/** Ephemeral reply text for a denial, which also names who can do it. */
export function denialText(config: Config, action: string): string {
  const roles = allowedRoles(config, action).join(', ');
  return `:no_entry: You are not allowed to do that (${action}${roles ? `; allowed roles: ${roles}` : ''}). Ask an admin to add you to the right role in the bot's config.`;
}

export interface CommandResult {
  reply: Reply;
  /** The one audit entry of this command; written by the caller so the ack need not wait for it. */
  audit: AuditEntry;
  /** See CommandOutcome.written. */
  written?: Promise<unknown>;
}

/**
 * Runs a command spec: request id, parse, authorise, execute; returns the ephemeral reply and the
 * command's one audit entry. Exported so tests can call it without HTTP.
 */
export async function runCommand<P>(
  spec: CommandSpec<P>,
  cmd: Pick<SlashCommand, 'user_id' | 'channel_id' | 'text'>,
  deps: BotDeps,
): Promise<CommandResult> {
  const requestId = randomUUID();
  const req = new Request(requestId, cmd, spec.command, deps.logger);
  const result = (
    reply: Reply,
    outcome: AuditOutcome,
    extra: { action?: string; target?: string; detail?: string } = {},
  ): CommandResult => ({
    reply,
    audit: {
      requestId,
      user: req.userId,
      action: extra.action ?? spec.command.slice(1),
      outcome,
      target: extra.target,
      detail: extra.detail,
    },
  });
  let parsed: P;
  try {
    parsed = spec.parse(req.text, req, deps);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return result({ text: `${err.message}\nUsage: ${spec.usage}` }, 'invalid', { detail: err.code });
  }
  const act = spec.action(parsed, req, deps);
  if (!isAllowed(deps.config, req.userId, act)) {
    req.log.warn({ action: act }, 'denied');
    return result({ text: denialText(deps.config, act) }, 'denied', { action: act });
  }
  try {
    const out = await spec.execute(parsed, req, deps);
    const res = result(out.reply, out.outcome, { action: act, target: out.target, detail: out.detail });
    if (out.written) {
      res.written = out.written;
      // The dispatcher handles its failure; this only keeps an unhandled rejection from crashing the process.
      out.written.catch(() => undefined);
    }
    return res;
  } catch (err) {
    if (err instanceof DeniedError)
      return result({ text: `:no_entry: ${err.message}` }, 'denied', { action: act });
    if (err instanceof ChatopsError) {
      return result({ text: `:warning: ${err.message}` }, 'invalid', { action: act, detail: err.code });
    }
    req.log.error({ err: err instanceof Error ? err.message : String(err) }, 'command failed');
    return result({ text: `:warning: ${userMessage(err)} (request ${requestId})` }, 'failed', {
      action: act,
      detail: err instanceof Error ? err.name : 'unknown',
    });
  }
}

/** After the ack: the command's job could not be written, so say so, log it and audit it. */
async function notQueued(
  deps: BotDeps,
  audit: AuditEntry,
  respond: (msg: { response_type: 'ephemeral'; text: string }) => Promise<unknown>,
  err: unknown,
): Promise<void> {
  const why = err instanceof Error ? err.message : String(err);
  deps.logger.error({ requestId: audit.requestId, action: audit.action, err: why }, 'command not queued');
  await Promise.allSettled([
    deps.audit.record({ ...audit, outcome: 'failed', detail: `not queued: ${why}`.slice(0, 300) }),
    respond({
      response_type: 'ephemeral',
      text:
        `:warning: Sorry, I could not queue that (${why}), so it has most likely not started. ` +
        `Check \`/chatops jobs\` before you try again. (request ${audit.requestId})`,
    }),
  ]);
}

/**
 * Registers a command. One Bolt listener serves every command (Bolt runs each listener's
 * middleware on every request, so one per command costs throughput). The reply goes out in the
 * ack as soon as the command's Redis writes (its intake entry and its audit entry) are issued;
 * their outcome is handled after the ack, outside the listener, and if they fail the requester gets
 * a follow-up saying that nothing was started. Waiting for Redis before acking would add a round
 * trip to every ack.
 */
export function registerCommand<P>(app: App, deps: BotDeps, spec: CommandSpec<P>): void {
  let specs = registries.get(app);
  if (!specs) {
    const table = new Map<string, CommandSpec<unknown>>();
    specs = [];
    registries.set(app, specs);
    dispatchers.set(app, table);
    app.command(/^\/[\w-]+$/, async ({ command, ack, respond }) => {
      const found = table.get(command.command);
      if (!found) {
        await ack({
          response_type: 'ephemeral',
          text: `Unknown command ${command.command}: try /chatops help`,
        });
        return;
      }
      const { reply, audit, written } = await runCommand(found, command, deps);
      // Neither Redis write is awaited here: Bolt keeps the whole request (body, context, HTTP
      // objects) alive until the listener returns, and waiting for Redis made every request outlive
      // its ack. Each failure is handled on its own, at once.
      void deps.audit
        .record(audit)
        .catch((err) =>
          deps.logger.error({ requestId: audit.requestId, err: String(err) }, 'audit write failed'),
        );
      await ack({ response_type: 'ephemeral', ...reply });
      if (written) void written.catch((err) => notQueued(deps, audit, respond, err));
    });
  }
  specs.push(spec as CommandSpec<unknown>);
  dispatchers.get(app)?.set(spec.command, spec as CommandSpec<unknown>);
}
