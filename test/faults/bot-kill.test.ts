// Fault 2: SIGKILL of one of two bot processes in the middle of a burst of commands. A command the
// bot answered "Queued" must run exactly once; one that got no answer (the process was gone) may
// have run or not, but never twice.
import { describe, expect } from 'vitest';
import { createSlackClient } from '../../devkit/index.js';
import { makeKey } from '../fixtures/keys.js';
import { SIGNING_SECRET, type StackPerson, seedIamUser } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { faultLine, it, queueIdle, sleep } from './harness.js';

describe('SIGKILL of a bot process during a burst', () => {
  it('two bots, one killed after 10 answers of 30 resets: every command acked as queued runs once, none twice', async ({
    startStack,
    lanes,
  }) => {
    const people: StackPerson[] = [];
    for (let i = 0; i < 30; i++) {
      const name = `burst${i}`;
      people.push({
        slack: `U0BURST${i}`,
        name,
        key: await makeKey(`${name}@example.com`),
        iamUsers: { 'osio-dev': name },
      });
    }
    const s = await startStack({ people, topology: { bots: 1, workers: 0 } });
    for (const p of people) await seedIamUser(s.iam('osio-dev'), p.name);
    const [botA, botB] = await lanes.startMany(['bot-a', 'bot-b'], 'bot');
    await lanes.start('worker', 'worker');
    const clients = [botA, botB].map((l) =>
      createSlackClient({ url: `${l?.proc.url}/slack/events`, signingSecret: SIGNING_SECRET }),
    );
    const acked = new Set<string>();
    const unanswered = new Set<string>();
    const other: string[] = [];
    let answered = 0;
    let killedAt = 0;
    const send = async (p: StackPerson, i: number) => {
      const res = await (clients[i % 2] as (typeof clients)[number])
        .command({
          command: '/reset-password',
          text: '',
          userId: p.slack,
          responseUrl: s.slack.responseUrl('C0GENERAL', p.slack),
        })
        .catch((err: Error) => ({ status: 0, body: String(err.cause ?? err.message), json: undefined }));
      answered += 1;
      if (answered === 10) {
        killedAt = Date.now();
        void botA?.proc.kill();
      }
      const text = (res.json as { text?: string } | undefined)?.text ?? res.body;
      if (res.status === 200 && /Queued: resetting/.test(text)) acked.add(p.name);
      else if (res.status === 0) unanswered.add(p.name);
      else other.push(`${p.name}: ${res.status} ${text.slice(0, 100)}`);
    };
    // Five at a time, alternating between the bots, so commands are in flight at the kill.
    const pending = people.map((p, i) => [p, i] as const);
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        for (let next = pending.shift(); next; next = pending.shift()) await send(next[0], next[1]);
      }),
    );
    expect(other, 'every answer is "queued" or none at all').toEqual([]);
    expect(acked.size).toBeGreaterThanOrEqual(15);
    const mailed = (name: string) =>
      s.smtp.messages.filter((m) => m.to.includes(`${name}@example.com`)).length;
    await until(
      'a mail for every acked command',
      () => ([...acked].every((n) => mailed(n) > 0) ? true : undefined),
      60_000,
    );
    const lastMail = Math.max(...s.smtp.messages.map((m) => m.receivedAt.getTime()));
    await queueIdle(s, 'reset-password');
    await sleep(1_000);
    const lost = [...acked].filter((n) => mailed(n) === 0).length;
    const doubled = people.filter((p) => mailed(p.name) > 1).length;
    const changes = lanes.awsCalls('UpdateLoginProfile');
    faultLine({
      fault: 'bot SIGKILL (1 of 2) during a burst of 30 resets',
      lost,
      doubled: doubled + Math.max(0, changes - s.smtp.messages.length),
      recoveryMs: lastMail - killedAt,
      note: `${acked.size} acked, ${unanswered.size} unanswered (their bot was gone), ${s.smtp.messages.length} ran`,
    });
    expect(lost).toBe(0);
    expect(doubled).toBe(0);
    expect(changes).toBe(s.smtp.messages.length);
    // The surviving bot still answers, and a command sent anew by someone left unanswered runs once.
    const retry = [...unanswered].find((n) => mailed(n) === 0);
    if (retry) {
      const res = await clients[1]?.command({
        command: '/reset-password',
        text: '',
        userId: people.find((p) => p.name === retry)?.slack as string,
        responseUrl: s.slack.responseUrl('C0GENERAL', 'U0RETRY'),
      });
      expect((res?.json as { text?: string } | undefined)?.text).toMatch(/Queued: resetting/);
      await until('the retried reset', () => (mailed(retry) === 1 ? true : undefined), 30_000);
    }
  });
});
