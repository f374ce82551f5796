import { type ChildProcess, spawn } from 'node:child_process';
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
}

export interface ManagedProcess {
  readonly pid: number | undefined;
  /** Last few KB of combined stdout/stderr, for diagnostics. */
  output(): string;
  /** Stops the process (SIGTERM, then SIGKILL after a grace period). Idempotent. */
  close(): Promise<void>;
}

/**
 * Spawns a long-running helper server and resolves once `ready()` says it answers.
 * The child is killed when the current Node process exits, so a forgotten close()
 * does not leave servers running after a test run.
 */
export async function startManagedProcess(opts: ManagedProcessOptions): Promise<ManagedProcess> {
  let tail = '';
  let spawnError: Error | undefined;
  let exited = false;
  let exitInfo = '';

  const child: ChildProcess = spawn(opts.bin, opts.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keepTail = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  // Pipes must be drained or a chatty server blocks once the pipe buffer fills.
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);

  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      exitInfo = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
  });
  child.once('error', (err: NodeJS.ErrnoException) => {
    spawnError = err.code === 'ENOENT' ? new Error(opts.missingMessage) : err;
    // 'exit' is not emitted when spawning itself failed.
    exited = true;
  });

  const killOnExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.removeListener('exit', killOnExit);
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exitPromise;
      clearTimeout(timer);
    })();
    return closing;
  };

  const deadline = Date.now() + opts.timeoutMs;
  while (true) {
    if (spawnError) {
      process.removeListener('exit', killOnExit);
      throw spawnError;
    }
    if (exited) {
      process.removeListener('exit', killOnExit);
      throw new Error(`${opts.name} exited before it became ready (${exitInfo}). Output:\n${tail}`);
    }
    if (await opts.ready()) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`${opts.name} did not become ready within ${opts.timeoutMs} ms. Output:\n${tail}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }

  return { pid: child.pid, output: () => tail, close };
}
