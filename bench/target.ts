// The bench's handle on each process it starts (the bot, a worker, the bare Bolt baseline), all of
// them through devkit's one launcher: devkit/chatops-process.ts for the bot and its workers,
// devkit/managed-process.ts for bench/bare-bolt.mjs. Here: start-up timed to a few ms, memory and CPU
// from /proc, each process's log in the run's log directory, and the orphan guard preloaded into
// every one, so a bench killed with SIGKILL leaves none running. bench/main.ts kills every process
// still running when the bench ends or is stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  answersReadyz,
  type ChatopsRole,
  readLogRecords,
  startChatopsProcess,
} from '../devkit/chatops-process.js';
import { startManagedProcess } from '../devkit/managed-process.js';
import { type Memory, readCpuMs, readMemory } from './proc.js';

/** Between readiness checks: start-up is one of the figures. */
const READY_POLL_MS = 5;
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const ORPHAN_GUARD = ['--import', pathToFileURL(join(import.meta.dirname, 'orphan-guard.mjs')).href];

export interface Target {
  name: string;
  pid: number;
  /** Its HTTP port (0 for a worker). */
  port: number;
  /** performance.now() when it was first seen ready. */
  readyAt: number;
  /** Spawn to the first 200 from GET /readyz (or to `ready` saying so), ms. */
  startToReadyMs: number;
  memory(): Memory;
  /** CPU time used so far, ms. */
  cpuMs(): number;
  /** The last few KB of its output. */
  output(): string;
  /** Its pino JSON log records so far. */
  records(): Record<string, unknown>[];
  stop(): Promise<void>;
}

interface Launched {
  readonly pid: number | undefined;
  readonly readyAt: number;
  readonly startToReadyMs: number;
  output(): string;
  kill(): Promise<void>;
}

const running = new Set<Launched>();
let logDir: string | undefined;
let logCount = 0;

/** A fresh log file for `name` in the run's log directory. */
function logFile(name: string): string {
  logDir ??= mkdtempSync(join(tmpdir(), 'chatops-bench-logs-'));
  logCount += 1;
  return join(logDir, `${logCount}-${name.replace(/[^A-Za-z0-9]+/g, '-')}.log`);
}

/** Kills every process still running (SIGKILL) and removes the run's logs: for the end of the bench. */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
  running.clear();
  if (logDir) rmSync(logDir, { recursive: true, force: true });
  logDir = undefined;
}

function track(name: string, port: number, logPath: string, p: Launched, stop: () => Promise<void>): Target {
  const pid = p.pid;
  if (pid === undefined || pid < 0) throw new Error(`${name}: no pid`);
  running.add(p);
  return {
    name,
    pid,
    port,
    readyAt: p.readyAt,
    startToReadyMs: p.startToReadyMs,
    memory: () => readMemory(pid),
    cpuMs: () => readCpuMs(pid),
    output: p.output,
    records: () => readLogRecords(logPath),
    stop: async () => {
      await stop();
      running.delete(p);
    },
  };
}

export interface ChatopsTargetOptions {
  name: string;
  role: ChatopsRole;
  /** `node` arguments that run the built bot (npm start's flags, --node-options, main.js). */
  args: string[];
  /** Its whole environment but CHATOPS_ROLE and PORT. */
  env: Record<string, string>;
  /** A bot's HTTP port (a worker has none). */
  port?: number;
  /** Replaces GET /readyz (or "workers started"); must not throw. */
  ready?: () => Promise<boolean>;
}

/** The bot or a worker, ready once GET /readyz answers 200 (or `ready` says so). */
export async function startChatopsTarget(o: ChatopsTargetOptions): Promise<Target> {
  const logPath = logFile(o.name);
  const p = await startChatopsProcess({
    name: o.name,
    role: o.role,
    env: o.env,
    logPath,
    nodeArgs: [...ORPHAN_GUARD, ...o.args],
    readyTimeoutMs: READY_TIMEOUT_MS,
    stopGraceMs: STOP_GRACE_MS,
    readyPollMs: READY_POLL_MS,
    ...(o.port === undefined ? {} : { port: o.port }),
    ...(o.ready ? { ready: o.ready } : {}),
  });
  return track(o.name, p.port ?? 0, logPath, p, () => p.stop());
}

export interface NodeTargetOptions {
  name: string;
  /** `node` arguments, e.g. the script. */
  args: string[];
  env: Record<string, string>;
  port: number;
  cwd: string;
}

/** Any other Node program serving GET /readyz on `port` (the bare Bolt baseline). */
export async function startNodeTarget(o: NodeTargetOptions): Promise<Target> {
  const logPath = logFile(o.name);
  const p = await startManagedProcess({
    name: o.name,
    bin: process.execPath,
    args: [...ORPHAN_GUARD, ...o.args],
    missingMessage: `could not start ${process.execPath}`,
    env: o.env,
    cwd: o.cwd,
    logPath,
    ready: () => answersReadyz(`http://127.0.0.1:${o.port}`),
    timeoutMs: READY_TIMEOUT_MS,
    stopGraceMs: STOP_GRACE_MS,
    pollIntervalMs: READY_POLL_MS,
  });
  return track(o.name, o.port, logPath, p, () => p.close());
}
