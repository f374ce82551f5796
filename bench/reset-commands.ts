// The /reset-password traffic of the slash-command and cluster benches: a config whose people all
// have an IAM user (and no GPG key, so a worker fails each job at once, before any SMTP or AWS
// call), the signed command a load worker sends, and command-to-job-start (send to BullMQ's
// processedOn, the moment a worker moved the job to active).
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { FakeSlack } from '../devkit/fake-slack.js';
import { slashCommandBody } from '../devkit/slack-signer.js';
import { SIGNING_SECRET, wallClock } from './fleet.js';
import { type HttpReply, postSigned } from './load.js';
import { percentile, sorted } from './report.js';

export const CHANNEL = 'C0BENCH';
export const COMMAND = '/reset-password';
export const QUEUE = 'reset-password';
/** People the load rotates through (worker w is person w % LOAD_PEOPLE). */
export const LOAD_PEOPLE = 8;
/** Commands sent before the measured ones: the workers start after /readyz answers, and JIT. */
export const JOB_WARMUP_COMMANDS = 20;
export const JOB_GAP_MS = 10;

export const personId = (i: number) => `U0BENCH${String(i).padStart(4, '0')}`;

/** A config with `people` people (ids U0BENCH0000…), every one with an IAM user in the bench account. */
export function resetConfig(people: number) {
  return {
    timezone: 'UTC',
    accounts: { 'bench-dev': { id: '123456789012', region: 'us-east-1' } },
    people: Array.from({ length: people }, (_, i) => ({
      slack: personId(i),
      email: `bench${i}@example.com`,
      // No such file: a worker fails the job at once (key_missing), before any SMTP or AWS call.
      gpgKey: 'keys/no-such-key.asc',
      iamUsers: { 'bench-dev': `bench${i}` },
    })),
    resetPassword: { defaultAccount: 'bench-dev', mailFrom: 'bench@example.com' },
    jobs: { attempts: 1, backoffMs: 10 },
  };
}

/** What the bot answers when the command went through (queued, or already in progress). */
export const botAccepts = (r: HttpReply) => r.body.includes(':key:') || r.body.includes(':hourglass:');

/** The body load worker `w` sends: a fresh trigger_id each time, person w % LOAD_PEOPLE. */
export function loadBody(slack: FakeSlack): (worker: number) => string {
  const urls = Array.from({ length: LOAD_PEOPLE }, (_, i) => slack.responseUrl(CHANNEL, personId(i)));
  return (w) =>
    slashCommandBody({
      command: COMMAND,
      text: '',
      userId: personId(w % LOAD_PEOPLE),
      channelId: CHANNEL,
      responseUrl: urls[w % LOAD_PEOPLE] as string,
    });
}

export interface JobStart {
  commands: number;
  processed: number;
  sendToStartP50ms: number;
  sendToStartP99ms: number;
  /** BullMQ's timestamp (the add) to processedOn: whole ms, as BullMQ stamps them. */
  enqueueToStartP50ms: number;
  enqueueToStartP99ms: number;
  ackP50ms: number;
  ackP99ms: number;
}

export interface JobStartOptions {
  /** The bots' ports; command i goes to bot i % ports.length, each on its own connection. */
  ports: number[];
  /** The reset-password queue the bots add to (under their prefix). */
  queue: Queue;
  slack: FakeSlack;
  /** Measured commands, after JOB_WARMUP_COMMANDS warm-up ones; one person each. */
  commands: number;
  /** For error messages (a fleet's name). */
  name?: string;
}

/** Commands at c=1, JOB_GAP_MS apart; the send-to-job-start figures of the measured ones. */
export async function measureJobStart(o: JobStartOptions): Promise<JobStart> {
  const now = wallClock();
  const agents = o.ports.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
  const what = o.name ? `${o.name}: ` : '';
  try {
    const send = async (i: number, person: number) => {
      const userId = personId(person);
      const body = slashCommandBody({
        command: COMMAND,
        text: '',
        userId,
        channelId: CHANNEL,
        responseUrl: o.slack.responseUrl(CHANNEL, userId),
      });
      const bot = i % o.ports.length;
      const t = now();
      const reply = await postSigned(agents[bot] as Agent, o.ports[bot] as number, SIGNING_SECRET, body);
      const ackMs = now() - t;
      const requestId = /\(request ([0-9a-f-]{36})\)/.exec(reply.body)?.[1];
      if (reply.status !== 200 || !requestId || !reply.body.includes(':key:')) {
        throw new Error(
          `${what}/reset-password was not queued: HTTP ${reply.status} ${reply.body.slice(0, 300)}`,
        );
      }
      return { jobId: `rp-${requestId}`, sentAt: t, ackMs };
    };
    const startedAt = async (ids: string[], timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      const found = new Map<string, { processedOn: number; timestamp: number }>();
      while (found.size < ids.length && Date.now() < deadline) {
        for (const id of ids) {
          if (found.has(id)) continue;
          const job = await o.queue.getJob(id);
          if (job?.processedOn) found.set(id, { processedOn: job.processedOn, timestamp: job.timestamp });
        }
        if (found.size < ids.length) await sleep(50);
      }
      return found;
    };
    const warm: string[] = [];
    for (let i = 0; i < JOB_WARMUP_COMMANDS; i++) {
      warm.push((await send(i, i)).jobId);
      await sleep(JOB_GAP_MS);
    }
    const warmStarted = await startedAt(warm, 20_000);
    if (warmStarted.size < warm.length) {
      throw new Error(
        `${what}the workers started ${warmStarted.size}/${warm.length} warm-up jobs within 20 s`,
      );
    }
    const sent: { jobId: string; sentAt: number; ackMs: number }[] = [];
    for (let i = 0; i < o.commands; i++) {
      sent.push(await send(i, JOB_WARMUP_COMMANDS + i));
      await sleep(JOB_GAP_MS);
    }
    const started = await startedAt(
      sent.map((s) => s.jobId),
      15_000,
    );
    const sendToStart: number[] = [];
    const enqueueToStart: number[] = [];
    for (const s of sent) {
      const j = started.get(s.jobId);
      if (!j) continue;
      sendToStart.push(j.processedOn - s.sentAt);
      enqueueToStart.push(j.processedOn - j.timestamp);
    }
    const a = sorted(sendToStart);
    const b = sorted(enqueueToStart);
    const c = sorted(sent.map((s) => s.ackMs));
    return {
      commands: sent.length,
      processed: started.size,
      sendToStartP50ms: percentile(a, 50),
      sendToStartP99ms: percentile(a, 99),
      enqueueToStartP50ms: percentile(b, 50),
      enqueueToStartP99ms: percentile(b, 99),
      ackP50ms: percentile(c, 50),
      ackP99ms: percentile(c, 99),
    };
  } finally {
    for (const agent of agents) agent.destroy();
  }
}
