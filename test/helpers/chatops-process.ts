// A chatops process as the product runs it (`node --import tsx bot/main.ts`, configured only through
// its environment), for the tests that SIGKILL one: its JSON log kept in a file the test can search.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../devkit/index.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface ChatopsProcess {
  readonly name: string;
  readonly role: 'bot' | 'worker';
  readonly pid: number;
  /** The bot's base URL (bots only), e.g. http://127.0.0.1:40123 */
  readonly url: string | undefined;
  readonly port: number | undefined;
  readonly logPath: string;
  /** Resolves when the process has exited, with how. */
  readonly exited: Promise<string>;
  running(): boolean;
  /** The process's log records (pino JSON lines) so far. */
  records(): Record<string, unknown>[];
  /** True once a log record matches. */
  logged(match: (r: Record<string, unknown>) => boolean): boolean;
  /** SIGKILL, resolving once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (an orderly shutdown), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** The environment a spawned chatops process gets: the stack's, plus AWS through `awsEndpoint`. */
export function processEnv(
  stackEnv: Record<string, string>,
  extra: Record<string, string> & { AWS_ENDPOINT_URL: string },
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    ...stackEnv,
    LOG_LEVEL: 'info',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    ...extra,
  };
}

function readRecords(path: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line cut short by a SIGKILL.
    }
  }
  return out;
}

/**
 * Spawns a bot (ready once /readyz answers 200) or a worker (ready once it logs "workers started")
 * with exactly `env` (nothing inherited), logging to `<dir>/<name>.log`.
 */
export async function startChatopsProcess(opts: {
  name: string;
  role: 'bot' | 'worker';
  env: Record<string, string>;
  dir: string;
  readyTimeoutMs?: number;
}): Promise<ChatopsProcess> {
  const port = opts.role === 'bot' ? await freePort() : undefined;
  const url = port === undefined ? undefined : `http://127.0.0.1:${port}`;
  const logPath = join(opts.dir, `${opts.name}.log`);
  const log = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bot/main.ts')], {
      cwd: ROOT,
      env: { ...opts.env, CHATOPS_ROLE: opts.role, PORT: String(port ?? 0) },
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log);
  }
  let exitInfo: string | undefined;
  const exited = new Promise<string>((done) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      done(exitInfo);
    });
    child.once('error', (err) => {
      exitInfo = `could not start: ${err.message}`;
      done(exitInfo);
    });
  });
  const killOnExit = () => {
    if (exitInfo === undefined) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const tail = () => readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-20).join('\n');
  const handle: ChatopsProcess = {
    name: opts.name,
    role: opts.role,
    pid: child.pid ?? -1,
    url,
    port,
    logPath,
    exited,
    running: () => exitInfo === undefined,
    records: () => readRecords(logPath),
    logged: (match) => readRecords(logPath).some(match),
    async kill() {
      if (exitInfo === undefined) child.kill('SIGKILL');
      await exited;
      process.removeListener('exit', killOnExit);
    },
    async stop(graceMs = 10_000) {
      if (exitInfo === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnExit);
    },
  };

  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitInfo !== undefined) {
      process.removeListener('exit', killOnExit);
      throw new Error(
        `${opts.name} stopped during start-up (${exitInfo}); last lines of its log:\n${tail()}`,
      );
    }
    if (url) {
      try {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
        await res.arrayBuffer();
        if (res.status === 200) break;
      } catch {
        // Not listening yet.
      }
    } else if (handle.logged((r) => r.msg === 'workers started')) {
      break;
    }
    if (Date.now() > deadline) {
      await handle.stop(2_000);
      throw new Error(`${opts.name} was not ready within ${timeoutMs} ms; last lines of its log:\n${tail()}`);
    }
    await sleep(100);
  }
  return handle;
}
