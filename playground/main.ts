// npm run playground: the whole bot on this machine, with a terminal in place of Slack and moto in
// place of AWS. Starts Redis (or uses yours), moto, a loopback SMTP server and a fake Slack Web API,
// seeds the world of the seeds, runs the unchanged bot as its own process, and stops it all at the end.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  type ChatopsProcess,
  createSlackClient,
  type EnsuredRedis,
  ensureRedis,
  type FakeSlack,
  followLog,
  freePort,
  type MotoServer,
  type SmtpCapture,
  startChatopsProcess,
  startFakeSlack,
  startMoto,
  startSmtpCapture,
} from '../devkit/index.js';
import { createAwsClients } from '../infra/aws.js';
import { createRedis } from '../infra/redis.js';
import { CHANNELS, ensureKeys, PEOPLE, writeDemoConfig } from './demo-config.js';
import { type JobsWatch, watchJobs } from './jobs-watch.js';
import { createMailbox } from './mail.js';
import { makeStyler } from './render.js';
import { createConsole, createSession, runRepl, runScript, type Session } from './terminal.js';
import { seedWorld } from './world.js';
import { createWorldCommands, type WorldCommands } from './world-commands.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: npm run playground [-- OPTIONS]

The whole bot on this machine: no Slack workspace, no AWS account. You type slash commands as a
demo person; the bot runs unchanged (HTTP, signature checks on) against Redis, a seeded moto_server,
a loopback SMTP server and a fake Slack Web API. Type /help inside for the playground's commands.

Options:
  --script FILE    run the lines of FILE (or - for stdin) instead of reading the keyboard: each line is
                   a slash command or a playground command (/as, /channel, /click, /submit, /mail,
                   /wait, /sleep, /world…), # starts a comment. After the last line it waits for the jobs the script
                   started; notices scheduled for later (a maintenance window's) are listed, not
                   waited for: /sleep lets them arrive.
  --timeout SEC    how long --script waits for those jobs, and /wait by default (default 60)
  --dir DIR        where mail/, keys/ and run/ go (default: playground/ in the repository)
  --keep           with --script: keep everything running afterwards until Ctrl-C or SIGTERM
                   (then exit with the script's status), e.g. to inspect moto or Redis
  -h, --help       this text

Uses REDIS_URL if a Redis answers there (keys under a per-run prefix, removed at exit), otherwise
starts a private redis-server. Uses AWS_ENDPOINT_URL if it is a moto server (seeding what is missing),
otherwise starts a private moto_server. Writes <dir>/run/state.json with every endpoint while running.

With --script the exit status is 1 when any step errors:
  - a slash command the Slack app does not define (manifest.yml), or a playground command misused
    (unknown person or channel, a button number that was not shown);
  - the bot answered a command or click with a non-200 status, took over 3 s, or said
    "an internal error occurred";
  - the bot logged an error (level error or fatal in run/bot.log), or stopped;
  - a job failed after using all its attempts, or jobs were still busy at the timeout.
Not errors, because they are the bot working as designed: denials, usage help, a job that stopped at
once for a reason shown to the requester, and a job parked until a later status check of a long AWS
process (moto never finishes a Data Pipeline run): its state is printed.
Exit status: 0 all steps fine, 1 a step errored, 2 the playground could not start, 130/143 interrupted.`;

interface Options {
  script?: string;
  timeoutMs: number;
  dir: string;
  keep: boolean;
}

function parseArgs(argv: string[]): Options | 'help' {
  const opts: Options = { timeoutMs: 60_000, dir: join(REPO_ROOT, 'playground'), keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '-h' || a === '--help') return 'help';
    else if (a === '--script') opts.script = value();
    else if (a === '--timeout') {
      const s = Number(value());
      if (!Number.isFinite(s) || s <= 0) throw new Error('--timeout takes a number of seconds');
      opts.timeoutMs = s * 1000;
    } else if (a === '--dir') opts.dir = resolve(value());
    else if (a === '--keep') opts.keep = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (opts.keep && !opts.script) throw new Error('--keep only makes sense with --script');
  return opts;
}

/** The slash commands the Slack app defines, as Slack only forwards those. */
async function manifestCommands(): Promise<Set<string>> {
  try {
    const manifest = parseYaml(await readFile(join(REPO_ROOT, 'manifest.yml'), 'utf8')) as {
      features?: { slash_commands?: { command?: string }[] };
    };
    return new Set((manifest.features?.slash_commands ?? []).flatMap((c) => (c.command ? [c.command] : [])));
  } catch {
    return new Set();
  }
}

async function isMoto(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Deletes every key of this run from a Redis the playground did not start. */
async function deleteKeys(url: string, prefix: string): Promise<number> {
  const redis = createRedis(url, { name: 'playground-cleanup' });
  redis.on('error', () => {});
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  return deleted;
}

async function main(): Promise<number> {
  let opts: Options | 'help';
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`playground: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const options = opts;
  const interactive = !options.script;
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  const style = makeStyler(color);
  const console = createConsole();
  const say = (s: string | string[]) => console.print(s);
  const show = (p: string) => {
    const r = relative(process.cwd(), p);
    return r.startsWith('..') ? p : r || '.';
  };
  // The SDK's notice about future Node versions is about the user's runtime, not the demo; the bot's
  // own process still prints it, into its log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const dirs = {
    base: options.dir,
    mail: join(options.dir, 'mail'),
    keys: join(options.dir, 'keys'),
    run: join(options.dir, 'run'),
  };
  const statePath = join(dirs.run, 'state.json');
  const prefix = `playground-${process.pid}-${Date.now().toString(36)}`;

  // Everything started, stopped in reverse order of need: the bot first, its dependencies after.
  let redis: EnsuredRedis | undefined;
  let moto: MotoServer | undefined;
  let smtp: SmtpCapture | undefined;
  let slack: FakeSlack | undefined;
  let bot: ChatopsProcess | undefined;
  let jobs: JobsWatch | undefined;
  let session: Session | undefined;
  let worldCommands: WorldCommands | undefined;
  let logFollower: { stop(): void } | undefined;
  let stopping: Promise<void> | undefined;
  let interrupted: number | undefined;
  let wroteState = false;

  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      const stopped: string[] = [];
      const step = async (what: string, fn: () => Promise<unknown>) => {
        try {
          await fn();
          stopped.push(what);
        } catch (err) {
          process.stderr.write(`playground: stopping ${what} failed: ${(err as Error).message}\n`);
        }
      };
      logFollower?.stop();
      session?.dispose();
      if (bot) await step('bot', () => (bot as ChatopsProcess).stop());
      if (jobs) await step('queue reader', () => (jobs as JobsWatch).close());
      if (redis && !redis.started) {
        const url = redis.url;
        await step(`this run's keys in your Redis`, () => deleteKeys(url, prefix));
      }
      if (moto) await step('moto_server', () => (moto as MotoServer).close());
      if (redis?.started) await step('redis-server', () => (redis as EnsuredRedis).close());
      if (smtp) await step('SMTP', () => (smtp as SmtpCapture).close());
      if (slack) await step('fake Slack', () => (slack as FakeSlack).close());
      if (wroteState) await rm(statePath, { force: true });
      if (stopped.length) say(style('dim', `Stopped: ${stopped.join(', ')}. Nothing is left running.`));
    })();
    return stopping;
  };

  let keepWaiter: (() => void) | undefined;
  let scriptStatus: number | undefined;
  let started = false;
  let interruptedAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted !== undefined) {
      // tsx relays the terminal's SIGINT, so one Ctrl-C can arrive twice; a later one means "stop waiting"
      // (children are killed as this process exits).
      if (Date.now() - interruptedAt > 1_500) process.exit(signal === 'SIGINT' ? 130 : 143);
      return;
    }
    interrupted = signal === 'SIGINT' ? 130 : 143;
    interruptedAt = Date.now();
    // During start-up, the start-up code notices at its next step and stops what it started.
    if (!started) return;
    if (keepWaiter) {
      keepWaiter();
      return;
    }
    say(style('dim', `\n(${signal}: stopping everything…)`));
    void stopAll().then(() => process.exit(interrupted));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // When stdout is a pipe whose reader died (`… | tee log` and Ctrl-C), writes fail with EPIPE:
  // ignore that, so the clean-up still stops everything and deletes the run's keys.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  const checkpoint = () => {
    if (interrupted !== undefined) throw new Error('interrupted');
  };

  const startup = async () => {
    if (existsSync(statePath)) {
      const previous = JSON.parse(await readFile(statePath, 'utf8').catch(() => '{}')) as { pid?: number };
      if (previous.pid && previous.pid !== process.pid && pidAlive(previous.pid)) {
        throw new Error(
          `another playground (pid ${previous.pid}) is running with ${show(dirs.base)}; stop it, or use --dir`,
        );
      }
    }
    await mkdir(dirs.run, { recursive: true });
    say(
      style('bold', 'chatops playground: the whole bot on this machine, no Slack workspace, no AWS account'),
    );

    try {
      redis = await ensureRedis(process.env.REDIS_URL);
      checkpoint();
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\n(or point REDIS_URL at a Redis you run, e.g. docker run -p 6379:6379 redis)`,
      );
    }
    say(
      `  redis  ${redis.started ? `private redis-server ${redis.url}` : `${redis.url} (yours: keys under ${prefix}:, removed at exit)`}`,
    );

    let motoUrl = process.env.AWS_ENDPOINT_URL;
    if (motoUrl) {
      if (!(await isMoto(motoUrl))) {
        throw new Error(
          `AWS_ENDPOINT_URL=${motoUrl} is not a moto server (no /moto-api/): the playground only seeds moto. Unset it to let the playground start its own.`,
        );
      }
    } else {
      try {
        moto = await startMoto();
      } catch (err) {
        throw new Error(
          `${(err as Error).message}\n(it needs Python 3; or set AWS_ENDPOINT_URL to a moto server you run)`,
        );
      }
      motoUrl = moto.url;
      checkpoint();
    }
    // The playground's own AWS calls (seeding) go to moto with moto's test credentials.
    process.env.AWS_ENDPOINT_URL = motoUrl;
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    process.env.AWS_REGION = 'us-east-1';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    const keys = await ensureKeys(dirs.keys, PEOPLE);
    checkpoint();
    const world = await seedWorld({
      endpoint: motoUrl,
      people: PEOPLE,
      policyPath: join(REPO_ROOT, 'infra/iam/chatops-bot-policy.json'),
    });
    say(`  aws    ${moto ? 'private' : 'your'} moto_server ${motoUrl}, seeded:`);
    say(world.summary.map((l) => `           ${l}`));
    const { path: configPath, config } = await writeDemoConfig({
      runDir: dirs.run,
      keys,
      instanceId: world.instanceId,
    });
    checkpoint();
    worldCommands = createWorldCommands({ config, aws: createAwsClients(config) });

    const mailbox = createMailbox({ dir: dirs.mail, people: PEOPLE, keys, style });
    smtp = await startSmtpCapture({
      saveDir: dirs.mail,
      onMessage: (mail) => {
        session?.touch();
        void mailbox
          .add(mail)
          .then((saved) =>
            say(
              style(
                'yellow',
                `✉  mail ${saved.n} to ${mail.to.join(', ')}: "${mail.subject}"${saved.file ? ` saved as ${show(saved.file)}` : ''} (/mail ${saved.n} to read it)`,
              ),
            ),
          );
      },
    });
    say(`  mail   SMTP ${smtp.url}, saved to ${show(dirs.mail)}/`);
    say(
      `  keys   ${show(dirs.keys)}/ (${PEOPLE.map((p) => p.name).join(', ')}): generated for the playground, private halves included`,
    );

    slack = await startFakeSlack();
    for (const p of PEOPLE) slack.setUser(p.slack, { name: p.name, real_name: p.name, email: p.email });

    const port = await freePort();
    const signingSecret = randomBytes(16).toString('hex');
    const logPath = join(dirs.run, 'bot.log');
    await writeFile(logPath, '');
    const inherited = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'SYSTEMROOT'];
    const env: Record<string, string> = {};
    for (const k of inherited) if (process.env[k]) env[k] = process.env[k] as string;
    Object.assign(env, {
      SLACK_API_URL: slack.url,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_BOT_TOKEN: 'xoxb-playground-not-a-real-token',
      PORT: String(port),
      REDIS_URL: redis.url,
      CHATOPS_REDIS_PREFIX: prefix,
      CHATOPS_CONFIG: configPath,
      CHATOPS_SHUTDOWN_TIMEOUT_MS: '5000',
      SMTP_URL: smtp.url,
      DUMP_WEBHOOK_SECRET: randomBytes(16).toString('hex'),
      CHATOPS_STATE_KEY: randomBytes(32).toString('hex'),
      AWS_ENDPOINT_URL: motoUrl,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    });
    bot = await startChatopsProcess({
      name: 'the bot',
      role: 'all',
      env,
      port,
      logPath,
      stopGraceMs: 15_000,
    });
    checkpoint();
    say(`  slack  fake Web API ${slack.url} (the bot's SLACK_API_URL)`);
    say(
      `  bot    ${bot.url}/slack/events, pid ${bot.pid}, signature checks on; config ${show(configPath)}, log ${show(logPath)}`,
    );
    jobs = watchJobs(redis.url, prefix);

    await writeFile(
      statePath,
      `${JSON.stringify(
        {
          pid: process.pid,
          dir: dirs.base,
          mailDir: dirs.mail,
          keysDir: dirs.keys,
          motoUrl,
          motoStarted: Boolean(moto),
          redisUrl: redis.url,
          redisStarted: redis.started,
          prefix,
          smtpUrl: smtp.url,
          slackApiUrl: slack.url,
          botUrl: bot.url,
          botPid: bot.pid,
          config: configPath,
          botLog: logPath,
          // Made up for this run; lets a test sign its own requests to the bot.
          signingSecret,
        },
        null,
        2,
      )}\n`,
    );
    wroteState = true;

    session = createSession({
      slack,
      // Typed commands reach the bot as Slack would send them: @name mentions per manifest.yml.
      client: createSlackClient({ url: `${bot.url}/slack/events`, signingSecret, typing: slack }),
      people: PEOPLE,
      commands: await manifestCommands(),
      mailbox,
      jobs,
      ...(worldCommands ? { world: worldCommands } : {}),
      style,
      waitMs: options.timeoutMs,
      // The playground sets no METRICS_PORT: the bot serves /metrics on its PORT.
      metricsUrl: `${bot.url}/metrics`,
      print: say,
    });
    const s = session;
    logFollower = followLog(logPath, (line) =>
      s.error(`the bot logged an error: ${line} (see ${show(logPath)})`),
    );
    const liveBot = bot;
    void liveBot.exited.then((how) => {
      if (!stopping) s.error(`the bot stopped unexpectedly (${how}); see ${show(logPath)}`);
    });
  };

  try {
    await startup();
    checkpoint();
  } catch (err) {
    if (interrupted === undefined)
      process.stderr.write(`\nplayground: could not start: ${(err as Error).message}\n`);
    await stopAll();
    return interrupted ?? 2;
  }
  started = true;
  if (!session || !bot) return 2;
  const s = session;
  const liveBot = bot;

  say([
    `People: ${PEOPLE.map((p) => `${p.name}${p.roles.length ? ` (${p.roles.join(', ')})` : ''}`).join(', ')}; channels: ${Object.keys(
      CHANNELS,
    )
      .map((c) => `#${c}`)
      .join(' ')}`,
    interactive
      ? 'Try /reset-password, /ddb-export prod_txlog (as carol: /as carol), /maintenance schedule +1m 2m Demo window and /migration phase3 request +20s 2m (as ops: /as ops), /world dump ggh_datatransit missing then /dumps check ggh_datatransit, /chatops help. /help lists the playground commands; Ctrl-C quits.'
      : `Running ${options.script === '-' ? 'stdin' : show(options.script as string)}:`,
  ]);

  if (interactive) {
    await runRepl(s, console);
    if (interrupted === undefined) await stopAll();
    return 0;
  }

  const text = options.script === '-' ? await readStdin() : await readFile(options.script as string, 'utf8');
  await runScript(s, text.split(/\r?\n/), console, () => interrupted !== undefined || !liveBot.running());
  if (interrupted !== undefined) return interrupted;
  if (liveBot.running()) {
    const snap = await s.waitForJobs(options.timeoutMs);
    if (snap.scheduled.length) {
      say(
        snap.scheduled.map((j) =>
          style('dim', `· not waited for (scheduled for later): ${j.queue} ${j.name}, ${j.detail}`),
        ),
      );
    }
    const watching = snap.watching.length ? `, ${snap.watching.length} still watching AWS` : '';
    const scheduled = snap.scheduled.length ? `, ${snap.scheduled.length} scheduled for later` : '';
    say(
      style(
        s.errors.length ? 'red' : 'green',
        `── script done: ${s.steps} step${s.steps === 1 ? '' : 's'}; jobs: ${snap.completed} completed${watching}${scheduled}, ${snap.stopped.length} stopped with a reason, ${snap.failedUnexpectedly.length} failed; ${s.errors.length} error${s.errors.length === 1 ? '' : 's'}`,
      ),
    );
  }
  for (const e of s.errors) say(style('red', `   ✗ ${e}`));
  scriptStatus = s.errors.length ? 1 : 0;
  if (options.keep && interrupted === undefined) {
    say(
      style(
        'dim',
        `(--keep: everything keeps running; endpoints in ${show(statePath)}. Ctrl-C or SIGTERM stops it.)`,
      ),
    );
    await new Promise<void>((resolve) => {
      keepWaiter = resolve;
    });
    say(style('dim', '(stopping everything…)'));
    await stopAll();
    return scriptStatus;
  }
  await stopAll();
  return scriptStatus;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

main().then(
  (code) => {
    process.exitCode = code;
    // Handles such as stdin can keep the loop alive after a REPL; everything we started is stopped.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    process.stderr.write(`playground: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
