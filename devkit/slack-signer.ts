import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

/** Values Slack puts in every payload that tests rarely care about. */
const DEFAULT_TEAM_ID = 'T0DEVKIT';
const DEFAULT_TEAM_DOMAIN = 'devkit';
const DEFAULT_CHANNEL_ID = 'C0DEVKIT';
const API_APP_ID = 'A0DEVKIT';
// Deprecated verification token; Slack still sends it and Bolt ignores it.
const VERIFICATION_TOKEN = 'devkit-verification-token';

export interface SlackSignatureHeaders {
  'x-slack-request-timestamp': string;
  'x-slack-signature': string;
  'content-type': 'application/x-www-form-urlencoded';
  [header: string]: string;
}

/** Headers Slack sends with a signed request: `v0=` + hex HMAC-SHA256 of `v0:<ts>:<body>`. */
export function signSlackRequest(
  signingSecret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): SlackSignatureHeaders {
  const hmac = createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex');
  return {
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${hmac}`,
    'content-type': 'application/x-www-form-urlencoded',
  };
}

let triggerSeq = 0;
/** Trigger ids only need to look plausible and be unique within a run. */
function makeTriggerId(): string {
  triggerSeq += 1;
  return `${Date.now()}.${triggerSeq}.devkit${triggerSeq.toString(16).padStart(8, '0')}`;
}

/** Slack action_ts format: seconds with microseconds. */
function makeActionTs(): string {
  return (Date.now() / 1000).toFixed(6);
}

function channelName(channelId: string): string {
  return channelId.startsWith('D') ? 'directmessage' : 'devkit';
}

/**
 * How Slack turns what a person typed into a slash command's `text`. Slack HTML-escapes `&`, `<`
 * and `>` in every message text, commands included (`&amp;`, `&lt;`, `&gt;`); with the command's
 * `should_escape: true` in the app manifest it also turns a mention picked in the composer,
 * `@name`, into `<@U…|name>` (left as plain `@name` text when false, or when Slack knows no such user).
 */
export interface SlackTyping {
  /** The command's `should_escape`; default: what the repo's manifest.yml says (false when it lacks the command). */
  shouldEscape?(command: string): boolean;
  /** The user id Slack knows by `name` (e.g. the fake Slack's users), for `@name`; undefined = no such user. */
  userIdByName?(name: string): string | undefined;
}

const MANIFEST_PATH = fileURLToPath(new URL('../manifest.yml', import.meta.url));
let manifestEscapes: Map<string, boolean> | undefined;

/** `should_escape` of `command` in the repo's manifest.yml (false when absent, as Slack defaults). */
export function manifestShouldEscape(command: string): boolean {
  if (!manifestEscapes) {
    const manifest = parseYaml(readFileSync(MANIFEST_PATH, 'utf8')) as {
      features?: { slash_commands?: { command?: string; should_escape?: boolean }[] };
    };
    manifestEscapes = new Map(
      (manifest.features?.slash_commands ?? []).flatMap((c) =>
        c.command ? [[c.command, c.should_escape === true] as const] : [],
      ),
    );
  }
  return manifestEscapes.get(command) ?? false;
}

/** The `text` Slack posts for a command typed as `typed` (see SlackTyping). */
export function slackCommandText(command: string, typed: string, typing: SlackTyping = {}): string {
  const escaped = typed.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const shouldEscape = typing.shouldEscape ?? manifestShouldEscape;
  if (!shouldEscape(command) || !typing.userIdByName) return escaped;
  const idOf = typing.userIdByName;
  return escaped.replace(/(^|\s)@([a-z0-9][a-z0-9._-]*)/gi, (whole, lead: string, name: string) => {
    const id = idOf(name);
    return id ? `${lead}<@${id}|${name}>` : whole;
  });
}

export interface SlashCommandInput {
  /** With the leading slash, e.g. `/aws`. */
  command: string;
  /** What the person typed after the command; Slack's escaping is applied (see SlackTyping). */
  text: string;
  userId: string;
  userName?: string;
  channelId?: string;
  teamId?: string;
  responseUrl: string;
  triggerId?: string;
  /** Who Slack knows and how the command escapes (default: the manifest, nobody known). */
  typing?: SlackTyping;
  /** Send `text` exactly as given, as if Slack had already escaped it (for tests of odd payloads). */
  verbatim?: boolean;
}

/** Form-encoded body of a slash command exactly as Slack posts it. */
export function slashCommandBody(input: SlashCommandInput): string {
  const teamId = input.teamId ?? DEFAULT_TEAM_ID;
  const channelId = input.channelId ?? DEFAULT_CHANNEL_ID;
  return new URLSearchParams({
    token: VERIFICATION_TOKEN,
    team_id: teamId,
    team_domain: DEFAULT_TEAM_DOMAIN,
    channel_id: channelId,
    channel_name: channelName(channelId),
    user_id: input.userId,
    user_name: input.userName ?? input.userId.toLowerCase(),
    command: input.command,
    text: input.verbatim ? input.text : slackCommandText(input.command, input.text, input.typing),
    api_app_id: API_APP_ID,
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: input.triggerId ?? makeTriggerId(),
  }).toString();
}

/** A click on a message's button (channel, message and response URL), or on the App Home tab (`home`). */
export type BlockActionInput = {
  userId: string;
  userName?: string;
  teamId?: string;
  actionId: string;
  value: string;
  blockId?: string;
  triggerId?: string;
} & (
  | { channelId: string; messageTs: string; responseUrl: string; home?: undefined }
  | {
      /** The Home view the button is on: Slack sends no channel, message or response URL then. */
      home: { viewId?: string };
      channelId?: undefined;
      messageTs?: undefined;
      responseUrl?: undefined;
    }
);

/** Form-encoded `payload=<json>` body of a button click (`block_actions`) as Slack posts it. */
export function blockActionsBody(input: BlockActionInput): string {
  const teamId = input.teamId ?? DEFAULT_TEAM_ID;
  const userName = input.userName ?? input.userId.toLowerCase();
  const where = input.home
    ? {
        container: { type: 'view', view_id: input.home.viewId ?? 'VHOMEDEVKIT' },
        view: {
          id: input.home.viewId ?? 'VHOMEDEVKIT',
          team_id: teamId,
          type: 'home',
          blocks: [],
          private_metadata: '',
          callback_id: '',
          state: { values: {} },
          hash: 'devkit',
          app_id: API_APP_ID,
        },
      }
    : {
        container: {
          type: 'message',
          message_ts: input.messageTs,
          channel_id: input.channelId,
          is_ephemeral: false,
        },
        channel: { id: input.channelId, name: channelName(input.channelId) },
        message: { type: 'message', ts: input.messageTs, text: '' },
        response_url: input.responseUrl,
      };
  const payload = {
    type: 'block_actions',
    user: { id: input.userId, username: userName, name: userName, team_id: teamId },
    api_app_id: API_APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: input.triggerId ?? makeTriggerId(),
    team: { id: teamId, domain: DEFAULT_TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    state: { values: {} },
    ...where,
    actions: [
      {
        action_id: input.actionId,
        block_id: input.blockId ?? 'devkit-block',
        value: input.value,
        type: 'button',
        action_ts: makeActionTs(),
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface ViewSubmissionInput {
  userId: string;
  userName?: string;
  teamId?: string;
  callbackId: string;
  privateMetadata?: string;
  /** What the person typed: block_id -> action_id -> text (plain_text_input values, as Slack sends them: unescaped). */
  values: Record<string, Record<string, string>>;
  viewId?: string;
  triggerId?: string;
}

/** Form-encoded `payload=<json>` body of a modal's submission (`view_submission`) as Slack posts it. */
export function viewSubmissionBody(input: ViewSubmissionInput): string {
  const teamId = input.teamId ?? DEFAULT_TEAM_ID;
  const userName = input.userName ?? input.userId.toLowerCase();
  const values = Object.fromEntries(
    Object.entries(input.values).map(([block, actions]) => [
      block,
      Object.fromEntries(
        Object.entries(actions).map(([action, value]) => [action, { type: 'plain_text_input', value }]),
      ),
    ]),
  );
  const payload = {
    type: 'view_submission',
    team: { id: teamId, domain: DEFAULT_TEAM_DOMAIN },
    user: { id: input.userId, username: userName, name: userName, team_id: teamId },
    api_app_id: API_APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: input.triggerId ?? makeTriggerId(),
    view: {
      id: input.viewId ?? 'V0DEVKIT',
      team_id: teamId,
      type: 'modal',
      callback_id: input.callbackId,
      private_metadata: input.privateMetadata ?? '',
      hash: 'devkit',
      state: { values },
      blocks: [],
      title: { type: 'plain_text', text: 'devkit' },
    },
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface EventInput {
  /** The event itself, e.g. `{ type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'home' }`. */
  event: { type: string } & Record<string, unknown>;
  teamId?: string;
  eventId?: string;
}

let eventSeq = 0;

/** JSON body of an Events API delivery (`event_callback`) as Slack posts it. */
export function eventCallbackBody(input: EventInput): string {
  const teamId = input.teamId ?? DEFAULT_TEAM_ID;
  eventSeq += 1;
  const now = Math.floor(Date.now() / 1000);
  return JSON.stringify({
    token: VERIFICATION_TOKEN,
    team_id: teamId,
    api_app_id: API_APP_ID,
    event: { event_ts: makeActionTs(), ...input.event },
    type: 'event_callback',
    event_id: input.eventId ?? `Ev0DEVKIT${eventSeq.toString(16).padStart(6, '0')}`,
    event_time: now,
    authorizations: [
      { team_id: teamId, user_id: 'U0BOT', is_bot: true, is_enterprise_install: false, enterprise_id: null },
    ],
    is_ext_shared_channel: false,
  });
}

/** A person opening the app's Home tab, as the Events API delivers it. */
export function appHomeOpenedBody(userId: string, opts: { tab?: 'home' | 'messages'; teamId?: string } = {}) {
  return eventCallbackBody({
    teamId: opts.teamId,
    event: { type: 'app_home_opened', user: userId, channel: `D${userId.slice(1)}`, tab: opts.tab ?? 'home' },
  });
}

export interface SlackSendOptions {
  /** Overrides the signed timestamp (seconds), e.g. to send a stale request. */
  timestamp?: number;
  /** Replaces the computed signature, e.g. to send a forged request. */
  signature?: string;
}

export interface SlackHttpResponse {
  status: number;
  body: string;
  /** Response headers, names in lower case. */
  headers: Record<string, string>;
  /** Parsed body when it was JSON. */
  json?: unknown;
}

export interface SlackClientOptions {
  /** The bot's events endpoint, e.g. `http://127.0.0.1:3000/slack/events`. */
  url: string;
  signingSecret: string;
  /** How typed command text becomes Slack's `text` (pass the fake Slack to resolve `@name` mentions). */
  typing?: SlackTyping;
}

export interface SlackRequestClient {
  /** Signs and posts a raw form-encoded body. */
  send(body: string, opts?: SlackSendOptions): Promise<SlackHttpResponse>;
  /** Builds, signs and posts a slash command. */
  command(input: SlashCommandInput, opts?: SlackSendOptions): Promise<SlackHttpResponse>;
  /** Builds, signs and posts a button click. */
  click(input: BlockActionInput, opts?: SlackSendOptions): Promise<SlackHttpResponse>;
  /** Builds, signs and posts a modal submission. */
  submit(input: ViewSubmissionInput, opts?: SlackSendOptions): Promise<SlackHttpResponse>;
  /** Builds, signs and posts an Events API delivery (JSON). */
  event(input: EventInput, opts?: SlackSendOptions): Promise<SlackHttpResponse>;
}

/**
 * A client that plays Slack's side towards the bot's HTTP receiver.
 * Uses the global fetch, whose undici agent keeps connections alive between calls.
 */
export function createSlackClient(opts: SlackClientOptions): SlackRequestClient {
  const send = async (
    body: string,
    sendOpts: SlackSendOptions = {},
    contentType?: string,
  ): Promise<SlackHttpResponse> => {
    const headers: Record<string, string> = signSlackRequest(opts.signingSecret, body, sendOpts.timestamp);
    if (sendOpts.signature !== undefined) headers['x-slack-signature'] = sendOpts.signature;
    if (contentType) headers['content-type'] = contentType;
    const res = await fetch(opts.url, { method: 'POST', headers, body });
    const text = await res.text();
    const result: SlackHttpResponse = {
      status: res.status,
      body: text,
      headers: Object.fromEntries(res.headers.entries()),
    };
    const looksJson = /^\s*[[{]/.test(text) || (res.headers.get('content-type') ?? '').includes('json');
    if (text.length > 0 && looksJson) {
      try {
        result.json = JSON.parse(text);
      } catch {
        // Mislabelled body: callers still get the raw text.
      }
    }
    return result;
  };
  return {
    send,
    command: (input, sendOpts) =>
      send(slashCommandBody({ ...input, typing: input.typing ?? opts.typing }), sendOpts),
    click: (input, sendOpts) => send(blockActionsBody(input), sendOpts),
    submit: (input, sendOpts) => send(viewSubmissionBody(input), sendOpts),
    event: (input, sendOpts) => send(eventCallbackBody(input), sendOpts, 'application/json'),
  };
}
