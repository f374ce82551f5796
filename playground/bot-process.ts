// The bot, run as the product runs: its own process, `bot/main.ts`, configured only through the environment.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BotProcess {
  readonly pid: number;
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  running(): boolean;
  /** Resolves when the process has exited, with how. */
  readonly exited: Promise<string>;
  /** SIGTERM (the bot closes workers, queues and Redis in order), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts `node --import tsx bot/main.ts` with `env` (nothing else inherited) and waits for /readyz. */
export async function startBot(opts: {
  repoRoot: string;
  env: Record<string, string>;
  port: number;
  logPath: string;
  readyTimeoutMs?: number;
}): Promise<BotProcess> {
  const url = `http://127.0.0.1:${opts.port}`;
  const log = openSync(opts.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--import', 'tsx', join(opts.repoRoot, 'bot/main.ts')], {
      cwd: opts.repoRoot,
      env: opts.env,
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log);
  }
  let exitInfo: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve(exitInfo);
    });
    child.once('error', (err) => {
      exitInfo = `could not start: ${err.message}`;
      resolve(exitInfo);
    });
  });
  const killOnExit = () => {
    if (exitInfo === undefined) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const stop = async (graceMs = 15_000) => {
    if (exitInfo === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    process.removeListener('exit', killOnExit);
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exitInfo !== undefined) {
      process.removeListener('exit', killOnExit);
      throw new Error(
        `the bot stopped during start-up (${exitInfo}); last lines of ${opts.logPath}:\n${tail(opts.logPath)}`,
      );
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop(5_000);
      throw new Error(
        `the bot did not answer /readyz within ${opts.readyTimeoutMs ?? 60_000} ms; last lines of ${opts.logPath}:\n${tail(opts.logPath)}`,
      );
    }
    await sleep(200);
  }

  return {
    pid: child.pid ?? -1,
    url,
    running: () => exitInfo === undefined,
    exited,
    stop,
  };
}

/** Calls `onError` for each error or fatal line (pino level ≥ 50) the bot appends to its log. */
export function followLog(path: string, onError: (line: string) => void): { stop(): void } {
  let offset = 0;
  let partial = '';
  try {
    offset = statSync(path).size;
  } catch {
    // Not written yet: read from the start.
  }
  const read = () => {
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return;
    }
    if (size <= offset) return;
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      const lines = (partial + buf.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          const rec = JSON.parse(line) as { level?: number; msg?: string; err?: unknown };
          if ((rec.level ?? 0) >= 50) {
            const err = typeof rec.err === 'string' ? rec.err : rec.err ? JSON.stringify(rec.err) : '';
            onError(`${rec.msg ?? '(no message)'}${err ? `: ${err}` : ''}`);
          }
        } catch {
          // A line that is not JSON (a Node warning on stderr): not the bot's log.
        }
      }
    } finally {
      closeSync(fd);
    }
  };
  const timer = setInterval(read, 300);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      read();
    },
  };
}
