// Fault 3: Redis (appendonly yes, fsync at every write) SIGKILLed and started again on the same port
// and directory, during a burst of commands and while a maintenance window's notices are pending.
// The bot and two workers run as their own processes and must reconnect by themselves.
import { describe, expect, onTestFinished } from 'vitest';
import { createSlackClient } from '../../devkit/index.js';
import { makeKey } from '../fixtures/keys.js';
import { startAofRedis } from '../helpers/aof-redis.js';
import { SIGNING_SECRET, type StackPerson, seedIamUser } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { faultLine, it, queueIdle, sleep } from './harness.js';

const OUTAGE_MS = 4_000;
const CHANNEL = 'C0MAINT';

async function readyz(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

describe('a Redis restart', () => {
  it('during a burst and with notices pending: every queued command runs once, nothing refused runs, every notice goes out once; /readyz 503 then 200', async ({
    startStack,
    lanes,
  }) => {
    const aof = await startAofRedis();
    // After the stack is closed: it deletes its keys from this Redis.
    onTestFinished(() => aof.close());
    const people: StackPerson[] = [
      { slack: 'U0OPS', name: 'ops', key: await makeKey('ops@example.com'), iamUsers: {} },
    ];
    for (let i = 0; i < 24; i++) {
      const name = `redis${i}`;
      people.push({
        slack: `U0REDIS${i}`,
        name,
        key: await makeKey(`${name}@example.com`),
        iamUsers: { 'osio-dev': name },
      });
    }
    const users = people.slice(1);
    const s = await startStack({
      people,
      redisUrl: aof.url,
      topology: { bots: 1, workers: 0 },
      extraConfig: { maintenance: { emailTo: ['stakeholders@example.com'], remindBefore: ['1d'] } },
    });
    // The test's own reader connection: its reconnect errors while Redis is away are expected.
    s.redis.on('error', () => {});
    for (const p of users) await seedIamUser(s.iam('osio-dev'), p.name);
    const [bot] = await Promise.all([
      lanes.start('bot', 'bot'),
      lanes.startMany(['worker-1', 'worker-2'], 'worker'),
    ]);
    const botUrl = bot.proc.url as string;
    const client = createSlackClient({ url: `${botUrl}/slack/events`, signingSecret: SIGNING_SECRET });
    const command = (userId: string, cmd: string, text = '') =>
      client
        .command({ command: cmd, text, userId, responseUrl: s.slack.responseUrl('C0GENERAL', userId) })
        .then((res) => ({
          status: res.status,
          text: (res.json as { text?: string } | undefined)?.text ?? res.body,
        }))
        .catch((err: Error) => ({ status: 0, text: String(err.cause ?? err.message) }));

    // A window whose start and end notices are pending in Redis across the restart.
    const scheduled = await command('U0OPS', '/maintenance', 'schedule +16s 6s Restart test');
    const windowId = /`(mw-[0-9a-f]+)`/.exec(scheduled.text)?.[1] as string;
    expect(windowId, scheduled.text).toBeTruthy();
    const ann = await until(
      'the announcement',
      () =>
        s.slack
          .messages(CHANNEL)
          .find((m) => !m.thread_ts && JSON.stringify(m.blocks ?? '').includes(windowId)),
      20_000,
    );

    const queued = new Map<string, number>();
    const refused = new Set<string>();
    const maybe = new Set<string>();
    const other: string[] = [];
    let answered = 0;
    let killedAt = 0;
    let restartedAt = 0;
    let readyAt = 0;
    const statusesWhileDown: number[] = [];
    let outage: Promise<void> | undefined;
    const restart = async () => {
      await sleep(OUTAGE_MS / 2);
      statusesWhileDown.push(await readyz(botUrl));
      await sleep(OUTAGE_MS / 2);
      statusesWhileDown.push(await readyz(botUrl));
      await aof.start();
      restartedAt = Date.now();
      await until(
        '/readyz 200 again',
        async () => ((await readyz(botUrl)) === 200 ? true : undefined),
        30_000,
        100,
      );
      readyAt = Date.now();
    };
    // Eighteen in the burst that the restart interrupts; the last six once Redis is back.
    const pending = users.slice(0, 18);
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        for (let p = pending.shift(); p; p = pending.shift()) {
          const res = await command(p.slack, '/reset-password');
          answered += 1;
          if (answered === 6) {
            killedAt = Date.now();
            outage = aof.kill().then(restart);
          }
          if (res.status === 200 && /Queued: resetting/.test(res.text)) queued.set(p.name, Date.now());
          else if (/nothing was queued or changed and nothing will run/.test(res.text)) refused.add(p.name);
          else if (/may still run/.test(res.text) || res.status !== 200) maybe.add(p.name);
          else other.push(`${p.name}: ${res.status} ${res.text.slice(0, 120)}`);
          await sleep(250);
        }
      }),
    );
    await outage;
    for (const p of users.slice(18)) {
      const res = await command(p.slack, '/reset-password');
      if (res.status === 200 && /Queued: resetting/.test(res.text)) queued.set(p.name, Date.now());
      else other.push(`${p.name} (after the restart): ${res.status} ${res.text.slice(0, 120)}`);
    }
    expect(other).toEqual([]);
    expect(statusesWhileDown).toEqual([503, 503]);
    const queuedAfter = [...queued].filter(([, at]) => at > restartedAt).length;
    expect(queuedAfter, 'commands queued after the restart').toBeGreaterThan(0);

    const mailed = (name: string) =>
      s.smtp.messages.filter((m) => m.to.includes(`${name}@example.com`)).length;
    await until(
      'a mail for every queued command',
      () => ([...queued.keys()].every((n) => mailed(n) > 0) ? true : undefined),
      60_000,
    );
    const replies = () => s.slack.messages(CHANNEL).filter((m) => m.thread_ts === ann.ts);
    await until('the completion notice', () => replies().find((m) => /is complete/.test(m.text)), 40_000);
    await queueIdle(s, 'reset-password');
    await sleep(1_500);
    const lastMail = Math.max(
      ...s.smtp.messages
        .filter((m) => users.some((p) => m.to.includes(`${p.name}@example.com`)))
        .map((m) => m.receivedAt.getTime()),
    );
    const thread = replies().map((m) => /has started|is complete/.exec(m.text)?.[0]);
    const noticeMails = s.smtp.messages
      .filter((m) => m.to.includes('stakeholders@example.com'))
      .map((m) => m.text.split(':')[0]);
    const lost =
      [...queued.keys()].filter((n) => mailed(n) === 0).length +
      ['has started', 'is complete'].filter((t) => !thread.includes(t)).length;
    const doubled =
      users.filter((p) => mailed(p.name) > 1).length +
      [...refused].filter((n) => mailed(n) > 0).length +
      Math.max(0, thread.length - 2) +
      Math.max(0, noticeMails.length - 3);
    const changes = lanes.awsCalls('UpdateLoginProfile');
    faultLine({
      fault: `Redis (AOF) SIGKILL + restart, ${OUTAGE_MS / 1000} s away, during a burst of 24 resets with notices pending`,
      lost,
      doubled,
      recoveryMs: Math.max(lastMail, readyAt) - restartedAt,
      note: `/readyz 200 ${((readyAt - restartedAt) / 1000).toFixed(1)} s after the restart; ${queued.size} queued (${queuedAfter} after the restart), ${refused.size} refused, ${maybe.size} unconfirmed`,
    });
    for (const n of queued.keys()) expect(mailed(n), n).toBe(1);
    for (const n of refused) expect(mailed(n), `${n} was told nothing would run`).toBe(0);
    for (const p of users) expect(mailed(p.name), p.name).toBeLessThanOrEqual(1);
    expect(changes).toBe(s.smtp.messages.length - noticeMails.length);
    expect(thread).toEqual(['has started', 'is complete']);
    expect(noticeMails).toEqual(['Announcement', 'Started', 'Completed']);
    expect(killedAt).toBeGreaterThan(0);
  });
});
