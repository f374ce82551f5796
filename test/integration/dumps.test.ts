// Dump checks and alerts on real Redis, moto S3, signed requests and the fake Slack API. Schedules
// fire within seconds: the test config uses the optional leading seconds field of the cron (the same
// BullMQ job schedulers and cron library as a 5-field production cron), with graceMinutes 0.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import { DateTime } from 'luxon';
import { describe, expect } from 'vitest';
import { createSlackClient, type FakeSlackMessage } from '../../devkit/index.js';
import { dumpObjectKey, putDump as putWorldDump, seedDumpsWorld } from '../../devkit/worlds/index.js';
import { createWindow } from '../../jobs/maintenance/store.js';
import { postDumpReport } from '../helpers/dumps.js';
import { dumpRedis, it, SIGNING_SECRET, type Stack, type StackOptions, testWorld } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ALERTS = 'C0ALERTS';
const BUCKET = 'jram-gghouse';
const SECRET = 'dump-webhook-secret-Qv93-not-real';
const JOB = 'ggh_datatransit';
const BASE_SIZE = 10_000;

/** A fixed-offset zone where it is about noon now, so "today" cannot change while a test runs. */
function noonZone(): string {
  let offset = 12 - new Date().getUTCHours();
  if (offset > 14) offset -= 24;
  if (offset < -12) offset += 24;
  return offset === 0 ? 'Etc/UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}
const ZONE = noonZone();

function day(daysAgo: number): string {
  return DateTime.now().setZone(ZONE).minus({ days: daysAgo }).toFormat('yyyyMMdd');
}

async function putDump(job: string, daysAgo: number, size: number): Promise<void> {
  const key = dumpObjectKey('dumps/', job, day(daysAgo));
  await putWorldDump({ ...testWorld(), account: 'osio', bucket: BUCKET, key, bytes: size });
}

/** The bucket with the previous 7 days' dumps of each job (sizes around BASE_SIZE): devkit's dumps world. */
async function seedWeek(jobs: string[]): Promise<void> {
  await seedDumpsWorld({
    ...testWorld(),
    account: 'osio',
    bucket: BUCKET,
    jobs,
    days: 7,
    from: 1,
    zone: ZONE,
    size: (d) => BASE_SIZE + d.daysAgo * 10,
  });
}

/** A seconds-field cron that fires at these many seconds from now (and then once a minute at those seconds). */
function cronIn(...seconds: number[]): string {
  const now = Date.now();
  const secs = seconds.map((s) => new Date(now + s * 1000).getUTCSeconds());
  return `${[...new Set(secs)].join(',')} * * * * *`;
}

function dumpsConfig(jobs: { name: string; cron: string }[]) {
  return {
    timezone: ZONE,
    dumps: {
      account: 'osio',
      bucket: BUCKET,
      mention: '@here',
      jobs: jobs.map((j) => ({ ...j, prefix: 'dumps/', graceMinutes: 0, sizeTolerancePct: 20 })),
    },
  };
}

function dumpOptions(opts: {
  jobs: () => { name: string; cron: string }[];
  seed?: () => Promise<void>;
  topology?: { bots: number; workers: number };
}): StackOptions {
  return {
    env: { DUMP_WEBHOOK_SECRET: SECRET },
    ...(opts.topology ? { topology: opts.topology } : {}),
    // The cron is computed after the seeding, right before the bot starts, so "in 5 s" holds.
    seed: async () => {
      await opts.seed?.();
      return dumpsConfig(opts.jobs());
    },
  };
}

const topLevel = (s: Stack) => s.slack.messages(ALERTS).filter((m) => !m.thread_ts && !m.ephemeral);
const alertFor = (s: Stack, job: string) =>
  topLevel(s).find(
    (m) => JSON.stringify(m.blocks ?? '').includes(`da-${job}-`) || m.text.includes(` ${job} `),
  );
const thread = (s: Stack, ts: string) => s.slack.messages(ALERTS).filter((m) => m.thread_ts === ts);
const shown = (m: FakeSlackMessage | undefined) => `${m?.text ?? ''}\n${JSON.stringify(m?.blocks ?? [])}`;
const current = (s: Stack, ts: string) => s.slack.messages(ALERTS).find((m) => m.ts === ts);

function click(s: Stack, user: string, actionId: string, value: string, ts: string) {
  return createSlackClient({ url: `${s.baseUrl}/slack/events`, signingSecret: SIGNING_SECRET }).click({
    userId: user,
    actionId,
    value,
    channelId: ALERTS,
    messageTs: ts,
    responseUrl: s.slack.responseUrl(ALERTS, user, ts),
  });
}
const answers = (s: Stack) => s.slack.callsTo('response_url').map((c) => String(c.args.text));

function hook(
  s: Stack,
  body: string,
  o: { secret?: string; ts?: number; sig?: string } = {},
): Promise<{ status: number; error?: string }> {
  return postDumpReport(s, body, { ...o, secret: o.secret ?? SECRET });
}

/** Audit rows of the dump jobs, by target. */
async function checkRows(s: Stack, pattern: RegExp): Promise<Record<string, string>[]> {
  return (await s.auditRows()).filter((r) => r.action === 'dumps.check' && pattern.test(r.target ?? ''));
}

describe('scheduled dump checks and the alert of the day', () => {
  it('a missing dump: one alert with both buttons, edited by the second check; Acknowledge shows who; Re-check after the upload resolves it in place and in the thread', async ({
    startStack,
  }) => {
    const s = await startStack(
      dumpOptions({
        seed: () => seedWeek([JOB]),
        jobs: () => [{ name: JOB, cron: cronIn(5, 10) }],
      }),
    );
    const first = await until('the alert', () => alertFor(s, JOB), 20_000);
    const body = shown(first);
    expect(body).toContain('<!here>');
    expect(body).toContain(`dumps/${JOB}_${day(0)}…`);
    expect(body).toMatch(/no such object/);
    expect(body).toContain('"action_id":"dump_ack"');
    expect(body).toContain('"action_id":"dump_recheck"');
    const id = `da-${JOB}-${day(0)}`;
    // The second scheduled check edits the same message.
    await until('the second failure', () => /\*Failures:\* 2/.test(shown(current(s, first.ts))), 20_000);
    expect(topLevel(s)).toHaveLength(1);
    await until('two scheduled checks', async () =>
      (await checkRows(s, new RegExp(`^check ${JOB} \\(scheduled @`))).length === 2 ? true : undefined,
    );

    // Acknowledge: who, and no mention any more; a second click changes nothing.
    await click(s, 'U0BOB', 'dump_ack', id, first.ts);
    await until('the ack answer', () => answers(s).find((t) => /Acknowledged `da-/.test(t)));
    await until('the acknowledged message', () =>
      shown(current(s, first.ts)).includes('Acknowledged by <@U0BOB>') ? true : undefined,
    );
    const acked = shown(current(s, first.ts));
    expect(acked).not.toContain('<!here>');
    expect(acked).not.toContain('dump_ack');
    await click(s, 'U0CAROL', 'dump_ack', id, first.ts);
    await until('the second ack answer', () =>
      answers(s).find((t) => /already acknowledged by <@U0BOB>/.test(t)),
    );

    // Today's object arrives; Re-check resolves.
    await putDump(JOB, 0, BASE_SIZE);
    await click(s, 'U0CAROL', 'dump_recheck', id, first.ts);
    await until('the re-check answer', () =>
      answers(s).find((t) => /Re-checking \*ggh_datatransit\*/.test(t)),
    );
    const reply = await until('the resolved reply', () =>
      thread(s, first.ts).find((m) => /resolved/.test(m.text)),
    );
    expect(reply.text).toContain(`dumps/${JOB}_${day(0)}.sql.gz`);
    const resolved = shown(current(s, first.ts));
    expect(resolved).toMatch(/Resolved: dump \*ggh_datatransit\*/);
    expect(resolved).not.toContain('dump_recheck');
    expect(topLevel(s)).toHaveLength(1);
    // A stale button: nothing changes.
    await click(s, 'U0BOB', 'dump_ack', id, first.ts);
    await until('the stale answer', () =>
      answers(s).find((t) => /already resolved; nothing changed/.test(t)),
    );

    const status = (await s.command('U0ALICE', '/dumps', 'status')).text;
    expect(status).toContain(
      `last object ${DateTime.now().setZone(ZONE).toISODate()}, 9.8 KiB (10,000 bytes)`,
    );
    expect(status).toMatch(/last check .*: ok \(recheck\); no open alert; next check /);
    const audit = await s.auditRows();
    expect(audit.filter((r) => r.action === 'dumps.ack').map((r) => [r.user, r.outcome])).toEqual([
      ['U0BOB', 'succeeded'],
      ['U0CAROL', 'invalid'],
      ['U0BOB', 'invalid'],
    ]);
    expect(
      audit.some(
        (r) => r.action === 'dumps' && r.user === 'U0CAROL' && r.outcome === 'queued' && r.target === id,
      ),
    ).toBe(true);
  }, 60_000);

  it('half the median: an alert naming the expected range; within tolerance: no alert; /dumps check replies with the result', async ({
    startStack,
  }) => {
    const other = 'TenantsALL';
    const s = await startStack(
      dumpOptions({
        seed: async () => {
          await seedWeek([JOB, other]);
          await putDump(JOB, 0, BASE_SIZE / 2);
          await putDump(other, 0, Math.round(BASE_SIZE * 1.1));
        },
        jobs: () => [
          { name: JOB, cron: cronIn(5) },
          { name: other, cron: cronIn(5) },
        ],
      }),
    );
    const alert = await until('the alert', () => alertFor(s, JOB), 20_000);
    const body = shown(alert);
    expect(body).toMatch(/too small/);
    // Median of 10,010…10,070 is 10,040; ±20 %.
    expect(body).toContain('size 7.8 KiB (8,032 bytes) – 11.8 KiB (12,048 bytes)');
    expect(body).toContain('4.9 KiB (5,000 bytes) (50 % of the median)');
    await until(
      'the other check',
      async () => (await checkRows(s, /^check TenantsALL \(scheduled/)).length > 0,
    );
    await new Promise((r) => setTimeout(r, 1_000)); // an alert for it would be posted by now
    expect(topLevel(s)).toHaveLength(1);
    expect(alertFor(s, other)).toBeUndefined();

    const status = (await s.command('U0BOB', '/dumps')).text;
    expect(status).toMatch(
      /\*ggh_datatransit\*.*50 % of the 7-day median.*too-small \(scheduled\); open alert for/,
    );
    expect(status).toMatch(/\*TenantsALL\*.*110 % of the 7-day median.*ok \(scheduled\); no open alert/);

    expect((await s.command('U0BOB', '/dumps', 'check nosuchjob')).text).toMatch(/no dump job "nosuchjob"/);
    expect((await s.command('U0BOB', '/dumps', `check ${other}`)).text).toMatch(/Checking TenantsALL now/);
    const dm = await until('the check result', () =>
      s.slack.messages('D0BOB').find((m) => /Dump check/.test(m.text)),
    );
    expect(dm.text).toMatch(
      /:white_check_mark: \*TenantsALL\* \d{4}-\d\d-\d\d: `dumps\/TenantsALL_\d{8}\.sql\.gz` 10\.7 KiB/,
    );
  }, 60_000);

  it('two workers: each scheduled check runs once per fire; a worker start drops schedulers of jobs no longer configured', async ({
    startStack,
  }) => {
    const s = await startStack(
      dumpOptions({
        seed: async () => {
          await seedWeek([JOB]);
          await putDump(JOB, 0, BASE_SIZE);
        },
        jobs: () => [{ name: JOB, cron: '*/2 * * * * *' }],
        topology: { bots: 1, workers: 2 },
      }),
    );
    const q = new Queue('dumps', { connection: s.redis, prefix: s.prefix });
    try {
      await q.upsertJobScheduler(
        'dump-retired',
        { pattern: '0 3 * * *', tz: ZONE },
        { name: 'tick', data: {} },
      );
      await s.startInstance('worker'); // a third worker, started with a config without `retired`
      await until('the stale scheduler removed', async () =>
        (await q.getJobSchedulers()).every((j) => j.key !== 'dump-retired') ? true : undefined,
      );
      expect((await q.getJobSchedulers()).map((j) => j.key)).toEqual([`dump-${JOB}`]);
      await new Promise((r) => setTimeout(r, 9_000));
      const cutoff = Date.now() - 3_000; // fires older than this have finished
      const rows = await checkRows(s, new RegExp(`^check ${JOB} \\(scheduled @`));
      const byFire = new Map<string, number>();
      for (const r of rows) {
        const at = /@(\S+)\)/.exec(r.target ?? '')?.[1] ?? '';
        byFire.set(at, (byFire.get(at) ?? 0) + 1);
      }
      const settled = [...byFire].filter(([at]) => Date.parse(at) < cutoff);
      expect(settled.length).toBeGreaterThanOrEqual(3);
      expect(settled.every(([, n]) => n === 1)).toBe(true);
      // Consecutive fires, none skipped: every 2 s.
      const times = settled.map(([at]) => Date.parse(at)).sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++)
        expect((times[i] as number) - (times[i - 1] as number)).toBe(2_000);
      const ticks = (await checkRows(s, new RegExp(`^tick ${JOB}$`))).length;
      expect(ticks).toBeGreaterThanOrEqual(settled.length);
      expect(ticks).toBeLessThanOrEqual(byFire.size + 1);
      expect(topLevel(s)).toHaveLength(0);
    } finally {
      await q.close();
    }
  }, 60_000);
});

describe('POST /hooks/dumps', () => {
  it('a signed failed report raises the alert within 2 s; refused requests (401, 413, 400) change nothing; ok triggers the check; the secret is nowhere', async ({
    startStack,
  }) => {
    const s = await startStack(
      dumpOptions({ seed: () => seedWeek([JOB]), jobs: () => [{ name: JOB, cron: '0 3 * * *' }] }),
    );
    const state = async () =>
      JSON.stringify([
        await dumpRedis(s.redis, `${s.prefix}:dump`),
        await s.redis.keys(`${s.prefix}:dumps:dh-*`),
        (await s.auditRows()).length,
        s.slack.callsTo('chat.postMessage').length + s.slack.callsTo('chat.update').length,
      ]);
    const before = await state();
    const failed = JSON.stringify({
      job: JOB,
      status: 'failed',
      exitCode: 2,
      message: 'mysqldump: <!channel> lost connection',
    });
    const now = Math.floor(Date.now() / 1000);
    const refused = [
      [await hook(s, failed, { secret: 'wrong-secret' }), 401],
      [await hook(s, failed, { ts: now - 360 }), 401],
      [await hook(s, failed, { ts: now + 360 }), 401],
      [await hook(s, failed, { sig: 'v0=' }), 401],
      [await hook(s, JSON.stringify({ job: JOB, status: 'failed', message: 'x'.repeat(9 * 1024) })), 413],
      [await hook(s, 'this is not json'), 400],
      [await hook(s, JSON.stringify({ job: 'nosuchjob', status: 'failed' })), 400],
      [await hook(s, JSON.stringify({ job: JOB, status: 'broken' })), 400],
    ] as const;
    expect(refused.map(([r]) => r.status)).toEqual(refused.map(([, want]) => want));
    expect(refused.map(([r]) => r.error)).toEqual([
      'X-Chatops-Signature does not match',
      'X-Chatops-Timestamp is missing or more than 5 minutes off',
      'X-Chatops-Timestamp is missing or more than 5 minutes off',
      'X-Chatops-Signature does not match',
      'the body is larger than 8192 bytes',
      'the body is not JSON',
      'unknown job "nosuchjob": it is not in dumps.jobs',
      'status: Invalid option: expected one of "failed"|"ok"',
    ]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await state()).toBe(before);

    // Accepted: the alert within 2 s, with the exit code and the (inert) message.
    const ts = Math.floor(Date.now() / 1000);
    const sent = Date.now();
    expect((await hook(s, failed, { ts })).status).toBe(202);
    const alert = await until('the alert', () => alertFor(s, JOB), 5_000);
    const posted = s.slack.callsTo('chat.postMessage').find((c) => c.args.channel === ALERTS)?.at as number;
    expect(posted - sent).toBeLessThan(2_000);
    expect(shown(alert)).toContain(
      'the cron host reported a failure with exit code 2: \\"mysqldump: &lt;!channel&gt; lost connection\\"',
    );
    expect(shown(alert)).toContain('<!here>');

    // The same signed request again: a replay, refused, nothing changes.
    const afterAccept = await state();
    expect(await hook(s, failed, { ts })).toEqual({
      status: 401,
      error: 'this signature was already accepted (a replay)',
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(await state()).toBe(afterAccept);

    // `ok` makes the bot check the object now: still missing, so the alert counts it.
    expect((await hook(s, JSON.stringify({ job: JOB, status: 'ok' }))).status).toBe(202);
    await until('the check counted', () => /\*Failures:\* 2/.test(shown(current(s, alert.ts))));
    expect(shown(current(s, alert.ts))).toMatch(/no such object/);
    await putDump(JOB, 0, BASE_SIZE);
    // A second report of the same body needs its own signature: another timestamp.
    const later = Math.floor(Date.now() / 1000) + 1;
    expect((await hook(s, JSON.stringify({ job: JOB, status: 'ok' }), { ts: later })).status).toBe(202);
    await until('resolved', () => thread(s, alert.ts).find((m) => /resolved/.test(m.text)));
    expect(topLevel(s)).toHaveLength(1);

    const haystack = [
      s.logs.join('\n'),
      await dumpRedis(s.redis, s.prefix),
      JSON.stringify(s.slack.calls.map((c) => c.args)),
    ].join('\n');
    expect(haystack).not.toContain(SECRET);
    expect(s.logs.join('\n')).toMatch(/dump report refused/);
  }, 60_000);

  it('infra/cron/report-dump.sh (curl + openssl) is accepted; with a wrong secret it is refused', async ({
    startStack,
  }) => {
    const s = await startStack(
      dumpOptions({ seed: () => seedWeek([JOB]), jobs: () => [{ name: JOB, cron: '0 3 * * *' }] }),
    );
    const run = (secret: string, ...args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((done) => {
        const child = spawn('bash', [resolve(ROOT, 'infra/cron/report-dump.sh'), ...args], {
          env: { PATH: process.env.PATH ?? '', CHATOPS_URL: s.baseUrl, DUMP_WEBHOOK_SECRET: secret },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        child.on('exit', (code) => done({ code, stderr }));
      });
    const wrong = await run('not-the-secret', JOB, 'failed', '1', 'dump failed');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused: HTTP 401 .*does not match/);
    expect(topLevel(s)).toHaveLength(0);

    const ok = await run(SECRET, JOB, 'failed', '3', 'mysqldump "tenants": error 2013\tlost connection');
    expect(ok).toEqual({ code: 0, stderr: '' });
    const alert = await until('the alert', () => alertFor(s, JOB), 5_000);
    expect(shown(alert)).toContain('exit code 3: \\"mysqldump \\"tenants\\": error 2013lost connection\\"');
    expect((await run(SECRET, JOB, 'bogus')).code).toBe(2);
  }, 60_000);
});

describe('maintenance windows', () => {
  it('during an active window the alert is labelled and mentions nobody; at the window end it is checked again and alerts normally', async ({
    startStack,
  }) => {
    const s = await startStack(
      dumpOptions({ seed: () => seedWeek([JOB]), jobs: () => [{ name: JOB, cron: '0 3 * * *' }] }),
    );
    const start = Date.now() - 1_000;
    const w = await createWindow(
      { redis: s.redis, prefix: s.prefix },
      {
        title: 'DB upgrade',
        start,
        end: start + 9_000,
        createdBy: 'U0OPS',
        createdAt: start - 60_000,
        impact: 'i',
        purpose: 'p',
        rollback: 'r',
        contact: 'c',
      },
    );
    expect((await hook(s, JSON.stringify({ job: JOB, status: 'failed', exitCode: 1 }))).status).toBe(202);
    const alert = await until('the alert', () => alertFor(s, JOB), 5_000);
    expect(shown(alert)).toContain(`During maintenance window \`${w.id}\` *DB upgrade*`);
    expect(shown(alert)).not.toContain('<!here>');
    const normal = await until(
      'the normal alert after the window',
      () => thread(s, alert.ts).find((m) => m.text.startsWith('<!here>')),
      20_000,
    );
    const at = s.slack.callsTo('chat.postMessage').find((c) => String(c.args.text).startsWith('<!here>'))
      ?.at as number;
    expect(at - w.end).toBeGreaterThanOrEqual(0);
    expect(at - w.end).toBeLessThan(2_000);
    expect(normal.text).toMatch(/still failing \(2 failures\): no such object/);
    const call = s.slack.callsTo('chat.postMessage').find((c) => String(c.args.text).startsWith('<!here>'));
    expect(String(call?.args.reply_broadcast)).toBe('true');
    const edited = shown(current(s, alert.ts));
    expect(edited).not.toContain('During maintenance window');
    expect(edited).toContain('<!here>');
    // The check's audit entry is written when its job ends, after the post: wait for it.
    await until('the window-end check in the audit trail', async () =>
      (await checkRows(s, /\(window-end @/)).length > 0 ? true : undefined,
    );
    expect((await checkRows(s, /\(window-end @/)).length).toBe(1);
  }, 60_000);
});
