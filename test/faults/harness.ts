// What the fault tests share: chatops processes each behind its own fault proxies (a "lane": moto,
// the Slack Web API and SMTP), so a test can hold one process's request and know whom to kill; and
// the one-line summary each scenario prints for the table in the issue.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { type ChatopsProcess, startChatopsProcess } from '../../devkit/index.js';
import {
  awsActionOf,
  type HttpFaultProxy,
  slackMethodOf,
  startHttpFaultProxy,
  startTcpFaultProxy,
  type TcpFaultProxy,
} from '../helpers/fault-proxy.js';
import { motoUrl as workerMotoUrl } from '../helpers/moto-url.js';
import { processEnv, type Stack, test as stackTest } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { SUMMARY_FILE } from './setup.js';

/** One chatops process and the proxies between it and moto, Slack's Web API and SMTP. */
export interface Lane {
  name: string;
  proc: ChatopsProcess;
  moto: HttpFaultProxy;
  slack: HttpFaultProxy;
  smtp: TcpFaultProxy;
}

/** Starts lanes for a stack and closes them all (processes first) before the stack goes. */
export class Lanes {
  readonly all: Lane[] = [];
  private dir: string | undefined;

  constructor(private readonly stack: () => Stack) {}

  /** Starts `role` as its own process behind fresh proxies; `env` adds to (or overrides) its environment. */
  async start(name: string, role: 'bot' | 'worker', env: Record<string, string> = {}): Promise<Lane> {
    const s = this.stack();
    this.dir ??= mkdtempSync(join(tmpdir(), 'chatops-faults-'));
    const moto = await startHttpFaultProxy({ upstream: workerMotoUrl(), nameOf: awsActionOf });
    const slack = await startHttpFaultProxy({
      upstream: `http://127.0.0.1:${s.slack.port}`,
      nameOf: slackMethodOf,
    });
    const smtp = await startTcpFaultProxy(s.smtp.port);
    const lane: Lane = {
      name,
      moto,
      slack,
      smtp,
      proc: undefined as unknown as ChatopsProcess,
    };
    this.all.push(lane);
    lane.proc = await startChatopsProcess({
      name,
      role,
      logPath: join(this.dir, `${name}.log`),
      env: processEnv(s.env, {
        AWS_ENDPOINT_URL: moto.url,
        SLACK_API_URL: `${slack.url}/api/`,
        SMTP_URL: `smtp://${smtp.host}`,
        ...env,
      }),
    });
    return lane;
  }

  /** Starts several at once (start-up is mostly CPU; two overlap well enough on two cores). */
  startMany(names: string[], role: 'bot' | 'worker', env: Record<string, string> = {}): Promise<Lane[]> {
    return Promise.all(names.map((n) => this.start(n, role, env)));
  }

  /** Requests forwarded to moto under `action`, over every lane. */
  awsCalls(action: string): number {
    return this.all.reduce((n, l) => n + l.moto.forwarded(action), 0);
  }

  /** Waits for a lane where `probe` holds, e.g. the one holding a request. */
  waitForLane(what: string, probe: (l: Lane) => boolean, timeoutMs = 30_000): Promise<Lane> {
    return until(what, () => this.all.find((l) => l.proc?.running() && probe(l)), timeoutMs, 20);
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((l) => l.proc?.kill()));
    await Promise.all(this.all.flatMap((l) => [l.moto.close(), l.slack.close(), l.smtp.close()]));
    this.all.length = 0;
    // FAULTS_KEEP_LOGS=1 keeps each process's log for a look after a failure.
    if (this.dir && !process.env.FAULTS_KEEP_LOGS) rmSync(this.dir, { recursive: true, force: true });
    else if (this.dir) console.log(`process logs kept in ${this.dir}`);
    this.dir = undefined;
  }
}

/**
 * The stack fixtures plus `lanes` for the stack the test started last: every lane's process is
 * killed and its proxies closed before the stacks close.
 */
export const test = stackTest.extend<{ lanes: Lanes }>({
  lanes: async ({ stacks }, use) => {
    const lanes = new Lanes(() => {
      const s = stacks.at(-1);
      if (!s) throw new Error('start a stack before a lane');
      return s;
    });
    await use(lanes);
    await lanes.close();
  },
});
export const it = test;

/** Prints the scenario's line for the issue's table (and keeps it in .artifacts for .ci/run). */
export function faultLine(r: {
  fault: string;
  lost: number;
  doubled: number;
  recoveryMs: number | undefined;
  note?: string;
}): void {
  const recovery = r.recoveryMs === undefined ? 'n/a' : `${(Math.max(0, r.recoveryMs) / 1000).toFixed(1)} s`;
  const line = `fault: ${r.fault}, lost: ${r.lost}, doubled: ${r.doubled}, recovery: ${recovery}${r.note ? ` (${r.note})` : ''}`;
  console.log(line);
  mkdirSync('.artifacts', { recursive: true });
  appendFileSync(SUMMARY_FILE, `${line}\n`);
}

/** Jobs of `queue` in the given states, read with the stack's own connection. */
export async function jobsIn(s: Stack, queue: string, states: string[]) {
  const q = new Queue(queue, { connection: s.redis, prefix: s.prefix });
  try {
    // biome-ignore lint/suspicious/noExplicitAny: BullMQ's JobType union; the names come from the caller
    return await q.getJobs(states as any);
  } finally {
    await q.close();
  }
}

/** Resolves once no job of `queue` is waiting, active or delayed (job schedulers' next fires aside). */
export function queueIdle(s: Stack, queue: string, timeoutMs = 60_000): Promise<true> {
  return until(
    `the ${queue} queue to be idle`,
    async () =>
      (await jobsIn(s, queue, ['waiting', 'active', 'delayed'])).every((j) => j.id?.startsWith('repeat:'))
        ? true
        : undefined,
    timeoutMs,
    200,
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
