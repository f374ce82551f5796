// Spawning a target (the bot, a worker or the bare Bolt app) as its own Node process, timing its
// start, reading its memory and CPU from /proc, and stopping it. bench/main.ts kills every child
// still running when the bench exits or is stopped.
import { type ChildProcess, spawn } from 'node:child_process';
import { get } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { type Memory, readCpuMs, readMemory } from './proc.js';

const TAIL_CHARS = 8192;
const READY_POLL_MS = 5;
const STOP_GRACE_MS = 5_000;

const children = new Set<ChildProcess>();
const ORPHAN_GUARD = pathToFileURL(join(import.meta.dirname, 'orphan-guard.mjs')).href;

/** Kills every child still running (SIGKILL): for process exit and signals. */
export function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

export interface Target {
  name: string;
  pid: number;
  port: number;
  /** performance.now() when the first GET /readyz answered 200. */
  readyAt: number;
  /** Spawn to the first 200 from GET /readyz (or to `ready` saying so), ms. */
  startToReadyMs: number;
  memory(): Memory;
  /** CPU time used so far, ms. */
  cpuMs(): number;
  /** The child's stdout and stderr: the last few KB, or all of it with `keepAllOutput`. */
  output(): string;
  stop(): Promise<void>;
}

export interface TargetOptions {
  name: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  cwd: string;
  readyTimeoutMs?: number;
  /** For a process without HTTP (a worker): resolves true once it is ready; replaces GET /readyz. */
  ready?: (output: string) => Promise<boolean> | boolean;
  /** Keep every line the child writes (to count log lines afterwards), not only the last few KB. */
  keepAllOutput?: boolean;
}

/** Status of one GET /readyz on a fresh connection; 0 when nothing answered. */
function readyzStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Spawns `node <args>` and resolves once GET /readyz answers 200 (or `ready` resolves true). */
export async function startTarget(opts: TargetOptions): Promise<Target> {
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail += chunk.toString('utf8');
    if (!opts.keepAllOutput) tail = tail.slice(-TAIL_CHARS);
  };
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', ORPHAN_GUARD, ...opts.args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = signal ? `signal ${signal}` : `code ${code}`;
      children.delete(child);
      resolve();
    });
  });
  child.once('error', (err) => {
    exited = `spawn error: ${err.message}`;
  });

  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exit;
    clearTimeout(timer);
  };

  const { ready } = opts;
  const isReady = async () => {
    if (!ready) return (await readyzStatus(opts.port)) === 200;
    try {
      return await ready(tail);
    } catch {
      return false;
    }
  };
  const deadline = t0 + (opts.readyTimeoutMs ?? 30_000);
  let readyAt = 0;
  while (!readyAt) {
    if (exited) throw new Error(`${opts.name} exited before it was ready (${exited}). Output:\n${tail}`);
    if (await isReady()) {
      readyAt = performance.now();
      break;
    }
    if (performance.now() > deadline) {
      await stop();
      throw new Error(
        `${opts.name} was not ready within ${opts.readyTimeoutMs ?? 30_000} ms. Output:\n${tail}`,
      );
    }
    await sleep(READY_POLL_MS);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${opts.name}: no pid`);
  return {
    name: opts.name,
    pid,
    port: opts.port,
    readyAt,
    startToReadyMs: readyAt - t0,
    memory: () => readMemory(pid),
    cpuMs: () => readCpuMs(pid),
    output: () => tail,
    stop,
  };
}
