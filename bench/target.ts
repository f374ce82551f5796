// Spawning a target (the bot or the bare Bolt app) as its own Node process, timing its start,
// reading its memory from /proc, and stopping it. Every child is killed when the bench exits.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

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

export interface Memory {
  /** Resident set size now (VmRSS), MiB. */
  rssMiB: number;
  /** Peak resident set size since start (VmHWM), MiB. */
  hwmMiB: number;
}

/** VmRSS and VmHWM of a process, from /proc/<pid>/status. */
export function readMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}

let clockTicks: number | undefined;

/** CPU time (user + system) a process has used so far, ms, from /proc/<pid>/stat. */
export function readCpuMs(pid: number): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / clockTicks;
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
  /** Last few KB of the child's stdout and stderr. */
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
  ready?: () => Promise<boolean>;
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
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_CHARS);
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

  const deadline = t0 + (opts.readyTimeoutMs ?? 30_000);
  let readyAt = 0;
  while (!readyAt) {
    if (exited) throw new Error(`${opts.name} exited before it was ready (${exited}). Output:\n${tail}`);
    if (opts.ready ? await opts.ready().catch(() => false) : (await readyzStatus(opts.port)) === 200) {
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
