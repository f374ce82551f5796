// /maintenance on real Redis, real SMTP, signed requests and the fake Slack API, with short real
// windows (seconds) through the production code paths: delayed BullMQ jobs posting notices.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { createSlackClient, type FakeSlackMessage } from '../../devkit/index.js';
import { systemClock } from '../../infra/clock.js';
import type { Config } from '../../infra/config.js';
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
import { it, SIGNING_SECRET, type Stack, type StackOptions } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CHANNEL = 'C0MAINT';
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function maintOptions(
  extra: Record<string, unknown> = {},
  topology?: { bots: number; workers: number },
): StackOptions {
  return {
    extraConfig: {
      maintenance: { emailTo: ['stakeholders@example.com'], remindBefore: ['10s'] },
      ...extra,
    },
    ...(topology ? { topology } : {}),
  };
}

async function schedule(s: Stack, args: string): Promise<string> {
  const res = await s.command('U0OPS', '/maintenance', `schedule ${args}`);
  const id = /`(mw-[0-9a-f]+)`/.exec(res.text)?.[1];
  if (!id) throw new Error(`not scheduled: ${res.text}`);
  return id;
}

function announcement(s: Stack, id: string): FakeSlackMessage | undefined {
  return s.slack.messages(CHANNEL).find((m) => !m.thread_ts && JSON.stringify(m.blocks ?? '').includes(id));
}

function replies(s: Stack, ts: string): FakeSlackMessage[] {
  return s.slack.messages(CHANNEL).filter((m) => m.thread_ts === ts);
}

/** When the fake Slack accepted the post whose text matches. */
function postedAt(s: Stack, re: RegExp): number[] {
  return s.slack
    .callsTo('chat.postMessage')
    .filter((c) => re.test(String(c.args.text)) && !/ratelimited/.test(JSON.stringify(c)))
    .map((c) => c.at);
}

describe('/maintenance notices', () => {
  it('posts announcement, reminder, start and completion once each, on time, with two workers; edits the announcement; mails each', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions({}, { bots: 1, workers: 2 }));
    const t0 = Date.now();
    const id = await schedule(s, '+25s 20s Demo window');
    const ann = await until('the announcement', () => announcement(s, id));
    expect(JSON.stringify(ann.blocks)).toMatch(/Scheduled: \*\[MAINTENANCE\] Demo window\*/);
    expect(JSON.stringify(ann.blocks)).toMatch(/<!date\^\d+\^/);
    await until(
      'the completion',
      () => (replies(s, ann.ts).some((m) => /is complete/.test(m.text)) ? true : undefined),
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1_500)); // anything doubled would arrive by now
    const thread = replies(s, ann.ts).map((m) => m.text);
    expect(thread).toHaveLength(3);
    expect(thread[0]).toMatch(/Reminder: \*Demo window\* starts/);
    expect(thread[1]).toMatch(/has started/);
    expect(thread[2]).toMatch(/is complete/);
    // Each within 2 s of its time: reminder at +15 s, start at +25 s, completion at +45 s.
    const [remind] = postedAt(s, /Reminder/);
    const [start] = postedAt(s, /has started/);
    const [end] = postedAt(s, /is complete/);
    expect(Math.abs((remind as number) - (t0 + 15_000))).toBeLessThan(2_000);
    expect(Math.abs((start as number) - (t0 + 25_000))).toBeLessThan(2_000);
    expect(Math.abs((end as number) - (t0 + 45_000))).toBeLessThan(2_000);
    // Start and completion are broadcast to the channel too.
    const broadcast = s.slack
      .callsTo('chat.postMessage')
      .filter((c) => c.args.reply_broadcast === true || c.args.reply_broadcast === 'true');
    expect(broadcast.map((c) => String(c.args.text).slice(0, 40))).toHaveLength(2);
    // The announcement went through every state.
    const edits = s.slack.callsTo('chat.update').map((c) => JSON.stringify(c.args.blocks));
    expect(edits.some((b) => b.includes('In progress'))).toBe(true);
    expect(JSON.stringify(announcement(s, id)?.blocks)).toMatch(/Completed/);
    const subjects = s.smtp.messages.map((m) => m.subject);
    expect(subjects).toEqual(Array(4).fill('[MAINTENANCE] Demo window'));
    expect(s.smtp.messages.map((m) => m.text.split(':')[0])).toEqual([
      'Announcement',
      'Reminder',
      'Started',
      'Completed',
    ]);
    // Both workers posted notices; each mail is a job of its own.
    const rows = (await s.auditRows()).filter(
      (r) => r.action === 'maintenance.notice' && r.outcome === 'succeeded',
    );
    expect(rows.filter((r) => !/ mail-/.test(r.target ?? ''))).toHaveLength(4);
    expect(rows.filter((r) => / mail-/.test(r.target ?? ''))).toHaveLength(4);
  }, 90_000);

  it('a worker SIGKILLed before the start and restarted after it: start once, marked late; missed reminder skipped; completion on time', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions({}, { bots: 1, workers: 0 }));
    const startWorker = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bot/main.ts'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ...s.env, CHATOPS_ROLE: 'worker', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      return { child, output: () => out };
    };
    const first = startWorker();
    await until('the worker runs', () => first.output().includes('workers started'), 30_000);
    const t0 = Date.now();
    const id = await schedule(s, '+15s 15s Kill test');
    const ann = await until('the announcement', () => announcement(s, id));
    await until('the announce job done', async () =>
      (await s.auditRows()).some((r) => r.action === 'maintenance.notice' && r.outcome === 'succeeded')
        ? true
        : undefined,
    );
    first.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + 22_000 - Date.now())));
    const second = startWorker();
    await until('the late start', () => replies(s, ann.ts).find((m) => /has started/.test(m.text)), 30_000);
    await until('the completion', () => replies(s, ann.ts).find((m) => /is complete/.test(m.text)), 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const thread = replies(s, ann.ts).map((m) => m.text);
    expect(thread).toHaveLength(2);
    expect(thread[0]).toMatch(/has started.*late: due/);
    expect(thread[1]).not.toMatch(/late/);
    const [end] = postedAt(s, /is complete/);
    expect(Math.abs((end as number) - (t0 + 30_000))).toBeLessThan(2_000);
    expect(second.output()).toMatch(/"why":"started"/); // the reminder, skipped
  }, 90_000);

  it('cancel between the reminder and the start: cancellation posted and mailed, nothing after, gone from list', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions());
    const id = await schedule(s, '+12s 10s Cancel test');
    const ann = await until('the announcement', () => announcement(s, id));
    await until('the reminder', () => replies(s, ann.ts).find((m) => /Reminder/.test(m.text)), 20_000);
    expect((await s.command('U0OPS', '/maintenance', 'list')).text).toContain(id);
    expect((await s.command('U0OPS', '/maintenance', `cancel ${id}`)).text).toMatch(/Cancelled/);
    await until('the cancellation', () => replies(s, ann.ts).find((m) => /cancelled/.test(m.text)));
    expect((await s.command('U0OPS', '/maintenance', 'list')).text).not.toContain(id);
    await new Promise((r) => setTimeout(r, 12_000)); // past the planned start
    expect(replies(s, ann.ts).map((m) => m.text.slice(0, 30))).toHaveLength(2);
    expect(JSON.stringify(announcement(s, id)?.blocks)).toMatch(/Cancelled/);
    expect(s.smtp.messages.map((m) => m.text.split(':')[0])).toEqual([
      'Announcement',
      'Reminder',
      'Cancelled',
    ]);
  }, 60_000);

  it('extend moves the completion notice', async ({ startStack }) => {
    const s = await startStack(maintOptions({ maintenance: { remindBefore: ['1d'] } }));
    const t0 = Date.now();
    const id = await schedule(s, '+2s 6s Extend test');
    const ann = await until('the announcement', () => announcement(s, id));
    expect((await s.command('U0OPS', '/maintenance', `extend ${id} 6s`)).text).toMatch(/Extended/);
    await until('the extension notice', () => replies(s, ann.ts).find((m) => /extended/.test(m.text)));
    await until('the completion', () => replies(s, ann.ts).find((m) => /is complete/.test(m.text)), 30_000);
    const [end] = postedAt(s, /is complete/);
    expect(Math.abs((end as number) - (t0 + 14_000))).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(replies(s, ann.ts).filter((m) => /is complete/.test(m.text))).toHaveLength(1);
  }, 60_000);

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

describe('/maintenance input', () => {
  it('refuses bad times, durations, titles and ids with the reason, and stores and posts nothing', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions());
    const cases: [string, RegExp][] = [
      ['schedule 2020-01-01 10:00 30m Past', /in the past/],
      ['schedule 2026-13-40 25:00 30m Bad date', /month|invalid|not a/i],
      ['schedule +1h 0m Zero', /more than zero/],
      ['schedule +1h -5m Negative', /not a duration|more than zero/],
      ['schedule +1h 31d Long', /30 days/],
      ['schedule +1h 30m', /needs a title/],
      ['cancel mw-ffff', /no maintenance window `mw-ffff`/],
      ['extend mw-ffff 10m', /no maintenance window/],
      ['reboot', /unknown subcommand/],
      ['schedule 2030-01-10 10:00 1h Far', /more than 365 days ahead/],
      ['schedule 2027-01-10T10:00+15:00 1h Offset', /-14:00 to \+14:00/],
    ];
    for (const [text, reason] of cases) {
      const res = await s.command('U0OPS', '/maintenance', text);
      expect(res.text, text).toMatch(reason);
    }
    expect((await s.command('U0ALICE', '/maintenance', 'schedule +1h 30m Not admin')).text).toMatch(
      /not allowed/,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(s.slack.callsTo('chat.postMessage')).toHaveLength(0);
    expect(await s.redis.keys(`${s.prefix}:mw:*`)).toEqual([]);
  });

  it('refuses a local time in a daylight-saving gap', async ({ startStack }) => {
    const stack = await startStack(maintOptions({ timezone: 'Europe/Berlin' }));
    const res = await stack.command('U0OPS', '/maintenance', 'schedule 2027-03-28 02:30 30m Gap');
    expect(res.text).toMatch(/does not exist in Europe\/Berlin/);
    expect(await stack.redis.keys(`${stack.prefix}:mw:*`)).toEqual([]);
  });
});

describe('announcement buttons (block_actions)', () => {
  it('refuses a click from a user who lost the role since the post; a double click cancels once; an unknown action is answered', async ({
    startStack,
  }) => {
    const s = await startStack(maintOptions());
    const id = await schedule(s, '+1h 30m Buttons');
    const ann = await until('the announcement', () => announcement(s, id));
    // A second bot whose config no longer lists U0OPS as admin: the role is read at the click.
    const demoted: Config = Object.freeze({ ...s.config, roles: { admin: ['U0CAROL'] } });
    const other = await s.startInstance('bot', { config: demoted });
    const click = (port: number | undefined, user: string, actionId = 'mw_cancel') =>
      createSlackClient({
        url: `http://127.0.0.1:${port}/slack/events`,
        signingSecret: SIGNING_SECRET,
      }).click({
        userId: user,
        actionId,
        value: id,
        channelId: CHANNEL,
        messageTs: ann.ts,
        responseUrl: s.slack.responseUrl(CHANNEL, user, ann.ts),
      });
    const answers = () => s.slack.callsTo('response_url').map((c) => String(c.args.text));
    expect((await click(other.port, 'U0OPS')).status).toBe(200);
    await until('the denial', () => answers().find((t) => /not allowed/.test(t)));
    expect((await s.command('U0OPS', '/maintenance', 'list')).text).toContain(id);
    // Double click by an admin: one cancellation.
    await Promise.all([click(s.instances[0]?.port, 'U0OPS'), click(s.instances[0]?.port, 'U0OPS')]);
    await until('two answers', () => (answers().length >= 3 ? true : undefined));
    expect(answers().filter((t) => /^:no_entry_sign: Cancelled/.test(t))).toHaveLength(1);
    expect(answers().filter((t) => /already cancelled; nothing changed/.test(t))).toHaveLength(1);
    await until('the cancellation notice', () => replies(s, ann.ts).find((m) => /cancelled/.test(m.text)));
    await new Promise((r) => setTimeout(r, 500));
    expect(replies(s, ann.ts)).toHaveLength(1);
    // A button this bot does not know.
    await click(s.instances[0]?.port, 'U0OPS', 'old_release_button');
    await until('the unknown-action answer', () => answers().find((t) => /not one this bot knows/.test(t)));
    const audit = await s.auditRows();
    expect(audit.filter((r) => r.action === 'maintenance').map((r) => r.outcome)).toEqual(
      expect.arrayContaining(['denied', 'succeeded', 'invalid']),
    );
    expect(audit.some((r) => r.action === 'click' && r.detail === 'unknown action')).toBe(true);
  });
});
