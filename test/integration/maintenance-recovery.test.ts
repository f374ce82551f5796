// /maintenance through faults, on the real parts: a worker SIGKILLed and restarted around the start,
// Slack answering 429, and a Redis error injected between a state write and its follow-up.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished } from 'vitest';
import { type ChatopsProcess, type FakeSlackMessage, startChatopsProcess } from '../../devkit/index.js';
import { systemClock } from '../../infra/clock.js';
import type { Redis } from '../../infra/redis.js';
import {
  cancelWithNotice,
  extendWithNotice,
  MAINTENANCE_QUEUE,
  type MaintenanceDeps,
  noticeJobId,
  scheduleWithNotice,
} from '../../jobs/maintenance/index.js';
import { SCRIPTS, type ScriptName } from '../../jobs/maintenance/scripts.js';
import { getWindow } from '../../jobs/maintenance/store.js';
import { createQueues, type Queues } from '../../jobs/queues.js';
import { announcement, CHANNEL, maintOptions, postedAt, replies, schedule } from '../helpers/maintenance.js';
import { motoUrl } from '../helpers/moto-url.js';
import { it, processEnv, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

describe('/maintenance notices through faults', () => {
  it('a worker SIGKILLed before the start and restarted after it: start once, marked late; missed reminder skipped; completion on time', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions({}, { bots: 1, workers: 0 }));
    const logDir = mkdtempSync(join(tmpdir(), 'chatops-maint-'));
    const startWorker = async (name: string): Promise<ChatopsProcess> => {
      const proc = await startChatopsProcess({
        name,
        role: 'worker',
        logPath: join(logDir, `${name}.log`),
        env: processEnv(s.env, { AWS_ENDPOINT_URL: motoUrl() }),
      });
      onTestFinished(() => proc.kill());
      return proc;
    };
    const first = await startWorker('worker-1');
    const t0 = Date.now();
    const id = await schedule(s, '+15s 15s Kill test');
    const ann = await until('the announcement', () => announcement(s, id));
    await until('the announce job done', async () =>
      (await s.auditRows()).some((r) => r.action === 'maintenance.notice' && r.outcome === 'succeeded')
        ? true
        : undefined,
    );
    await first.kill();
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + 22_000 - Date.now())));
    const second = await startWorker('worker-2');
    await until('the late start', () => replies(s, ann.ts).find((m) => /has started/.test(m.text)), 30_000);
    await until('the completion', () => replies(s, ann.ts).find((m) => /is complete/.test(m.text)), 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const thread = replies(s, ann.ts).map((m) => m.text);
    expect(thread).toHaveLength(2);
    expect(thread[0]).toMatch(/has started.*late: due/);
    expect(thread[1]).not.toMatch(/late/);
    const [end] = postedAt(s, /is complete/);
    expect(Math.abs((end as number) - (t0 + 30_000))).toBeLessThan(2_000);
    expect(second.logged((r) => r.why === 'started')).toBe(true); // the reminder, skipped
  }, 90_000);

  it('loses no notice, doubles none and keeps thread order when Slack answers 429 to every third message', async ({
    startStack,
  }) => {
    const stack = await startStack(maintOptions());
    const s = stack;
    let posts = 0;
    s.slack.onCall((c) => {
      if (c.method === 'chat.postMessage' && ++posts % 3 === 2)
        s.slack.failNext('chat.postMessage', 'ratelimited', 1);
    });
    const ids = [await schedule(s, '+12s 4s One'), await schedule(s, '+12s 4s Two')];
    for (const id of ids) {
      const ann = await until('the announcement', () => announcement(s, id), 30_000);
      await until('the completion', () => replies(s, ann.ts).find((m) => /is complete/.test(m.text)), 40_000);
    }
    await new Promise((r) => setTimeout(r, 1_500));
    for (const id of ids) {
      const ann = announcement(s, id) as FakeSlackMessage;
      expect(replies(s, ann.ts).map((m) => /Reminder|started|complete/.exec(m.text)?.[0])).toEqual([
        'Reminder',
        'started',
        'complete',
      ]);
    }
    // 8 messages went out (2 announcements, 6 replies); the calls beyond them were answered 429 and retried.
    expect(s.slack.messages(CHANNEL)).toHaveLength(8);
    expect(posts).toBeGreaterThanOrEqual(10);
  }, 90_000);
});

/**
 * The stack's Redis and queues for calling the command-side functions directly, with a fault injected:
 * the first `eval` whose script matches `failing` (a state write) throws as a Redis error would.
 */
function faultyDeps(s: Stack, failing: RegExp): MaintenanceDeps & { queues: Queues; injected: () => number } {
  let injected = 0;
  const redis = new Proxy(s.redis, {
    get(target, prop, receiver) {
      // A window's scripts run as commands of their own (defineCommand: jobs/maintenance/scripts.ts).
      const lua = typeof prop === 'string' && prop in SCRIPTS ? SCRIPTS[prop as ScriptName].lua : undefined;
      if (prop === 'eval' || lua !== undefined) {
        return (...args: unknown[]) => {
          if (injected === 0 && failing.test(lua ?? String(args[0]))) {
            injected += 1;
            return Promise.reject(new Error('injected: Redis connection lost'));
          }
          return (Reflect.get(target, prop) as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as Redis;
  const queues = createQueues({ connection: s.redis, prefix: s.prefix, config: s.config });
  return { redis, prefix: s.prefix, queues, clock: systemClock, config: s.config, injected: () => injected };
}

const by = { requestId: 'req-fault-test', requester: 'U0OPS' };

function newWindow(s: Stack, title: string, startInMs: number, durationMs: number) {
  const now = Date.now();
  return {
    title,
    start: now + startInMs,
    end: now + startInMs + durationMs,
    createdBy: 'U0OPS',
    createdAt: now,
    requestId: `req-${title.replace(/\W/g, '')}`,
    ...s.config.maintenance.defaults,
  };
}

describe('state and its follow-up written together (a Redis error injected between them)', () => {
  it('schedule: the announce job is queued first; the window it carries is stored by the job, then announced', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions({}, { bots: 0, workers: 1 }));
    const deps = faultyDeps(s, /return redis\.call\('HGET', KEYS\[1\], 'requestId'\)/);
    const done = await scheduleWithNotice(deps, newWindow(s, 'Fault after enqueue', 20_000, 10_000), {
      dedupKey: 'fault-test-1',
    });
    expect(deps.injected()).toBe(1);
    expect(done.status).toBe('scheduled');
    const ann = await until('the announcement', () => announcement(s, done.windowId));
    const w = await until('the window with its announcement', async () => {
      const found = await getWindow({ redis: s.redis, prefix: s.prefix }, done.windowId);
      return found?.ts ? found : undefined;
    });
    expect(w).toMatchObject({ title: 'Fault after enqueue', state: 'scheduled', ts: ann.ts });
    const q = deps.queues.queue(MAINTENANCE_QUEUE);
    await until('its start and end queued', async () =>
      (await q.getJobState(noticeJobId(done.windowId, { notice: 'start' }))) === 'delayed' ? true : undefined,
    );
    expect(await q.getJobState(noticeJobId(done.windowId, { notice: 'end', end: w?.end }))).toBe('delayed');
    await deps.queues.close();
  });

  it('schedule: an enqueue that fails stores nothing, and the same command can then be run again', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions({}, { bots: 0, workers: 1 }));
    const deps = faultyDeps(s, /^$/);
    const broken = {
      ...deps,
      queues: {
        ...deps.queues,
        enqueue: () => Promise.reject(new Error('injected: Redis connection lost')),
      } as Queues,
    };
    await expect(
      scheduleWithNotice(broken, newWindow(s, 'No enqueue', 20_000, 10_000), { dedupKey: 'fault-test-2' }),
    ).rejects.toThrow(/injected/);
    expect(await s.redis.keys(`${s.prefix}:mw:*`)).toEqual([]);
    expect(await deps.queues.queue(MAINTENANCE_QUEUE).getJobCounts()).toMatchObject({
      delayed: 0,
      waiting: 0,
    });
    const again = await scheduleWithNotice(deps, newWindow(s, 'No enqueue', 20_000, 10_000), {
      dedupKey: 'fault-test-2',
    });
    expect(again.status).toBe('scheduled');
    await until('the announcement', () => announcement(s, again.windowId));
    await deps.queues.close();
  });

  it('extend: the command dies after queueing the notice; its job moves the end, queues the new end notice and posts both', async ({
    startStack,
  }) => {
    const s = await startStack(
      maintOptions({ maintenance: { remindBefore: ['1d'] } }, { bots: 0, workers: 1 }),
    );
    const deps = faultyDeps(s, /n:extend-/);
    const done = await scheduleWithNotice(deps, newWindow(s, 'Extend fault', 5_000, 4_000), {
      dedupKey: 'fault-test-3',
    });
    const ann = await until('the announcement', () => announcement(s, done.windowId));
    const ws = { redis: s.redis, prefix: s.prefix };
    const before = (await getWindow(ws, done.windowId))?.end as number;
    await expect(
      extendWithNotice(deps, done.windowId, { from: before, to: before + 4_000 }, by),
    ).rejects.toThrow(/injected/);
    await until('the extension notice', () => replies(s, ann.ts).find((m) => /extended/.test(m.text)));
    expect((await getWindow(ws, done.windowId))?.end).toBe(before + 4_000);
    await until('the completion', () => replies(s, ann.ts).find((m) => /is complete/.test(m.text)), 30_000);
    // At the moved end, not the old one.
    const [end] = postedAt(s, /is complete/);
    expect(end as number).toBeGreaterThanOrEqual(before + 4_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(replies(s, ann.ts).map((m) => /extended|started|complete/.exec(m.text)?.[0])).toEqual([
      'extended',
      'started',
      'complete',
    ]);
    await deps.queues.close();
  }, 60_000);

  it('cancel: the command dies after queueing the cancellation; its job cancels the window and posts it', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions({}, { bots: 0, workers: 1 }));
    const deps = faultyDeps(s, /cancelledBy/);
    const done = await scheduleWithNotice(deps, newWindow(s, 'Cancel fault', 20_000, 10_000), {
      dedupKey: 'fault-test-4',
    });
    const ann = await until('the announcement', () => announcement(s, done.windowId));
    await expect(cancelWithNotice(deps, done.windowId, by)).rejects.toThrow(/injected/);
    await until('the cancellation', () => replies(s, ann.ts).find((m) => /cancelled/.test(m.text)));
    expect((await getWindow({ redis: s.redis, prefix: s.prefix }, done.windowId))?.state).toBe('cancelled');
    await until('the announcement edited', () =>
      /Cancelled/.test(JSON.stringify(announcement(s, done.windowId)?.blocks)),
    );
    await deps.queues.close();
  });

  it('a repeat of the same schedule command is answered as a duplicate, not a second window', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions());
    const first = await s.command('U0OPS', '/maintenance', 'schedule +1h 30m Twice');
    const id = /`(mw-[0-9a-f]+)`/.exec(first.text)?.[1];
    expect(first.text).toMatch(/Scheduled/);
    const second = await s.command('U0OPS', '/maintenance', 'schedule  +1h 30m   Twice');
    expect(second.text).toMatch(/You just scheduled this/);
    expect(second.text).toContain(`\`${id}\``);
    // Someone else, or another title, is a new window.
    expect((await s.command('U0OPS', '/maintenance', 'schedule +1h 30m Twice more')).text).toMatch(
      /Scheduled/,
    );
    await until('two announcements', () => (s.slack.messages(CHANNEL).length >= 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    expect(s.slack.messages(CHANNEL)).toHaveLength(2);
    expect(await s.redis.keys(`${s.prefix}:mw:w:*`)).toHaveLength(2);
  });
});
