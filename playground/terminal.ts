// A terminal Slack: you are one demo person in one channel, you type slash commands, and you see what
// the Slack client would show you. It talks to the bot exactly as Slack does (signed requests; the
// bot's Web API calls land in the fake Slack), so nothing here is a shortcut into the bot.
import { createInterface, type Interface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FakeSlack, FakeSlackMessage, SlackHttpResponse, SlackRequestClient } from '../devkit/index.js';
import { CHANNELS, type DemoPerson, STRANGER } from './demo-config.js';
import type { JobLine, JobsSnapshot, JobsWatch } from './jobs-watch.js';
import type { Mailbox } from './mail.js';
import { keyFigures } from './metrics-view.js';
import { modalInputs, renderModal, submitValues, viewSubmissionBody } from './modal.js';
import { type RenderContext, type RenderedButton, renderBody, type Styler } from './render.js';
import type { WorldCommands } from './world-commands.js';

export const PLAYGROUND_HELP = `Playground commands (everything else starting with / goes to the bot, as Slack would send it):
  /as NAME         be someone else: alice, bob (no role), carol (interrupt-catcher),
                   dave, erin (approver), ops (admin), stranger (not in the bot's config)
  /who             who is who: roles, mail, IAM users
  /channel [NAME]  read and type in #general, #alerts, #maintenance or #approvals; no NAME lists them
  /click N  (or N) click button N of a message you can see; a confirm dialog is shown and accepted
  /click LABEL     click the newest button labelled LABEL you can see (e.g. /click Approve)
  /submit [TEXT]   answer the open modal: TEXT in its field (or FIELD=TEXT), then its submit button
  /close           close the open modal without submitting it
  /mail [N]        list the mails the bot sent; show the latest (or N), decrypted: PLAYGROUND ONLY
  /wait [SECONDS]  wait until the bot's jobs are done (default: the --timeout); notices
                   scheduled for later (a maintenance window's) are listed, not waited for
  /sleep SECONDS   let time pass, showing what arrives meanwhile (e.g. those notices)
  /world           the demo world in moto: the cron host, its instance profile, today's dumps
  /world dump JOB missing|short|ok
                   make today's dump of JOB missing, half its usual size, or whole again
  /home            open your App Home tab (what concerns you now); its buttons are numbered too
  /metrics         the bot's key figures from its GET /metrics (what Prometheus scrapes)
  /help            this list; /chatops help lists the bot's own commands
  /quit            stop everything (also Ctrl-C or Ctrl-D)`;

const PLAYGROUND_COMMANDS = [
  '/as',
  '/who',
  '/channel',
  '/click',
  '/mail',
  '/wait',
  '/sleep',
  '/world',
  '/home',
  '/metrics',
  '/submit',
  '/close',
  '/help',
  '/quit',
  '/exit',
];

/** How long a click waits for the bot's answer through the response_url (Slack's own limit is 30 min). */
const CLICK_ANSWER_MS = 3_000;
/** How long `/home` waits for the bot to publish the Home tab. */
const HOME_PUBLISH_MS = 5_000;
/** Buttons on a Home tab: `channel` is this, `ts` names whose Home it is. */
const HOME = 'home';

interface ButtonRef extends RenderedButton {
  channel: string;
  ts: string;
}

export interface SessionOptions {
  slack: FakeSlack;
  client: SlackRequestClient;
  people: DemoPerson[];
  /** Slash commands the Slack app defines (manifest.yml); others are refused as Slack refuses them. */
  commands: ReadonlySet<string>;
  mailbox: Mailbox;
  jobs: JobsWatch;
  /** `/world`: looks at and changes the demo world in moto. */
  world?: WorldCommands;
  style: Styler;
  /** Default wait for /wait, in ms. */
  waitMs: number;
  /** The bot's GET /metrics, for `/metrics`. */
  metricsUrl?: string;
  print(lines: string | string[]): void;
}

export interface Session {
  prompt(): string;
  /** Runs one line; resolves 'quit' when the user asked to stop. */
  run(line: string): Promise<'quit' | undefined>;
  /** Renders whatever changed in the Slack the current user can see; one-line notices for the rest. */
  sync(): void;
  /** Waits until Slack and mail have been quiet for `quietMs` (at most `maxMs`). */
  settle(quietMs?: number, maxMs?: number): Promise<void>;
  /** Waits for jobs and reports them; returns the snapshot. */
  waitForJobs(timeoutMs: number): Promise<JobsSnapshot & { timedOut: boolean }>;
  /** Records an error: shown at once, counted for the script's exit code. */
  error(message: string): void;
  readonly errors: readonly string[];
  /** Slash commands and clicks sent. */
  readonly steps: number;
  /** Marks activity (e.g. a mail arrived), for settle(). */
  touch(): void;
  completions(line: string): [string[], string];
  dispose(): void;
}

function dmOf(slackId: string): string {
  return `D${slackId.slice(1)}`;
}

export function createSession(opts: SessionOptions): Session {
  const { slack, style } = opts;
  const channelNames = new Map(Object.entries(CHANNELS).map(([name, id]) => [id, name]));
  const everyone: { name: string; slack: string }[] = [...opts.people, STRANGER];
  let user: { name: string; slack: string } = everyone[0] ?? STRANGER;
  let channel = CHANNELS.general as string;
  const rendered = new Map<string, number>();
  /** What each message looked like when last shown (buttons unnumbered), to skip edits that change nothing. */
  const looked = new Map<string, string>();
  const noticed = new Set<string>();
  const buttons = new Map<number, ButtonRef>();
  const reportedJobs = new Set<string>();
  /** `channel\nthread_ts\ntext` of the replies the bot also sent to the channel (reply_broadcast). */
  const broadcasts = new Set<string>();
  const errors: string[] = [];
  let buttonSeq = 0;
  let steps = 0;
  let lastActivity = Date.now();
  /** Who clicked last: a modal the bot opens (views.open) opens in front of them. */
  let lastClicker: { name: string; slack: string } | undefined;
  let modal: { view: unknown; viewId: string; user: { name: string; slack: string } } | undefined;
  let modalSeq = 0;
  /** While /home (or a click on Home) waits for its own publish, that publish is not announced. */
  let showingHome = false;
  /** People told their Home changed since they last looked. */
  const homeUpdated = new Set<string>();

  const userName = (id: string) =>
    id === slack.botUserId ? 'chatops' : everyone.find((p) => p.slack === id)?.name;
  const placeOf = (ch: string): string => {
    const named = channelNames.get(ch);
    if (named) return `#${named}`;
    if (ch.startsWith('D')) {
      const owner = userName(`U${ch.slice(1)}`) ?? ch;
      return ch === dmOf(user.slack) ? 'DM' : `DM of ${owner}`;
    }
    return ch;
  };
  const names = {
    user: userName,
    channel: (id: string) =>
      channelNames.get(id) ?? (id.startsWith('D') ? `dm-${userName(`U${id.slice(1)}`)}` : undefined),
  };
  const visible = (m: Pick<FakeSlackMessage, 'channel' | 'ephemeral' | 'user'>) =>
    (m.channel === channel || m.channel === dmOf(user.slack)) && (!m.ephemeral || m.user === user.slack);

  const renderContext = (at: { channel: string; ts: string }): RenderContext => ({
    names,
    style,
    numberButton(b) {
      buttonSeq += 1;
      buttons.set(buttonSeq, { ...b, ...at });
      return buttonSeq;
    },
  });

  const header = (place: string, tags: string[]) =>
    `${style('bold', `[${place}]`)} ${style('cyan', 'chatops')}${tags.length ? ` ${style('dim', tags.join(' '))}` : ''}`;

  const firstLine = (m: FakeSlackMessage) => {
    const t = (m.text || '').split('\n')[0] ?? '';
    return t.length > 70 ? `${t.slice(0, 69)}…` : t;
  };

  /** For a thread reply: which thread, and whether it was also sent to the channel. */
  const threadTag = (m: FakeSlackMessage): string => {
    const parent = slack.messages(m.channel).find((p) => p.ts === m.thread_ts);
    const also = broadcasts.has(`${m.channel}\n${m.thread_ts}\n${m.text}`)
      ? ', also sent to the channel'
      : '';
    return parent ? `↳ reply in the thread of "${firstLine(parent)}"${also}` : `↳ reply in a thread${also}`;
  };

  const sync = () => {
    const out: string[] = [];
    for (const m of slack.messages()) {
      const key = `${m.channel}\n${m.ts}`;
      const seen = rendered.get(key);
      if (seen !== undefined && seen >= m.edits) continue;
      if (visible(m)) {
        // The bot re-renders a card after each step; an edit that changes nothing visible is not shown again.
        const look = renderBody(m, { names, style, numberButton: () => 0 }).join('\n');
        if (seen !== undefined && looked.get(key) === look) {
          rendered.set(key, m.edits);
          continue;
        }
        looked.set(key, look);
        const tags = [
          ...(m.ephemeral ? ['(only visible to you)'] : []),
          ...(m.thread_ts ? [threadTag(m)] : []),
          ...(seen !== undefined || m.edits > 0 ? ['[edited]'] : []),
        ];
        const body = renderBody(m, renderContext(m));
        // A reply is drawn inside its thread, so it cannot be mistaken for a new message in the channel.
        const bar = style('dim', '│');
        out.push(
          header(placeOf(m.channel), tags),
          ...(m.thread_ts ? body.map((l) => `  ${bar} ${l.slice(2)}`) : body),
        );
        rendered.set(key, m.edits);
      } else if (seen === undefined && !noticed.has(key)) {
        noticed.add(key);
        if (m.ephemeral) continue;
        const what = m.thread_ts ? 'new reply in a thread' : 'new message';
        const where = m.channel.startsWith('D')
          ? `new DM to ${userName(`U${m.channel.slice(1)}`) ?? m.channel} (/as ${userName(`U${m.channel.slice(1)}`) ?? '…'} to read it)`
          : `${what} in ${placeOf(m.channel)} (/channel ${channelNames.get(m.channel) ?? m.channel} to read it)`;
        out.push(style('dim', `· ${where}: "${firstLine(m)}"`));
      }
    }
    if (out.length) opts.print(out);
  };

  // The fake Slack applies a call to its store right after recording it: look on the next turn.
  const unsubscribe = slack.onCall((call) => {
    lastActivity = Date.now();
    const a = call.args;
    if (
      call.method === 'chat.postMessage' &&
      a.thread_ts &&
      (a.reply_broadcast === true || a.reply_broadcast === 'true')
    ) {
      broadcasts.add(`${String(a.channel)}\n${String(a.thread_ts)}\n${String(a.text ?? '')}`);
    }
    if (call.method === 'views.publish' && a.user_id === user.slack && !showingHome) {
      // Once until they look again: a refresh follows every change.
      if (!homeUpdated.has(user.slack)) {
        homeUpdated.add(user.slack);
        setImmediate(() => opts.print(style('dim', '· your Home tab was updated (/home to see it)')));
      }
    }
    if (call.method === 'views.open' && a.view) {
      modalSeq += 1;
      modal = { view: a.view, viewId: `V0PLAY${modalSeq}`, user: lastClicker ?? user };
      const opened = modal;
      setImmediate(() => showModal(opened));
    }
    setImmediate(sync);
  });

  const showModal = (m: NonNullable<typeof modal>) => {
    if (modal !== m) return;
    const ctx = renderContext({ channel, ts: 'modal' });
    opts.print([
      `${style('bold', '[modal]')} ${style('cyan', 'chatops')} ${style('dim', `(open in front of ${m.user.name})`)}`,
      ...renderModal(m.view, ctx).map((l) => `  ${l}`),
    ]);
  };

  const error = (message: string) => {
    errors.push(message);
    opts.print(style('red', `✗ ${message}`));
  };

  const showReply = (res: SlackHttpResponse) => {
    const body = res.json as { text?: string; blocks?: unknown[]; response_type?: string } | undefined;
    if (!body || (!body.text && !body.blocks)) return;
    const tags = body.response_type === 'in_channel' ? [] : ['(only visible to you)'];
    opts.print([
      header(placeOf(channel), tags),
      ...renderBody(body, renderContext({ channel, ts: 'ephemeral' })),
    ]);
    if (/an internal error occurred/.test(body.text ?? '')) error('the bot answered with an internal error');
  };

  const slash = async (command: string, text: string) => {
    if (opts.commands.size > 0 && !opts.commands.has(command)) {
      error(
        `${command} is not a valid command (the Slack app, manifest.yml, defines ${[...opts.commands].join(', ')}); /help lists the playground's own`,
      );
      return;
    }
    steps += 1;
    const started = Date.now();
    let res: SlackHttpResponse;
    try {
      res = await opts.client.command({
        command,
        text,
        userId: user.slack,
        userName: user.name,
        channelId: channel,
        responseUrl: slack.responseUrl(channel, user.slack),
      });
    } catch (err) {
      error(`could not reach the bot: ${(err as Error).message}`);
      return;
    }
    const took = Date.now() - started;
    if (res.status !== 200) {
      error(`${command} failed: the bot answered HTTP ${res.status} ${res.body.slice(0, 200)}`);
      return;
    }
    if (took > 3000)
      error(`the bot took ${took} ms to answer ${command}; Slack gives up after 3 s (operation_timeout)`);
    showReply(res);
  };

  /** The newest button labelled `label` (any case) on a message the current user can see. */
  const buttonLabelled = (label: string): number | undefined => {
    const want = label.trim().toLowerCase();
    for (const n of [...buttons.keys()].sort((x, y) => y - x)) {
      const b = buttons.get(n) as ButtonRef;
      if (b.label.toLowerCase() !== want || b.ts === 'ephemeral' || b.ts === 'modal') continue;
      // A Home tab's buttons: only on the current person's own Home.
      if (b.channel === HOME) {
        if (b.ts === `${HOME}:${user.slack}`) return n;
        continue;
      }
      const msg = slack.messages(b.channel).find((m) => m.ts === b.ts);
      if (msg && visible(msg)) return n;
    }
    return undefined;
  };

  const click = async (n: number) => {
    const b = buttons.get(n);
    if (!b) {
      error(
        `there is no button ${n}${buttonSeq ? ` (buttons 1 to ${buttonSeq} have been shown)` : ' (no buttons shown yet)'}`,
      );
      return;
    }
    if (b.ts === 'ephemeral') {
      error(
        `button ${n} is on a reply that only Slack's client keeps; the bot's ack replies have no message to click on`,
      );
      return;
    }
    if (b.channel === HOME) {
      await clickHome(n, b);
      return;
    }
    const msg = slack.messages(b.channel).find((m) => m.ts === b.ts);
    if (!msg) {
      error(`button ${n}: its message was deleted`);
      return;
    }
    if (!visible(msg)) {
      error(
        `button ${n} is in ${placeOf(b.channel)}, which ${user.name} cannot see from here; switch with /channel or /as`,
      );
      return;
    }
    steps += 1;
    opts.print(style('dim', `(${user.name} clicks "${b.label}")`));
    if (b.confirm) {
      // Slack asks first; the playground shows the dialog and accepts it, as a script cannot answer.
      opts.print(
        style(
          'dim',
          `(dialog "${b.confirm.title}": ${b.confirm.text} ${user.name} presses "${b.confirm.confirm}")`,
        ),
      );
    }
    lastClicker = user;
    const responseUrl = slack.responseUrl(b.channel, user.slack, b.ts);
    let res: SlackHttpResponse;
    try {
      res = await opts.client.click({
        userId: user.slack,
        userName: user.name,
        actionId: b.actionId,
        value: b.value,
        ...(b.blockId ? { blockId: b.blockId } : {}),
        channelId: b.channel,
        messageTs: b.ts,
        responseUrl,
      });
    } catch (err) {
      error(`could not reach the bot: ${(err as Error).message}`);
      return;
    }
    if (res.status !== 200) {
      error(`clicking "${b.label}" failed: the bot answered HTTP ${res.status} ${res.body.slice(0, 200)}`);
      return;
    }
    showReply(res);
    // The bot acks at once and answers the clicker afterwards through the response_url: wait for that
    // answer, so it shows to the one who clicked even when the next line is an /as.
    await slack
      .waitFor((c) => c.method === 'response_url' && c.url === responseUrl, CLICK_ANSWER_MS)
      .then(() => settle(150, 1000))
      .catch(() => undefined);
  };

  /** Publishes (and waits for) the Home tab of the current person, then draws it with numbered buttons. */
  const home = async (send: () => Promise<SlackHttpResponse>, what: string) => {
    const before = slack.callsTo('views.publish').filter((c) => c.args.user_id === user.slack).length;
    showingHome = true;
    try {
      const res = await send();
      if (res.status !== 200) {
        error(`${what} failed: the bot answered HTTP ${res.status} ${res.body.slice(0, 200)}`);
        return;
      }
      const deadline = Date.now() + HOME_PUBLISH_MS;
      let call: ReturnType<FakeSlack['callsTo']>[number] | undefined;
      while (!call && Date.now() < deadline) {
        call = slack.callsTo('views.publish').filter((c) => c.args.user_id === user.slack)[before];
        if (!call) await sleep(50);
      }
      if (!call) {
        error(`${what}: the bot published no Home tab for ${user.name} within ${HOME_PUBLISH_MS / 1000} s`);
        return;
      }
      if (call.error) error(`Slack refused the Home tab: ${call.error}`);
      homeUpdated.delete(user.slack);
      const view = call.args.view as { blocks?: unknown[] } | undefined;
      opts.print([
        `${style('bold', `[Home of ${user.name}]`)} ${style('cyan', 'chatops')}`,
        ...renderBody(
          { blocks: view?.blocks ?? [] },
          renderContext({ channel: HOME, ts: `${HOME}:${user.slack}` }),
        ),
      ]);
    } finally {
      showingHome = false;
    }
  };

  const openHome = async () => {
    steps += 1;
    opts.print(style('dim', `(${user.name} opens the app's Home tab)`));
    await home(
      () =>
        opts.client.event({
          event: { type: 'app_home_opened', user: user.slack, channel: dmOf(user.slack), tab: 'home' },
        }),
      'opening Home',
    );
  };

  /** A click on a Home button: no channel, message or response URL; the bot answers by DM and republishes Home. */
  const clickHome = async (n: number, b: ButtonRef) => {
    if (b.ts !== `${HOME}:${user.slack}`) {
      error(`button ${n} is on someone else's Home tab; /home shows yours`);
      return;
    }
    steps += 1;
    opts.print(style('dim', `(${user.name} clicks "${b.label}" on the Home tab)`));
    if (b.confirm) {
      opts.print(
        style(
          'dim',
          `(dialog "${b.confirm.title}": ${b.confirm.text} ${user.name} presses "${b.confirm.confirm}")`,
        ),
      );
    }
    lastClicker = user;
    await home(
      () =>
        opts.client.click({
          userId: user.slack,
          userName: user.name,
          actionId: b.actionId,
          value: b.value,
          ...(b.blockId ? { blockId: b.blockId } : {}),
          home: {},
        }),
      `clicking "${b.label}"`,
    );
    await settle(150, 1000);
  };

  const showMetrics = async () => {
    if (!opts.metricsUrl) {
      error('/metrics is not available in this session');
      return;
    }
    try {
      const res = await fetch(opts.metricsUrl, { signal: AbortSignal.timeout(5_000) });
      const text = await res.text();
      if (res.status !== 200) {
        error(`GET /metrics answered HTTP ${res.status}: ${text.slice(0, 200)}`);
        return;
      }
      opts.print([...keyFigures(text, Date.now()), style('dim', `  (all of it: curl ${opts.metricsUrl})`)]);
    } catch (err) {
      error(`could not read ${opts.metricsUrl}: ${(err as Error).message}`);
    }
  };

  const submit = async (typed: string) => {
    const m = modal;
    if (!m) {
      error('no modal is open: a button that opens one (e.g. Reject) opens it');
      return;
    }
    if (m.user.slack !== user.slack) {
      error(`the modal is open in front of ${m.user.name}: /as ${m.user.name} to answer it`);
      return;
    }
    let values: Record<string, string>;
    try {
      values = submitValues(modalInputs(m.view), typed);
    } catch (err) {
      error((err as Error).message);
      return;
    }
    steps += 1;
    const view = m.view as { submit?: { text?: string } };
    opts.print(style('dim', `(${user.name} presses "${view.submit?.text ?? 'Submit'}")`));
    let res: SlackHttpResponse;
    try {
      res = await opts.client.send(
        viewSubmissionBody({
          view: m.view,
          viewId: m.viewId,
          user: { id: user.slack, name: user.name },
          values,
        }),
      );
    } catch (err) {
      error(`could not reach the bot: ${(err as Error).message}`);
      return;
    }
    if (res.status !== 200) {
      error(`submitting the modal failed: the bot answered HTTP ${res.status} ${res.body.slice(0, 200)}`);
      return;
    }
    const body = res.json as { response_action?: string; errors?: Record<string, string> } | undefined;
    if (body?.response_action === 'errors' && body.errors) {
      // The bot refused the input: Slack shows it under the field and keeps the modal open.
      opts.print(
        Object.entries(body.errors).map(([field, why]) =>
          style('yellow', `  ⚠ ${field}: ${why} (the modal stays open)`),
        ),
      );
      return;
    }
    if (modal === m) modal = undefined;
    opts.print(style('dim', '(the modal closes)'));
  };

  const who = () => {
    const lines = opts.people.map((p) => {
      const iam = Object.entries(p.iamUsers)
        .map(([a, u]) => `${a}:${u}`)
        .join(' ');
      return `  ${p.name === user.name ? '▸' : ' '} ${p.name.padEnd(6)} ${p.slack.padEnd(10)} ${(p.roles.join(', ') || 'no role').padEnd(18)} ${p.email.padEnd(18)} IAM ${iam}`;
    });
    lines.push(`    ${STRANGER.name.padEnd(6)} ${STRANGER.slack.padEnd(10)} not in the bot's config`);
    return ['People (Slack id, roles, mail, IAM user per account):', ...lines];
  };

  const jobLine = (j: JobLine) => `${j.queue} ${j.name}: ${j.state}${j.detail ? `, ${j.detail}` : ''}`;

  const waitForJobs = async (timeoutMs: number) => {
    const snap = await opts.jobs.waitSettled(timeoutMs);
    await settle();
    const lines: string[] = [];
    for (const j of snap.failedUnexpectedly) {
      if (reportedJobs.has(`${j.queue}/${j.id}`)) continue;
      reportedJobs.add(`${j.queue}/${j.id}`);
      error(`job failed: ${jobLine(j)}`);
    }
    for (const j of snap.stopped) {
      if (reportedJobs.has(`${j.queue}/${j.id}`)) continue;
      reportedJobs.add(`${j.queue}/${j.id}`);
      lines.push(style('dim', `· job stopped for a reason shown to the requester: ${jobLine(j)}`));
    }
    for (const j of snap.watching) {
      lines.push(style('dim', `· job still watching AWS (settled for now): ${jobLine(j)}`));
    }
    for (const j of snap.scheduled) {
      // Listed once: each /wait would otherwise repeat a window's notices until they are due.
      if (reportedJobs.has(`${j.queue}/${j.id}`)) continue;
      reportedJobs.add(`${j.queue}/${j.id}`);
      lines.push(style('dim', `· scheduled for later (/sleep to see it arrive): ${jobLine(j)}`));
    }
    if (snap.timedOut) {
      error(`jobs still busy after ${Math.round(timeoutMs / 1000)} s: ${snap.busy.map(jobLine).join('; ')}`);
    }
    if (lines.length) opts.print(lines);
    return snap;
  };

  const settle = async (quietMs = 300, maxMs = 3000) => {
    const deadline = Date.now() + maxMs;
    while (Date.now() - lastActivity < quietMs && Date.now() < deadline) await sleep(50);
    sync();
  };

  const playground = async (cmd: string, args: string[]): Promise<'quit' | undefined> => {
    switch (cmd) {
      case '/help':
        opts.print(PLAYGROUND_HELP);
        return undefined;
      case '/quit':
      case '/exit':
        return 'quit';
      case '/who':
        opts.print(who());
        return undefined;
      case '/as': {
        const name = (args[0] ?? '').toLowerCase();
        const next =
          everyone.find((p) => p.name === name) ??
          (/^[UW][A-Z0-9]{2,}$/.test(args[0] ?? '')
            ? { name: args[0] as string, slack: args[0] as string }
            : undefined);
        if (!next) {
          error(`/as needs one of ${everyone.map((p) => p.name).join(', ')} (or a Slack user id like U0NEW)`);
          return undefined;
        }
        user = next;
        opts.print(style('dim', `(you are now ${user.name}, ${user.slack}, in ${placeOf(channel)})`));
        sync();
        return undefined;
      }
      case '/channel': {
        if (!args[0]) {
          const lines = Object.entries(CHANNELS).map(([name, id]) => {
            const unseen = slack
              .messages(id)
              .filter((m) => !m.ephemeral && (rendered.get(`${m.channel}\n${m.ts}`) ?? -1) < m.edits).length;
            return `  ${id === channel ? '▸' : ' '} #${name.padEnd(12)} ${unseen ? `${unseen} unread` : ''}`;
          });
          opts.print(['Channels (/channel NAME to switch; your DM with the bot is always shown):', ...lines]);
          return undefined;
        }
        const name = args[0].replace(/^#/, '').toLowerCase();
        const id = CHANNELS[name];
        if (!id) {
          error(
            `no channel #${name}; there are ${Object.keys(CHANNELS)
              .map((c) => `#${c}`)
              .join(', ')}`,
          );
          return undefined;
        }
        channel = id;
        opts.print(style('dim', `(${user.name} is now in #${name})`));
        sync();
        return undefined;
      }
      case '/click': {
        const label = args.join(' ');
        if (/^\d+$/.test(label)) {
          await click(Number(label));
          return undefined;
        }
        if (!label) {
          error('/click needs a button number or label, e.g. /click 1 or /click Approve');
          return undefined;
        }
        const n = buttonLabelled(label);
        if (n === undefined) {
          error(`no button "${label}" on a message ${user.name} can see in ${placeOf(channel)}`);
          return undefined;
        }
        await click(n);
        return undefined;
      }
      case '/submit':
        await submit(args.join(' '));
        return undefined;
      case '/close': {
        if (!modal) {
          error('no modal is open');
          return undefined;
        }
        const view = modal.view as { close?: { text?: string } };
        opts.print(
          style(
            'dim',
            `(${user.name} presses "${view.close?.text ?? 'Cancel'}": the modal closes, nothing is sent)`,
          ),
        );
        modal = undefined;
        return undefined;
      }
      case '/world': {
        if (!opts.world) {
          error('/world is not available in this session');
          return undefined;
        }
        try {
          opts.print(await opts.world.run(args));
        } catch (err) {
          error((err as Error).message);
        }
        return undefined;
      }
      case '/home':
        await openHome();
        return undefined;
      case '/metrics':
        await showMetrics();
        return undefined;
      case '/mail': {
        const n = args[0] === undefined ? undefined : Number(args[0]);
        if (n !== undefined && (!Number.isInteger(n) || n < 1)) {
          error('/mail takes a mail number, e.g. /mail 1');
          return undefined;
        }
        opts.print(await opts.mailbox.show(n));
        return undefined;
      }
      case '/wait': {
        const s = args[0] === undefined ? opts.waitMs / 1000 : Number(args[0]);
        if (!Number.isFinite(s) || s <= 0) {
          error('/wait takes a number of seconds, e.g. /wait 30');
          return undefined;
        }
        const snap = await waitForJobs(s * 1000);
        if (!snap.timedOut) opts.print(style('dim', `(jobs settled: ${snap.completed} completed so far)`));
        return undefined;
      }
      case '/sleep': {
        const s = Number(args[0]);
        if (!Number.isFinite(s) || s <= 0 || s > 3600) {
          error('/sleep takes a number of seconds up to 3600, e.g. /sleep 65');
          return undefined;
        }
        opts.print(style('dim', `(${s} s pass; what the bot posts meanwhile shows as it arrives…)`));
        await sleep(s * 1000);
        return undefined;
      }
      default:
        return undefined;
    }
  };

  return {
    prompt: () => `${user.name}@${placeOf(channel)}> `,
    async run(raw) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return undefined;
      if (/^\d+$/.test(line)) {
        await click(Number(line));
        return undefined;
      }
      if (!line.startsWith('/')) {
        opts.print(
          style('dim', '(the bot answers slash commands and buttons, not chat: try /chatops help, or /help)'),
        );
        return undefined;
      }
      const space = line.search(/\s/);
      const cmd = (space === -1 ? line : line.slice(0, space)).toLowerCase();
      const text = space === -1 ? '' : line.slice(space + 1).trim();
      if (PLAYGROUND_COMMANDS.includes(cmd)) return playground(cmd, text.split(/\s+/).filter(Boolean));
      await slash(cmd, text);
      return undefined;
    },
    sync,
    settle,
    waitForJobs,
    error,
    get errors() {
      return errors;
    },
    get steps() {
      return steps;
    },
    touch() {
      lastActivity = Date.now();
    },
    completions(line) {
      const words = line.split(/\s+/);
      if (words.length <= 1) {
        const all = [...PLAYGROUND_COMMANDS, ...opts.commands].sort();
        const hits = all.filter((c) => c.startsWith(line));
        return [hits.length ? hits : all, line];
      }
      const last = words[words.length - 1] ?? '';
      const pool =
        words[0] === '/as'
          ? everyone.map((p) => p.name)
          : words[0] === '/channel'
            ? Object.keys(CHANNELS)
            : [];
      return [pool.filter((p) => p.startsWith(last)), last];
    },
    dispose() {
      unsubscribe();
    },
  };
}

/** Output that keeps the prompt intact while messages arrive in the background. */
export interface Console {
  print(lines: string | string[]): void;
  /** Attaches a readline prompt; output then redraws it. */
  attach(rl: Interface, session: Session): void;
  /** Back to plain output once the prompt is gone. */
  detach(): void;
  /** While busy (a command runs), output does not redraw the prompt. */
  setBusy(busy: boolean): void;
}

export function createConsole(out: NodeJS.WriteStream = process.stdout): Console {
  let rl: Interface | undefined;
  let session: Session | undefined;
  let busy = false;
  return {
    print(lines) {
      const text = Array.isArray(lines) ? lines.join('\n') : lines;
      if (rl && !busy && out.isTTY) {
        out.write('\r\x1b[2K');
        out.write(`${text}\n`);
        if (session) rl.setPrompt(session.prompt());
        rl.prompt(true);
      } else {
        out.write(`${text}\n`);
      }
    },
    attach(r, s) {
      rl = r;
      session = s;
    },
    detach() {
      rl = undefined;
      session = undefined;
    },
    setBusy(b) {
      busy = b;
    },
  };
}

/** The interactive loop: one line at a time, in order, until /quit, Ctrl-C or Ctrl-D. */
export function runRepl(session: Session, console: Console): Promise<void> {
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    completer: (line: string) => session.completions(line),
    historySize: 200,
  });
  console.attach(rl, session);
  return new Promise((resolve) => {
    let queue = Promise.resolve();
    let done = false;
    let closed = false;
    const finish = () => {
      if (done) return;
      done = true;
      rl.close();
      resolve();
    };
    rl.on('line', (line) => {
      queue = queue.then(async () => {
        if (done) return;
        console.setBusy(true);
        try {
          const r = await session.run(line);
          if (r === 'quit') {
            finish();
            return;
          }
          await session.settle(200, 1500);
        } catch (err) {
          session.error(`playground error: ${(err as Error).message}`);
        } finally {
          console.setBusy(false);
        }
        if (closed) return;
        rl.setPrompt(session.prompt());
        rl.prompt();
      });
    });
    rl.on('SIGINT', finish);
    // End of input (Ctrl-D, or the end of piped input): finish what was typed first.
    rl.on('close', () => {
      closed = true;
      console.detach();
      void queue.then(finish);
    });
    rl.setPrompt(session.prompt());
    rl.prompt();
  });
}

/** Runs a script's lines in order, echoing each like a transcript; stops early on /quit. */
export async function runScript(
  session: Session,
  lines: string[],
  console: Console,
  shouldStop: () => boolean,
): Promise<void> {
  for (const raw of lines) {
    if (shouldStop()) return;
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    console.print(`${session.prompt()}${line}`);
    try {
      const r = await session.run(line);
      if (r === 'quit') return;
    } catch (err) {
      session.error(`playground error: ${(err as Error).message}`);
    }
    await session.settle();
  }
}
