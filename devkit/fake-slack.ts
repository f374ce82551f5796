import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Oldest calls are dropped beyond this, so a long benchmark cannot exhaust memory. */
const MAX_CALLS = 100_000;
const MAX_MESSAGES = 100_000;
/** Form fields that @slack/web-api JSON-encodes inside form bodies. */
const JSON_FORM_KEYS = new Set(['blocks', 'attachments', 'view', 'metadata']);
const BASE_TS_SECONDS = 1_700_000_000;
/** Errors for payloads Slack refuses (not injected ones): worth a warning wherever they happen. */
const REFUSALS = new Set(['invalid_blocks', 'msg_too_long', 'no_text', 'invalid_arguments']);

export interface FakeSlackOptions {
  /** Port to bind on 127.0.0.1; 0 or omitted picks a free port. */
  port?: number;
  botUserId?: string;
  botId?: string;
  teamId?: string;
  /**
   * Off unless set: Slack's "about one message per second per channel". A chat.postMessage to a
   * channel that accepted one less than 1/perChannelPerSecond s ago is answered HTTP 429 with
   * Retry-After (whole seconds, at least 1) and not posted.
   */
  perChannelPerSecond?: number;
}

export interface FakeSlackCall {
  /** Web API method (e.g. `chat.postMessage`) or `response_url`. */
  method: string;
  /** Request arguments with `token` removed and JSON form fields decoded. */
  args: Record<string, unknown>;
  /** Token from the Authorization header or `token` field, if any. */
  token?: string;
  /** Full request URL, set for `response_url` calls. */
  url?: string;
  at: number;
  /** Answered HTTP 429 (failNext('…', 'ratelimited') or the per-channel limit): nothing was applied. */
  ratelimited?: true;
  /** The `error` of an `ok: false` answer (a limit Slack enforces, a missing argument, failNext…). */
  error?: string;
}

export interface FakeSlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  /** Recipient of an ephemeral message. */
  user?: string;
  ephemeral?: true;
  /** Number of chat.update / replace_original edits applied. */
  edits: number;
  /** Message metadata (`{ event_type, event_payload }`) given to chat.postMessage. */
  metadata?: Record<string, unknown>;
}

export interface FakeSlackUser {
  name?: string;
  real_name?: string;
  email?: string;
}

export type FakeSlackCallPredicate = (call: FakeSlackCall) => boolean;

export interface FakeSlackResetOptions {
  /** Also empty the message store (default true). */
  messages?: boolean;
  /** Also drop pending failNext injections (default true). */
  failures?: boolean;
}

export interface FakeSlack {
  /** Web API base URL for `new WebClient(token, { slackApiUrl })`, with trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;
  /** Live list of recorded calls, oldest first. */
  readonly calls: readonly FakeSlackCall[];
  callsTo(method: string): FakeSlackCall[];
  /** Resolves with the first recorded call matching `predicate` (a method name or a function). */
  waitFor(predicate: FakeSlackCallPredicate | string, timeoutMs?: number): Promise<FakeSlackCall>;
  /** Subscribes to calls as they are recorded; returns the unsubscribe function. */
  onCall(listener: (call: FakeSlackCall) => void): () => void;
  /** Clears recorded calls and, unless told otherwise, messages and pending failures. */
  reset(opts?: FakeSlackResetOptions): void;
  /** Current state of posted messages in post order, optionally for one channel. */
  messages(channel?: string): FakeSlackMessage[];
  /** A fresh response_url whose messages land in `channel`; `messageTs` enables replace/delete_original. */
  responseUrl(channel: string, user: string, messageTs?: string): string;
  /** Makes the next `times` calls to `method` fail; `ratelimited` answers HTTP 429 with Retry-After: 1. */
  failNext(method: string, error?: string, times?: number): void;
  /** Answers `method` with `{ ok: true, ...body }` from now on (e.g. apps.connections.open's WebSocket URL). */
  setResponse(method: string, body: Record<string, unknown>): void;
  /** Overrides what users.info returns for `id`; a user with a `name` can be mentioned as `@name` in commands. */
  setUser(id: string, user: FakeSlackUser): void;
  /** The id of the user set with this `name` (what Slack resolves `@name` to), if any. */
  userIdByName(name: string): string | undefined;
  /** Turns the per-channel limit (see FakeSlackOptions) on from now, or off with undefined. */
  setPerChannelPerSecond(rate: number | undefined): void;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

interface Waiter {
  predicate: FakeSlackCallPredicate;
  resolve: (call: FakeSlackCall) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function asBlocks(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function parseForm(body: string, into: Record<string, unknown>): void {
  for (const [key, value] of new URLSearchParams(body)) {
    const first = value.charAt(0);
    if (JSON_FORM_KEYS.has(key) && (first === '[' || first === '{')) {
      try {
        into[key] = JSON.parse(value);
        continue;
      } catch {
        // Not JSON after all: keep the raw string like Slack would reject it later.
      }
    }
    into[key] = value;
  }
}

/** Parses a Web API request body; returns undefined when it is malformed. */
function parseArgs(contentType: string, body: string, query: string): Record<string, unknown> | undefined {
  const args: Record<string, unknown> = {};
  if (query) parseForm(query, args);
  if (body.length === 0) return args;
  if (contentType.includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
      return Object.assign(args, parsed);
    } catch {
      return undefined;
    }
  }
  // multipart (file uploads) is not decoded; everything else is treated as a form.
  if (!contentType.includes('multipart/')) parseForm(body, args);
  return args;
}

/** DMs are addressed by user id but live in a `D…` channel. */
function dmChannel(channel: string): string {
  return channel.startsWith('U') ? `D${channel.slice(1)}` : channel;
}

// Slack's documented limits (docs.slack.dev, Block Kit reference): up to 50 blocks in a message and
// 100 in a modal or Home tab; block_id at most 255 characters and unique in its message or view; a
// section's text at most 3,000 characters, its fields at most 10 of 2,000 each; a button's text at
// most 75 characters, its value 2,000, action_id 255. Message text: msg_too_long past 40,000.
export const SLACK_LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  blockId: 255,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  messageText: 40_000,
} as const;

/** What Slack says of `blocks` (for a message or a view), or undefined when it would take them. */
export function blockErrors(blocks: unknown, surface: 'message' | 'view'): string[] | undefined {
  const errors: string[] = [];
  if (!Array.isArray(blocks)) return ['must be an array [json-pointer:/blocks]'];
  const max = surface === 'message' ? SLACK_LIMITS.messageBlocks : SLACK_LIMITS.viewBlocks;
  if (blocks.length > max) errors.push(`no more than ${max} items allowed [json-pointer:/blocks]`);
  const ids = new Set<string>();
  blocks.forEach((raw, i) => {
    const at = `/blocks/${i}`;
    const block = asObject(raw);
    if (!block || typeof block.type !== 'string') {
      errors.push(`must be a block object with a type [json-pointer:${at}]`);
      return;
    }
    const id = block.block_id;
    if (id !== undefined) {
      if (typeof id !== 'string' || id.length === 0 || id.length > SLACK_LIMITS.blockId)
        errors.push(`block_id must be 1 to ${SLACK_LIMITS.blockId} characters [json-pointer:${at}/block_id]`);
      else if (ids.has(id)) errors.push(`duplicate block_id "${id}" [json-pointer:${at}/block_id]`);
      else ids.add(id);
    }
    if (block.type === 'section') {
      const text = asObject(block.text);
      const t = str(text?.text);
      if (t !== undefined && t.length > SLACK_LIMITS.sectionText)
        errors.push(
          `must be less than ${SLACK_LIMITS.sectionText + 1} characters [json-pointer:${at}/text/text]`,
        );
      const fields = block.fields;
      if (Array.isArray(fields)) {
        if (fields.length > SLACK_LIMITS.sectionFields)
          errors.push(`no more than ${SLACK_LIMITS.sectionFields} items allowed [json-pointer:${at}/fields]`);
        fields.forEach((f, j) => {
          const ft = str(asObject(f)?.text);
          if (ft !== undefined && ft.length > SLACK_LIMITS.sectionFieldText)
            errors.push(
              `must be less than ${SLACK_LIMITS.sectionFieldText + 1} characters [json-pointer:${at}/fields/${j}/text]`,
            );
        });
      }
      if (!text && !Array.isArray(fields)) errors.push(`a section needs text or fields [json-pointer:${at}]`);
    }
    buttonErrors(block, at, errors);
  });
  return errors.length ? errors : undefined;
}

/** Buttons anywhere inside a block (actions elements, a section's accessory). */
function buttonErrors(node: unknown, at: string, errors: string[]): void {
  if (Array.isArray(node)) {
    for (const [i, n] of node.entries()) buttonErrors(n, `${at}/${i}`, errors);
    return;
  }
  const o = asObject(node);
  if (!o) return;
  if (o.type === 'button') {
    const label = str(asObject(o.text)?.text) ?? '';
    if (label.length === 0 || label.length > SLACK_LIMITS.buttonText)
      errors.push(
        `button text must be 1 to ${SLACK_LIMITS.buttonText} characters [json-pointer:${at}/text/text]`,
      );
    const value = o.value;
    if (value !== undefined && (typeof value !== 'string' || value.length > SLACK_LIMITS.buttonValue))
      errors.push(`must be less than ${SLACK_LIMITS.buttonValue + 1} characters [json-pointer:${at}/value]`);
    const actionId = o.action_id;
    if (actionId !== undefined && (typeof actionId !== 'string' || actionId.length > SLACK_LIMITS.actionId))
      errors.push(`must be less than ${SLACK_LIMITS.actionId + 1} characters [json-pointer:${at}/action_id]`);
    return;
  }
  for (const key of ['elements', 'accessory']) if (key in o) buttonErrors(o[key], `${at}/${key}`, errors);
}

/**
 * What Slack answers for a message payload it refuses (text, blocks) or undefined. `needsText`:
 * a new message with neither text, blocks nor attachments is `no_text`.
 */
function messageRefusal(
  args: Record<string, unknown>,
  needsText: boolean,
): { error: string; errors?: string[] } | undefined {
  const text = str(args.text);
  if (text !== undefined && text.length > SLACK_LIMITS.messageText) return { error: 'msg_too_long' };
  if ('blocks' in args && args.blocks !== undefined) {
    const errors = blockErrors(args.blocks, 'message');
    if (errors) return { error: 'invalid_blocks', errors };
  }
  if (needsText && !text && !Array.isArray(args.blocks) && !args.attachments) return { error: 'no_text' };
  return undefined;
}

/**
 * Starts a loopback imitation of the Slack Web API and response_url endpoints that
 * records every call and keeps a message store reflecting posts, updates and deletes.
 */
export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  const botUserId = opts.botUserId ?? 'U0CHATOPS';
  const botId = opts.botId ?? 'B0CHATOPS';
  const teamId = opts.teamId ?? 'T0DEVKIT';

  const calls: FakeSlackCall[] = [];
  // Map keeps insertion order, which is post order; key is `${channel}\n${ts}`.
  const store = new Map<string, FakeSlackMessage>();
  const failures = new Map<string, { error: string; times: number }>();
  const customResponses = new Map<string, Record<string, unknown>>();
  const users = new Map<string, FakeSlackUser>();
  const listeners = new Set<(call: FakeSlackCall) => void>();
  const waiters = new Set<Waiter>();
  let tsSeq = 100;
  let responseSeq = 0;
  let perChannelPerSecond = checkRate(opts.perChannelPerSecond);
  /** Channel → when it last accepted a chat.postMessage (ms), for the per-channel limit. */
  const lastPost = new Map<string, number>();

  const nextTs = (): string => {
    tsSeq += 1;
    const seconds = BASE_TS_SECONDS + Math.floor(tsSeq / 1_000_000);
    return `${seconds}.${String(tsSeq % 1_000_000).padStart(6, '0')}`;
  };
  const keyOf = (channel: string, ts: string): string => `${channel}\n${ts}`;

  const storeMessage = (msg: FakeSlackMessage): void => {
    store.set(keyOf(msg.channel, msg.ts), msg);
    if (store.size > MAX_MESSAGES) {
      const oldest = store.keys().next();
      if (!oldest.done) store.delete(oldest.value);
    }
  };

  const record = (call: FakeSlackCall): void => {
    if (calls.length >= MAX_CALLS) calls.splice(0, MAX_CALLS / 10);
    calls.push(call);
    for (const waiter of waiters) {
      if (waiter.predicate(call)) {
        waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(call);
      }
    }
    for (const listener of listeners) {
      try {
        listener(call);
      } catch (err) {
        // A throwing test listener must not take the fake server down with it.
        process.emitWarning(`fake-slack onCall listener threw: ${String(err)}`);
      }
    }
  };

  const takeFailure = (method: string): Reply | undefined => {
    const failure = failures.get(method);
    if (!failure) return undefined;
    failure.times -= 1;
    if (failure.times <= 0) failures.delete(method);
    if (failure.error === 'ratelimited') {
      return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': '1' } };
    }
    return { status: 200, body: { ok: false, error: failure.error } };
  };

  /** The per-channel limit: a 429 for a post that comes too soon, else undefined (and the post counts). */
  const throttle = (method: string, args: Record<string, unknown>, now: number): Reply | undefined => {
    const target = str(args.channel);
    if (perChannelPerSecond === undefined || method !== 'chat.postMessage' || !target) return undefined;
    const channel = dmChannel(target);
    const gapMs = 1000 / perChannelPerSecond;
    const last = lastPost.get(channel);
    if (last !== undefined && now - last < gapMs) {
      const retryAfter = Math.max(1, Math.ceil((gapMs - (now - last)) / 1000));
      return {
        status: 429,
        body: { ok: false, error: 'ratelimited' },
        headers: { 'retry-after': String(retryAfter) },
      };
    }
    lastPost.set(channel, now);
    return undefined;
  };

  const ok = (body: Record<string, unknown> = {}): Reply => ({ status: 200, body: { ok: true, ...body } });
  const fail = (error: string): Reply => ({ status: 200, body: { ok: false, error } });
  const refuse = (r: { error: string; errors?: string[] }): Reply => ({
    status: 200,
    body: {
      ok: false,
      error: r.error,
      ...(r.errors
        ? { errors: r.errors, response_metadata: { messages: r.errors.map((e) => `[ERROR] ${e}`) } }
        : {}),
    },
  });
  /** views.open / push / update / publish: the view's blocks, up to 100. */
  const viewRefusal = (args: Record<string, unknown>): Reply | undefined => {
    const view = asObject(args.view);
    if (!view) return fail('invalid_arguments');
    const errors = blockErrors(view.blocks ?? [], 'view');
    return errors ? refuse({ error: 'invalid_blocks', errors }) : undefined;
  };

  const api = (method: string, args: Record<string, unknown>): Reply => {
    const custom = customResponses.get(method);
    if (custom) return ok(custom);
    switch (method) {
      case 'auth.test':
        return ok({
          url: 'https://devkit.slack.com/',
          team: 'devkit',
          team_id: teamId,
          user: 'chatops',
          user_id: botUserId,
          bot_id: botId,
        });
      case 'chat.postMessage': {
        const target = str(args.channel);
        if (!target) return fail('channel_not_found');
        const refusal = messageRefusal(args, true);
        if (refusal) return refuse(refusal);
        const channel = dmChannel(target);
        const ts = nextTs();
        const text = str(args.text) ?? '';
        const blocks = asBlocks(args.blocks);
        const threadTs = str(args.thread_ts);
        const metadata = asObject(args.metadata);
        storeMessage({
          channel,
          ts,
          text,
          ...(blocks ? { blocks } : {}),
          ...(threadTs ? { thread_ts: threadTs } : {}),
          ...(metadata ? { metadata } : {}),
          edits: 0,
        });
        return ok({
          channel,
          ts,
          message: { type: 'message', user: botUserId, bot_id: botId, ts, text, blocks },
        });
      }
      case 'chat.update': {
        if (!str(args.channel) || !str(args.ts)) return fail('invalid_arguments');
        const channel = dmChannel(str(args.channel) ?? '');
        const ts = str(args.ts) ?? '';
        const msg = store.get(keyOf(channel, ts));
        if (!msg) return fail('message_not_found');
        const refusal = messageRefusal(args, false);
        if (refusal) return refuse(refusal);
        if ('text' in args) msg.text = str(args.text) ?? '';
        if ('blocks' in args) {
          const blocks = asBlocks(args.blocks);
          if (blocks) msg.blocks = blocks;
          else delete msg.blocks;
        }
        msg.edits += 1;
        return ok({ channel, ts, text: msg.text, message: { text: msg.text, blocks: msg.blocks } });
      }
      case 'chat.delete': {
        const channel = dmChannel(str(args.channel) ?? '');
        const ts = str(args.ts) ?? '';
        if (!store.delete(keyOf(channel, ts))) return fail('message_not_found');
        return ok({ channel, ts });
      }
      case 'chat.postEphemeral': {
        const target = str(args.channel);
        const user = str(args.user);
        if (!target) return fail('channel_not_found');
        if (!user) return fail('user_not_found');
        const refusal = messageRefusal(args, true);
        if (refusal) return refuse(refusal);
        const ts = nextTs();
        const blocks = asBlocks(args.blocks);
        const threadTs = str(args.thread_ts);
        storeMessage({
          channel: dmChannel(target),
          ts,
          text: str(args.text) ?? '',
          ...(blocks ? { blocks } : {}),
          ...(threadTs ? { thread_ts: threadTs } : {}),
          user,
          ephemeral: true,
          edits: 0,
        });
        return ok({ message_ts: ts });
      }
      case 'conversations.history':
      case 'conversations.replies': {
        // Newest first for history (top-level messages at or after `oldest`), oldest first for
        // replies (the parent and its thread); metadata only with include_all_metadata, as Slack does.
        const channel = dmChannel(str(args.channel) ?? '');
        const withMeta = str(args.include_all_metadata) === 'true';
        const visible = [...store.values()].filter((m) => m.channel === channel && !m.ephemeral);
        let found: FakeSlackMessage[];
        if (method === 'conversations.replies') {
          const parent = str(args.ts) ?? '';
          if (!visible.some((m) => m.ts === parent)) return fail('thread_not_found');
          found = visible.filter((m) => m.ts === parent || m.thread_ts === parent);
        } else {
          const oldest = Number(str(args.oldest) ?? '0');
          found = visible.filter((m) => !m.thread_ts && Number(m.ts) >= oldest).reverse();
        }
        const messages = found.map((m) => ({
          type: 'message',
          user: botUserId,
          bot_id: botId,
          ts: m.ts,
          text: m.text,
          ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
          ...(withMeta && m.metadata ? { metadata: m.metadata } : {}),
        }));
        return ok({ messages, has_more: false, response_metadata: { next_cursor: '' } });
      }
      case 'conversations.open': {
        const first = (str(args.users) ?? str(args.channel) ?? '').split(',')[0]?.trim() ?? '';
        if (!first) return fail('user_not_found');
        return ok({ channel: { id: dmChannel(first) } });
      }
      case 'users.info': {
        const id = str(args.user);
        if (!id) return fail('user_not_found');
        const known = users.get(id) ?? {};
        const name = known.name ?? id.toLowerCase();
        const realName = known.real_name ?? name;
        return ok({
          user: {
            id,
            team_id: teamId,
            name,
            real_name: realName,
            is_bot: false,
            profile: { email: known.email ?? '', real_name: realName, display_name: name },
          },
        });
      }
      case 'views.open':
      case 'views.push':
      case 'views.update':
      case 'views.publish':
        return viewRefusal(args) ?? ok();
      default:
        // Anything else: accepted and recorded.
        return ok();
    }
  };

  const responseUrlCall = (path: string, query: string, args: Record<string, unknown>): Reply => {
    // Path form: /response/<channel>/<user>/<n>
    const [, , rawChannel = '', rawUser = ''] = path.split('/');
    const channel = decodeURIComponent(rawChannel);
    const user = decodeURIComponent(rawUser);
    const originalTs = new URLSearchParams(query).get('ts') ?? undefined;
    const blocks = asBlocks(args.blocks);
    const original = originalTs ? store.get(keyOf(channel, originalTs)) : undefined;
    const deleting = args.delete_original === true || args.delete_original === 'true';
    const refusal = deleting ? undefined : messageRefusal(args, false);
    if (refusal) return refuse(refusal);

    if (deleting) {
      if (originalTs) store.delete(keyOf(channel, originalTs));
    } else if ((args.replace_original === true || args.replace_original === 'true') && original) {
      original.text = str(args.text) ?? '';
      if (blocks) original.blocks = blocks;
      else delete original.blocks;
      original.edits += 1;
    } else if (channel) {
      const inChannel = args.response_type === 'in_channel';
      storeMessage({
        channel,
        ts: nextTs(),
        text: str(args.text) ?? '',
        ...(blocks ? { blocks } : {}),
        ...(inChannel ? {} : { user, ephemeral: true as const }),
        edits: 0,
      });
    }
    return ok();
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const query = q === -1 ? '' : rawUrl.slice(q + 1);
    const isApi = path.startsWith('/api/');
    const isResponse = path.startsWith('/response/');
    if (!isApi && !isResponse) {
      send(res, { status: 404, body: { ok: false, error: 'unknown_path' } });
      return;
    }

    const args = parseArgs(String(req.headers['content-type'] ?? ''), body, isApi ? query : '');
    if (!args) {
      send(res, fail('invalid_json'));
      return;
    }
    let token = str(args.token);
    delete args.token;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) token = auth.slice(7);

    const method = isApi ? decodeURIComponent(path.slice(5)) : 'response_url';
    const call: FakeSlackCall = { method, args, at: Date.now() };
    if (token) call.token = token;
    if (isResponse) call.url = `${baseUrl}${rawUrl}`;
    const failure = takeFailure(method) ?? (isApi ? throttle(method, args, call.at) : undefined);
    if (failure?.status === 429) call.ratelimited = true;
    // The answer is worked out (and the store changed) before the call is seen by waiters.
    const reply = failure ?? (isApi ? api(method, args) : responseUrlCall(path, query, args));
    if (reply.body.ok === false && typeof reply.body.error === 'string') {
      call.error = reply.body.error;
      // A payload real Slack would refuse is a bug in the caller: say so wherever the test runs.
      if (!failure && REFUSALS.has(call.error)) {
        const why = Array.isArray(reply.body.errors) ? `: ${reply.body.errors.join('; ')}` : '';
        process.emitWarning(`fake-slack refused ${method} with ${call.error}${why}`.slice(0, 2000));
      }
    }
    record(call);
    send(res, reply);
  };

  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      try {
        handle(req, res, body);
      } catch (err) {
        // e.g. malformed percent-encoding in the path; an exception here would crash the test process.
        send(res, { status: 400, body: { ok: false, error: 'invalid_request', detail: String(err) } });
      }
    });
  });
  // Outlive client keep-alive pools so a benchmark never races a server-side socket close.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;

  const toPredicate = (p: FakeSlackCallPredicate | string): FakeSlackCallPredicate =>
    typeof p === 'string' ? (call) => call.method === p : p;

  const summarize = (): string => {
    const counts = new Map<string, number>();
    for (const call of calls) counts.set(call.method, (counts.get(call.method) ?? 0) + 1);
    const parts = [...counts].map(([m, n]) => `${m} x${n}`);
    return parts.length > 0 ? parts.join(', ') : 'none';
  };

  let closed = false;

  return {
    url: `${baseUrl}/api/`,
    port,
    botUserId,
    botId,
    teamId,
    get calls() {
      return calls;
    },
    callsTo: (method) => calls.filter((call) => call.method === method),
    waitFor(predicate, timeoutMs = 10_000) {
      const match = toPredicate(predicate);
      const existing = calls.find(match);
      if (existing) return Promise.resolve(existing);
      if (closed) return Promise.reject(new Error('fake-slack: waitFor called after close()'));
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          predicate: match,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            const what = typeof predicate === 'string' ? predicate : 'the predicate';
            reject(
              new Error(
                `fake-slack: no call matching ${what} within ${timeoutMs} ms (recorded: ${summarize()})`,
              ),
            );
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    onCall(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    reset(resetOpts = {}) {
      calls.length = 0;
      if (resetOpts.messages ?? true) store.clear();
      if (resetOpts.failures ?? true) failures.clear();
      lastPost.clear();
    },
    messages(channel) {
      const all = [...store.values()];
      return channel === undefined ? all : all.filter((m) => m.channel === channel);
    },
    responseUrl(channel, user, messageTs) {
      responseSeq += 1;
      const path = `/response/${encodeURIComponent(channel)}/${encodeURIComponent(user)}/${responseSeq}`;
      return `${baseUrl}${path}${messageTs ? `?ts=${encodeURIComponent(messageTs)}` : ''}`;
    },
    setResponse(method, body) {
      customResponses.set(method, body);
    },
    failNext(method, error = 'ratelimited', times = 1) {
      failures.set(method, { error, times });
    },
    setUser(id, user) {
      users.set(id, user);
    },
    userIdByName(name) {
      const want = name.toLowerCase();
      for (const [id, u] of users) if (u.name?.toLowerCase() === want) return id;
      return undefined;
    },
    setPerChannelPerSecond(rate) {
      perChannelPerSecond = checkRate(rate);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error('fake-slack: closed while waiting for a call'));
      }
      waiters.clear();
      listeners.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function checkRate(rate: number | undefined): number | undefined {
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) {
    throw new Error(`fake-slack: perChannelPerSecond must be a positive number, got ${rate}`);
  }
  return rate;
}

function send(res: ServerResponse, reply: Reply): void {
  const payload = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...reply.headers,
  });
  res.end(payload);
}
