// The platform's promises under attack and faults: replayed and out-of-window requests are refused
// across replicas; an ack says "queued" only once the job is in Redis, so killing a bot process or
// pausing Redis never loses an acknowledged command nor runs one twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { describe, expect, onTestFinished } from 'vitest';
import { createSlackClient, freePort, slashCommandBody, startChatopsProcess } from '../../devkit/index.js';
import { startManagedProcess } from '../../devkit/managed-process.js';
import { createRedis, redisAnswers } from '../../infra/redis.js';
import { makeKey } from '../fixtures/keys.js';
import { it, SIGNING_SECRET, type Stack, type StackPerson, seedIamUser } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

function clientFor(port: number | undefined) {
  return createSlackClient({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET });
}

function helpBody(s: Stack): string {
  return slashCommandBody({
    command: '/chatops',
    text: 'help',
    userId: 'U0ALICE',
    responseUrl: s.slack.responseUrl('C0GENERAL', 'U0ALICE'),
  });
}

describe('replayed and out-of-window requests', () => {
  it('answers a signed request once; the same request again, to either bot, gets 401', async ({
    startStack,
  }) => {
    const stack = await startStack({ topology: { bots: 2, workers: 0 } });
    const [a, b] = [clientFor(stack.instances[0]?.port), clientFor(stack.instances[1]?.port)];
    const body = helpBody(stack);
    const timestamp = Math.floor(Date.now() / 1000);
    expect((await a.send(body, { timestamp })).status).toBe(200);
    expect((await a.send(body, { timestamp })).status).toBe(401);
    expect((await b.send(body, { timestamp })).status).toBe(401);
    // The same command sent anew (as Slack's own retries are: a new timestamp, so a new signature) works.
    expect((await b.send(body, { timestamp: timestamp + 1 })).status).toBe(200);
  });

  it('refuses a timestamp 6 minutes ahead or 6 minutes behind with 401 and runs nothing', async ({
    startStack,
  }) => {
    const stack = await startStack({ topology: { bots: 1, workers: 0 } });
    const client = clientFor(stack.instances[0]?.port);
    const now = Math.floor(Date.now() / 1000);
    expect((await client.send(helpBody(stack), { timestamp: now + 360 })).status).toBe(401);
    expect((await client.send(helpBody(stack), { timestamp: now - 360 })).status).toBe(401);
    expect((await client.send(helpBody(stack), { timestamp: now + 240 })).status).toBe(200);
    expect((await stack.auditRows()).map((r) => r.outcome)).toEqual(['succeeded']);
  });
});

describe('durable acks', () => {
  it('says plainly that nothing was queued when Redis does not answer; nothing runs later; a retry works', async ({
    startStack,
  }) => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const redisServer = await startManagedProcess({
      name: 'redis-server',
      bin: 'redis-server',
      args: ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1'],
      missingMessage: 'redis-server is not installed: apt-get install redis-server',
      ready: async () => {
        const r = createRedis(url);
        r.on('error', () => {});
        try {
          return await redisAnswers(r, 500);
        } finally {
          r.disconnect();
        }
      },
      timeoutMs: 10_000,
    });
    // After the stack is closed: it deletes its keys from this Redis.
    onTestFinished(() => redisServer.close());
    const s = await startStack({ redisUrl: url });
    await seedIamUser(s.iam('osio-dev'), 'alice');
    await s.redis.client('PAUSE', 3_000, 'ALL');
    const started = Date.now();
    const ack = await s.command('U0ALICE', '/reset-password');
    expect(Date.now() - started, ack.text).toBeLessThan(3_000);
    expect(ack.status).toBe(200);
    expect(ack.text).toMatch(/Redis is not answering, so nothing was queued or changed and nothing will run/);
    // After Redis returns: still no job, no mail, and the audit says not-queued.
    await until('the audit entry lands', async () =>
      (await s.auditRows()).some((r) => r.outcome === 'not-queued') ? true : undefined,
    );
    const queue = new Queue('reset-password', { connection: s.redis, prefix: s.prefix });
    try {
      expect(await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed')).toEqual({
        waiting: 0,
        active: 0,
        completed: 0,
        failed: 0,
        delayed: 0,
      });
    } finally {
      await queue.close();
    }
    expect(s.smtp.messages).toHaveLength(0);
    const retry = await s.command('U0ALICE', '/reset-password');
    expect(retry.text).toMatch(/Queued: resetting/);
    await until('the mail', () => (s.smtp.messages.length === 1 ? true : undefined), 20_000);
  });

  it('SIGKILL of a bot process in a burst of 30 commands: every command acked as queued runs exactly once', async ({
    startStack,
  }) => {
    const people: StackPerson[] = [];
    for (let i = 0; i < 30; i++) {
      const name = `kill${i}`;
      people.push({
        slack: `U0KILL${i}`,
        name,
        key: await makeKey(`${name}@example.com`),
        iamUsers: { 'osio-dev': name },
      });
    }
    // The worker runs in this process; the bot is a process of its own, killed mid-burst.
    const s = await startStack({ people, topology: { bots: 0, workers: 1 } });
    for (const p of people) await seedIamUser(s.iam('osio-dev'), p.name);
    const dir = mkdtempSync(join(tmpdir(), 'chatops-kill-'));
    const port = await freePort();
    const bot = await startChatopsProcess({
      name: 'the bot',
      role: 'bot',
      env: { PATH: process.env.PATH ?? '', ...s.env },
      port,
      logPath: join(dir, 'bot.log'),
    });
    const client = clientFor(port);
    const acked = new Set<string>();
    const other: string[] = [];
    let answered = 0;
    const send = async (p: StackPerson) => {
      const res = await client
        .command({
          command: '/reset-password',
          text: '',
          userId: p.slack,
          responseUrl: s.slack.responseUrl('C0GENERAL', p.slack),
        })
        .catch((err: Error) => ({ status: 0, body: String(err.cause ?? err.message), json: undefined }));
      answered += 1;
      if (answered === 10) process.kill(bot.pid, 'SIGKILL');
      const text = (res.json as { text?: string } | undefined)?.text ?? res.body;
      if (res.status === 200 && /Queued: resetting/.test(text)) acked.add(p.name);
      else other.push(`${p.name}: ${res.status} ${text.slice(0, 80)}`);
    };
    // Five at a time, so commands are in flight at the moment of the kill.
    const pending = [...people];
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        for (let p = pending.shift(); p; p = pending.shift()) await send(p);
      }),
    );
    await bot.exited;
    rmSync(dir, { recursive: true, force: true });
    expect(acked.size, other.join('\n')).toBeGreaterThanOrEqual(10);
    expect(acked.size).toBeLessThan(30);
    // Every answer that was not "queued" was no answer at all (the process was gone).
    for (const o of other) expect(o).toMatch(/: 0 /);
    await until(
      'a mail for every acked command',
      () =>
        [...acked].every((n) => s.smtp.messages.some((m) => m.to.includes(`${n}@example.com`)))
          ? true
          : undefined,
      60_000,
    );
    const queue = new Queue('reset-password', { connection: s.redis, prefix: s.prefix });
    try {
      await until(
        'the queue is idle',
        async () => {
          const c = await queue.getJobCounts('waiting', 'active', 'delayed');
          return (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0 ? true : undefined;
        },
        60_000,
      );
    } finally {
      await queue.close();
    }
    const mailsPer = new Map<string, number>();
    for (const m of s.smtp.messages) for (const to of m.to) mailsPer.set(to, (mailsPer.get(to) ?? 0) + 1);
    for (const [to, n] of mailsPer) expect(n, to).toBe(1);
    const changes = s.logs.filter((l) => l.includes('login profile updated')).length;
    expect(changes).toBe(s.smtp.messages.length);
  }, 180_000);
});
