// Commands, button clicks and modal submissions all go through Bolt's own listeners (app.command,
// app.action, app.view) and one shared path: the request context from the request gate,
// authorisation against the config at the moment of the request, the work within the request's
// budget, one audit entry, then the answer.
import type { App, BlockAction, ButtonAction, RespondFn, SlackViewAction, ViewOutput } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { AuditEntry, AuditLog, AuditOutcome } from '../infra/audit.js';
import type { Clock } from '../infra/clock.js';
import { allowedRoles, type Config, isAllowed } from '../infra/config.js';
import type { Env } from '../infra/env.js';
import { ChatopsError, DeniedError, UserError, userMessage } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { Redis } from '../infra/redis.js';
import { commandText, escapeSlack } from '../infra/slack-text.js';
import { NotConfirmedError, type Queues } from '../jobs/queues.js';
import type { RequestContext } from './middleware.js';

/** What the bot process has; handlers get this and nothing else. */
export interface BotDeps {
  config: Config;
  env: Env;
  logger: Logger;
  audit: AuditLog;
  queues: Queues;
  redis: Redis;
  clock: Clock;
  /** The Slack Web API client (Bolt's), for opening modals and editing messages from a click. */
  slack?: WebClient;
  /** This process's Prometheus metrics (commands, clicks, submissions and their ack latency). */
  metrics?: Metrics;
  /** A command or click changed something the App Home tab shows: asks for its debounced refresh. */
  homeChanged?: () => void;
  /** Publishes the App Home tab of these people now (after a click on their Home). */
  publishHome?: (users: string[]) => Promise<void>;
}

export type Reply = { text: string; blocks?: KnownBlock[] };

/** What a listener did: the answer for the user and the audit entry's outcome. */
export interface Outcome {
  reply: Reply;
  outcome: AuditOutcome;
  target?: string;
  detail?: string;
}

/** One slash command: parse the text, name the permission, then do it (enqueue, answer). */
export interface CommandSpec<P> {
  command: string;
  usage: string;
  /** Lines for /chatops help, each with the permission the caller needs to see it. */
  help: { action: string; line: string }[];
  /** Syntax only: throws UserError on bad arguments. Must not look anything up that reveals data. */
  parse(text: string, req: RequestContext, deps: BotDeps): P;
  permission(parsed: P, req: RequestContext, deps: BotDeps): string;
  execute(
    parsed: P,
    req: RequestContext,
    deps: BotDeps,
    extra: { channelId: string; triggerId: string },
  ): Promise<Outcome>;
}

/** A button click. The value carries ids only; the state is looked up in Redis. */
export interface Click {
  actionId: string;
  value: string;
  /** Absent for a click on the App Home tab (no channel, no message, no response URL). */
  channelId?: string;
  messageTs?: string;
  triggerId: string;
  /** Where the button was: a message, or the App Home tab. */
  from: 'message' | 'home';
}

/** A family of buttons (`actionId` a string or a pattern). */
export interface ActionSpec {
  actionId: string | RegExp;
  /** The audit action name and the permission checked at the moment of the click. */
  permission(click: Click, req: RequestContext, deps: BotDeps): string;
  handle(click: Click, req: RequestContext, deps: BotDeps): Promise<Outcome>;
}

/** A modal submission; `errors` (block id -> message) keeps the modal open and shows them. */
export interface ViewSpec {
  callbackId: string;
  permission(view: ViewOutput, req: RequestContext, deps: BotDeps): string;
  handle(
    view: ViewOutput,
    req: RequestContext,
    deps: BotDeps,
  ): Promise<Outcome & { errors?: Record<string, string> }>;
}

const commandRegistry = new WeakMap<App, CommandSpec<unknown>[]>();
const actionRegistry = new WeakMap<App, (string | RegExp)[]>();

/** Every command registered on `app`, in registration order (for help). */
export function registeredCommands(app: App): readonly CommandSpec<unknown>[] {
  return commandRegistry.get(app) ?? [];
}

/** Ephemeral reply text for a denial, which also names who can do it. */
export function denialText(config: Config, action: string): string {
  const roles = allowedRoles(config, action).join(', ');
  return `:no_entry: You are not allowed to do that (${action}${roles ? `; allowed roles: ${roles}` : ''}). Ask an admin to add you to the right role in the bot's config.`;
}

const REDIS_DOWN =
  ":warning: The bot's Redis is not answering, so nothing was queued or changed and nothing will run from this request. Try again in a minute.";

/** The work did not finish within the request's budget: it may or may not have happened. */
class BudgetSpentError extends Error {}

/**
 * Waits for `work` until the request's deadline (`req.confirmBy`), so the ack is never later than
 * the budget, whatever Redis does; a result that comes later is only logged.
 */
function withinBudget<T>(work: Promise<T>, req: RequestContext, clock: Clock): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const spent = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BudgetSpentError('the work did not finish within the ack budget')),
      Math.max(0, req.confirmBy - clock.now()),
    );
  });
  return Promise.race([work, spent]).then(
    (v) => {
      clearTimeout(timer);
      return v;
    },
    (err: unknown) => {
      clearTimeout(timer);
      if (err instanceof BudgetSpentError) {
        work.then(
          () => req.log.warn('the work finished after the ack had said it may still happen'),
          (e: unknown) => req.log.warn({ err: String(e) }, 'the work failed after the ack'),
        );
      }
      throw err;
    },
  );
}

/** Writes the audit entry without holding the ack for its own round trip (its log line is written at once). */
function audit(deps: BotDeps, req: RequestContext, entry: Omit<AuditEntry, 'requestId' | 'user'>): void {
  deps.audit
    .record({ requestId: req.requestId, user: req.userId, ...entry })
    .catch((err) =>
      req.log.error({ err: String(err), action: entry.action, outcome: entry.outcome }, 'audit write failed'),
    );
}

/**
 * The shared path of every listener: authorise `permission` for the user now, run `work` within the
 * request's budget, write one audit entry, return the answer. The entry is sent to Redis before the
 * answer, on the connection that just confirmed the work, and not awaited on its own: the ack does
 * not wait a second round trip for it (the entry is also in the log the moment it is written).
 */
export async function guarded(
  deps: BotDeps,
  req: RequestContext,
  permission: string,
  work: () => Promise<Outcome>,
): Promise<Outcome> {
  let out: Outcome;
  if (req.redisDown) {
    out = {
      reply: { text: `${REDIS_DOWN} (request ${req.requestId})` },
      outcome: 'not-queued',
      detail: 'redis down',
    };
  } else if (!isAllowed(deps.config, req.userId, permission)) {
    req.log.warn({ action: permission }, 'denied');
    out = { reply: { text: denialText(deps.config, permission) }, outcome: 'denied' };
  } else {
    try {
      out = await withinBudget(work(), req, deps.clock);
    } catch (err) {
      out = failureOutcome(err, req);
    }
  }
  audit(deps, req, {
    action: permission,
    outcome: out.outcome,
    target: out.target,
    detail: out.detail,
  });
  return out;
}

function failureOutcome(err: unknown, req: RequestContext): Outcome {
  if (err instanceof NotConfirmedError || err instanceof BudgetSpentError) {
    req.log.error({ err: err.message }, 'Redis did not confirm the work in time');
    return {
      outcome: 'unconfirmed',
      detail: 'not confirmed in time',
      reply: {
        text:
          ':warning: Redis did not confirm this in time, so it *may still run* (or may not have been queued at all). ' +
          'Check `/chatops jobs` or your DMs before you try again; the same command again while the first one is queued or running is answered as a duplicate. ' +
          `(request ${req.requestId})`,
      },
    };
  }
  if (err instanceof DeniedError) return { reply: { text: `:no_entry: ${err.message}` }, outcome: 'denied' };
  if (err instanceof ChatopsError) {
    return { reply: { text: `:warning: ${err.message}` }, outcome: 'invalid', detail: err.code };
  }
  req.log.error({ err: err instanceof Error ? err.message : String(err) }, 'listener failed');
  return {
    reply: { text: `:warning: ${userMessage(err)} (request ${req.requestId})` },
    outcome: 'failed',
    detail: err instanceof Error ? err.name : 'unknown',
  };
}

/** Runs a command spec without HTTP (tests): parse, authorise, execute, audit. */
export async function runCommand<P>(
  spec: CommandSpec<P>,
  cmd: { text: string; channelId: string; triggerId: string },
  req: RequestContext,
  deps: BotDeps,
): Promise<Outcome> {
  const text = cmd.text.trim();
  let parsed: P;
  try {
    parsed = spec.parse(text, req, deps);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    audit(deps, req, { action: spec.command.slice(1), outcome: 'invalid', detail: err.code });
    return { reply: { text: `${err.message}\nUsage: ${spec.usage}` }, outcome: 'invalid', detail: err.code };
  }
  return guarded(deps, req, spec.permission(parsed, req, deps), () =>
    spec.execute(parsed, req, deps, { channelId: cmd.channelId, triggerId: cmd.triggerId }),
  );
}

/** Registers a slash command with Bolt (`app.command`). A command can be registered once. */
export function registerCommand<P>(app: App, deps: BotDeps, spec: CommandSpec<P>): void {
  let specs = commandRegistry.get(app);
  if (!specs) {
    specs = [];
    commandRegistry.set(app, specs);
  }
  if (specs.some((s) => s.command === spec.command)) throw new Error(`${spec.command} is registered twice`);
  specs.push(spec as CommandSpec<unknown>);
  app.command(spec.command, async ({ command, ack, context }) => {
    const req = context.req as RequestContext;
    const out = await runCommand(
      spec,
      { text: commandText(command.text ?? ''), channelId: command.channel_id, triggerId: command.trigger_id },
      req,
      deps,
    );
    await ack({ response_type: 'ephemeral', ...out.reply });
    deps.metrics?.commandDone(spec.command, out.outcome, sinceArrival(req, deps.clock));
    if (changedSomething(out)) deps.homeChanged?.();
  });
}

/** Seconds from the request's arrival to now (its ack, when called right after it). */
function sinceArrival(req: RequestContext, clock: Clock): number {
  return Math.max(0, clock.now() - req.arrivedAt) / 1000;
}

/** Whether an outcome may have changed what the App Home tab shows (a job queued, a state changed). */
function changedSomething(out: Outcome): boolean {
  return out.outcome === 'queued' || out.outcome === 'succeeded' || out.outcome === 'unconfirmed';
}

/**
 * Answers the clicker only, leaving the message with the button as it is: ephemeral through the
 * click's response URL; a click on the App Home tab has none, so the answer goes to the clicker's DM
 * with the app, and their Home tab is published again at once.
 */
async function answerClicker(
  deps: BotDeps,
  click: { respond?: RespondFn; from: 'message' | 'home'; userId: string },
  reply: Reply,
  log: Logger,
): Promise<void> {
  if (click.respond) {
    await click
      .respond({ response_type: 'ephemeral', replace_original: false, ...reply })
      .catch((err) => log.warn({ err: String(err) }, 'could not answer the click'));
  } else if (deps.slack) {
    await deps.slack.chat
      .postMessage({
        channel: click.userId,
        text: reply.text,
        ...(reply.blocks ? { blocks: reply.blocks } : {}),
      })
      .catch((err) => log.warn({ err: String(err) }, 'could not answer the click in a DM'));
  }
  if (click.from === 'home' && deps.publishHome) {
    await deps
      .publishHome([click.userId])
      .catch((err) => log.warn({ err: String(err) }, 'could not republish Home after a click'));
  }
}

/** Where a click's button was: the App Home tab (a view of type home) or a message. */
function clickSource(body: BlockAction): 'message' | 'home' {
  return body.view?.type === 'home' || body.container?.type === 'view' ? 'home' : 'message';
}

/** Registers a button family with Bolt (`app.action`). Every click is acked at once, then answered. */
export function registerAction(app: App, deps: BotDeps, spec: ActionSpec): void {
  const ids = actionRegistry.get(app) ?? [];
  if (typeof spec.actionId === 'string' && ids.includes(spec.actionId)) {
    throw new Error(`action ${spec.actionId} is registered twice`);
  }
  actionRegistry.set(app, [...ids, spec.actionId]);
  app.action<BlockAction<ButtonAction>>(spec.actionId, async ({ action, body, ack, respond, context }) => {
    await ack();
    const req = context.req as RequestContext;
    const ackSeconds = sinceArrival(req, deps.clock);
    const click: Click = {
      actionId: action.action_id,
      value: action.value ?? '',
      channelId: body.channel?.id ?? body.container?.channel_id,
      messageTs: body.message?.ts ?? body.container?.message_ts,
      triggerId: body.trigger_id,
      from: clickSource(body),
    };
    const out = await guarded(deps, req, spec.permission(click, req, deps), () =>
      spec.handle(click, req, deps),
    );
    deps.metrics?.clickDone(click.actionId, out.outcome, ackSeconds);
    if (changedSomething(out)) deps.homeChanged?.();
    await answerClicker(deps, { respond, from: click.from, userId: req.userId }, out.reply, req.log);
  });
}

/** Registers a modal's submission with Bolt (`app.view`). */
export function registerView(app: App, deps: BotDeps, spec: ViewSpec): void {
  app.view<SlackViewAction>(spec.callbackId, async ({ view, ack, context, client }) => {
    const req = context.req as RequestContext;
    let errors: Record<string, string> | undefined;
    const out = await guarded(deps, req, spec.permission(view, req, deps), async () => {
      const res = await spec.handle(view, req, deps);
      errors = res.errors;
      return res;
    });
    if (errors) {
      await ack({ response_action: 'errors', errors });
      deps.metrics?.submissionDone(spec.callbackId, 'invalid', sinceArrival(req, deps.clock));
      return;
    }
    await ack();
    deps.metrics?.submissionDone(spec.callbackId, out.outcome, sinceArrival(req, deps.clock));
    if (changedSomething(out)) deps.homeChanged?.();
    // The modal closes; the outcome goes to the user's DM with the app.
    await client.chat
      .postMessage({
        channel: req.userId,
        text: out.reply.text,
        ...(out.reply.blocks ? { blocks: out.reply.blocks } : {}),
      })
      .catch((err) => req.log.warn({ err: String(err) }, 'could not tell the user the outcome'));
  });
}

/** Registers an answer for action ids no listener knows (stale buttons of an older release). */
export function registerUnknownActions(app: App, deps: BotDeps): void {
  app.action<BlockAction>(/.*/, async ({ action, body, ack, respond, context }) => {
    const id = 'action_id' in action ? action.action_id : '';
    if ((actionRegistry.get(app) ?? []).some((k) => (typeof k === 'string' ? k === id : k.test(id)))) return;
    await ack();
    const req = context.req as RequestContext;
    deps.metrics?.clickDone(id, 'invalid', sinceArrival(req, deps.clock));
    audit(deps, req, {
      action: 'click',
      outcome: 'invalid',
      target: id.slice(0, 80),
      detail: 'unknown action',
    });
    await answerClicker(
      deps,
      { respond, from: clickSource(body), userId: req.userId },
      {
        text: `:grey_question: That button (\`${escapeSlack(id.slice(0, 80))}\`) is not one this bot knows any more, so nothing happened.`,
      },
      req.log,
    );
  });
}
