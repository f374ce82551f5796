// A chatops process as the product runs it: `node --import tsx bot/main.ts` (or the built
// dist/bot/main.js), configured only through its environment, its pino JSON log appended to a file.
// The tests, the fault suite, the playground and the bench start, stop and SIGKILL the bot and its
// workers through this one launcher.
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from './free-port.js';
import { startManagedProcess } from './managed-process.js';

const ROOT = resolve(import.meta.dirname, '..');

export type ChatopsRole = 'all' | 'bot' | 'worker';

export interface ChatopsProcessOptions {
  /** Used in error messages, e.g. `worker-a`. */
  name: string;
  /** CHATOPS_ROLE: `all` serves HTTP and runs the workers. */
  role: ChatopsRole;
  /** Exactly this environment, nothing inherited; CHATOPS_ROLE and PORT are set from `role` and `port`. */
  env: Record<string, string>;
  /** Where the process's output goes (appended). */
  logPath: string;
  /** The HTTP port of a bot (default: a free one). */
  port?: number;
  /** Default 60 s. */
  readyTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL in stop() (default 10 s). */
  stopGraceMs?: number;
  /**
   * What `node` runs (default `--import tsx <repo>/bot/main.ts`, the source); the bench gives npm
   * start's flags and the built dist/bot/main.js.
   */
  nodeArgs?: string[];
  /** Replaces the readiness check (/readyz, or "workers started" for a worker); must not throw. */
  ready?: () => Promise<boolean>;
  /** Between two readiness checks (default 100 ms). */
  readyPollMs?: number;
}

export interface ChatopsProcess {
  readonly name: string;
  readonly role: ChatopsRole;
  readonly pid: number;
  /** The bot's base URL (not for a worker), e.g. http://127.0.0.1:40123 */
  readonly url: string | undefined;
  readonly port: number | undefined;
  readonly logPath: string;
  /** performance.now() when it was first seen ready, and how long that took from the spawn (ms). */
  readonly readyAt: number;
  readonly startToReadyMs: number;
  /** Resolves when the process has exited, with how. */
  readonly exited: Promise<string>;
  running(): boolean;
  /** The last few KB of its log, for diagnostics. */
  output(): string;
  /** The process's log records (pino JSON lines) so far. */
  records(): Record<string, unknown>[];
  /** True once a log record matches. */
  logged(match: (r: Record<string, unknown>) => boolean): boolean;
  /** SIGKILL, resolving once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (the process closes workers, queues and Redis in order), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** The JSON lines of a log file, parsed; other lines (a Node warning, a line cut by SIGKILL) are skipped. */
function parseRecords(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not a whole JSON record.
    }
  }
  return out;
}

export function readLogRecords(path: string): Record<string, unknown>[] {
  try {
    return parseRecords(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

/** True when GET <url>/readyz answers 200 within a second. */
export async function answersReadyz(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Starts a chatops process and resolves once it is ready: a bot (or `all`) when /readyz answers 200,
 * a worker when it logs "workers started".
 */
export async function startChatopsProcess(o: ChatopsProcessOptions): Promise<ChatopsProcess> {
  const port = o.role === 'worker' ? undefined : (o.port ?? (await freePort()));
  const url = port === undefined ? undefined : `http://127.0.0.1:${port}`;
  const logged = (match: (r: Record<string, unknown>) => boolean) => readLogRecords(o.logPath).some(match);
  const proc = await startManagedProcess({
    name: o.name,
    bin: process.execPath,
    args: o.nodeArgs ?? ['--import', 'tsx', join(ROOT, 'bot/main.ts')],
    missingMessage: `could not start ${process.execPath}`,
    env: { ...o.env, CHATOPS_ROLE: o.role, PORT: String(port ?? 0) },
    cwd: ROOT,
    logPath: o.logPath,
    ready:
      o.ready ??
      (() => (url ? answersReadyz(url) : Promise.resolve(logged((r) => r.msg === 'workers started')))),
    timeoutMs: o.readyTimeoutMs ?? 60_000,
    stopGraceMs: o.stopGraceMs ?? 10_000,
    ...(o.readyPollMs ? { pollIntervalMs: o.readyPollMs } : {}),
  });
  return {
    name: o.name,
    role: o.role,
    pid: proc.pid ?? -1,
    url,
    port,
    logPath: o.logPath,
    readyAt: proc.readyAt,
    startToReadyMs: proc.startToReadyMs,
    exited: proc.exited,
    running: proc.running,
    output: proc.output,
    records: () => readLogRecords(o.logPath),
    logged,
    kill: proc.kill,
    stop: proc.close,
  };
}

/** Calls `onError` for each error or fatal record (pino level ≥ 50) appended to the log from now on. */
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
      for (const rec of parseRecords(lines.join('\n')) as { level?: number; msg?: string; err?: unknown }[]) {
        if ((rec.level ?? 0) < 50) continue;
        const err = typeof rec.err === 'string' ? rec.err : rec.err ? JSON.stringify(rec.err) : '';
        onError(`${rec.msg ?? '(no message)'}${err ? `: ${err}` : ''}`);
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
