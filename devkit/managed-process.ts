import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const OUTPUT_TAIL_CHARS = 8192;
const POLL_INTERVAL_MS = 100;
const STOP_GRACE_MS = 5000;

export interface ManagedProcessOptions {
  /** Human name used in error messages, e.g. 'moto_server'. */
  name: string;
  bin: string;
  args: string[];
  /** Message of the Error thrown when `bin` is not on PATH. */
  missingMessage: string;
  /** Resolves true once the service answers; must not throw. */
  ready: () => Promise<boolean>;
  timeoutMs: number;
  /** Exactly this environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Appends stdout and stderr to this file instead of keeping their tail in memory. */
  logPath?: string;
  /** Between SIGTERM and SIGKILL in close() (default 5 s). */
  stopGraceMs?: number;
  /** Between two `ready()` calls (default 100 ms; the bench times start-up with 5). */
  pollIntervalMs?: number;
}

export interface ManagedProcess {
  readonly pid: number | undefined;
  /** performance.now() when `ready()` first said true. */
  readonly readyAt: number;
  /** From the spawn to `ready()` first saying true, ms. */
  readonly startToReadyMs: number;
  /** Resolves once the process has exited, with how (`exit code 0`, `signal SIGKILL`). */
  readonly exited: Promise<string>;
  running(): boolean;
  /** Last few KB of combined stdout/stderr (of the log file with `logPath`), for diagnostics. */
  output(): string;
  /** Stops the process (SIGTERM, then SIGKILL after `graceMs`). Idempotent. */
  close(graceMs?: number): Promise<void>;
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill(): Promise<void>;
}

function fileTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-OUTPUT_TAIL_CHARS);
  } catch {
    return '(no output)';
  }
}

/**
 * Spawns a long-running helper server and resolves once `ready()` says it answers.
 * The child is killed when the current Node process exits, so a forgotten close()
 * does not leave servers running after a test run.
 */
export async function startManagedProcess(opts: ManagedProcessOptions): Promise<ManagedProcess> {
  let tail = '';
  let spawnError: Error | undefined;
  let exitInfo: string | undefined;

  let child: ChildProcess;
  let spawnedAt: number;
  if (opts.logPath) {
    const log = openSync(opts.logPath, 'a');
    try {
      spawnedAt = performance.now();
      child = spawn(opts.bin, opts.args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
  } else {
    spawnedAt = performance.now();
    child = spawn(opts.bin, opts.args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const keepTail = (chunk: Buffer): void => {
      tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    // Pipes must be drained or a chatty server blocks once the pipe buffer fills.
    child.stdout?.on('data', keepTail);
    child.stderr?.on('data', keepTail);
  }
  const output = () => (opts.logPath ? fileTail(opts.logPath) : tail);

  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve(exitInfo);
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err.code === 'ENOENT' ? new Error(opts.missingMessage) : err;
      // 'exit' is not emitted when spawning itself failed.
      exitInfo = `could not start: ${err.message}`;
      resolve(exitInfo);
    });
  });

  const killOnExit = (): void => {
    if (exitInfo === undefined) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let closing: Promise<void> | undefined;
  const close = (graceMs = opts.stopGraceMs ?? STOP_GRACE_MS): Promise<void> => {
    closing ??= (async () => {
      if (exitInfo === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnExit);
    })();
    return closing;
  };
  const kill = async (): Promise<void> => {
    if (exitInfo === undefined) child.kill('SIGKILL');
    await exited;
    process.removeListener('exit', killOnExit);
  };

  const deadline = Date.now() + opts.timeoutMs;
  let readyAt: number;
  while (true) {
    if (spawnError) {
      process.removeListener('exit', killOnExit);
      throw spawnError;
    }
    if (exitInfo !== undefined) {
      process.removeListener('exit', killOnExit);
      throw new Error(`${opts.name} exited before it became ready (${exitInfo}). Output:\n${output()}`);
    }
    if (await opts.ready()) {
      readyAt = performance.now();
      break;
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`${opts.name} did not become ready within ${opts.timeoutMs} ms. Output:\n${output()}`);
    }
    await sleep(opts.pollIntervalMs ?? POLL_INTERVAL_MS);
  }

  return {
    pid: child.pid,
    readyAt,
    startToReadyMs: readyAt - spawnedAt,
    exited,
    running: () => exitInfo === undefined,
    output,
    close,
    kill,
  };
}
