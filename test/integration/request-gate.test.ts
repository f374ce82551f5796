// The request gate on real parts (Bolt's HTTP receiver, Redis, two bot replicas): a request is
// executed once however its signature header is re-encoded; the ack arrives within Slack's 3 s
// whatever Redis does and says the truth; denials cannot push real entries out of the audit trail.
import { request } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, onTestFinished } from 'vitest';
import { signDumpReport } from '../../bot/dump-webhook.js';
import { MAX_CLOCK_SKEW_SECONDS, REPLICA_CLOCK_MARGIN_SECONDS } from '../../bot/middleware.js';
import { signSlackRequest, slashCommandBody } from '../../devkit/index.js';
import { type SlowProxy, startSlowProxy } from '../helpers/slow-proxy.js';
import { it, SIGNING_SECRET, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

let proxy: SlowProxy | undefined;
const extra: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  proxy?.setDelay(0);
  for (const c of extra.splice(0).reverse()) await c().catch(() => undefined);
});

/** POSTs `body` with exactly these headers (no fetch normalisation), timing the whole answer. */
function postRaw(
  port: number | undefined,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, ms: Date.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Every way to write a valid signature header that is not exactly `v0=` + 64 lowercase hex digits. */
function reencodings(sig: string): Record<string, string> {
  const hex = sig.slice(3);
  return {
    '=1': `${sig}=1`,
    '=2': `${sig}=2`,
    'upper-case hex': `v0=${hex.toUpperCase()}`,
    'trailing space': `${sig} `,
    'trailing tab': `${sig}\t`,
    'a second v0=': `${sig}v0=${hex}`,
    'a second =v0=': `${sig}=v0=${hex}`,
    'two values': `${sig}, ${sig}`,
  };
}

function resetBody(s: Stack, user: string): string {
  return slashCommandBody({
    command: '/reset-password',
    text: '',
    userId: user,
    channelId: 'C0GENERAL',
    responseUrl: s.slack.responseUrl('C0GENERAL', user),
  });
}

const requestIdOf = (text: string) => /\(request ([0-9a-f-]{36})\)/.exec(text)?.[1];
const textOf = (r: { text: string }) => (JSON.parse(r.text) as { text: string }).text;

async function jobCounts(s: Stack, redis: Redis, queue: string) {
  const q = new Queue(queue, { connection: redis, prefix: s.prefix });
  try {
    return await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
  } finally {
    await q.close();
  }
}

describe('replays', () => {
  it('refuses every re-encoding of an accepted request with 401, on either replica; it runs once', async ({
    startStack,
  }) => {
    const s = await startStack({ topology: { bots: 2, workers: 0 } });
    const ports = s.instances.map((i) => i.port);
    const body = resetBody(s, 'U0ALICE');
    const headers = signSlackRequest(SIGNING_SECRET, body);
    const sig = headers['x-slack-signature'];
    const variants = reencodings(sig);

    // A re-encoding that Bolt's own check accepts is refused even before the request was ever seen.
    const first = await postRaw(ports[0], '/slack/events', body, {
      ...headers,
      'x-slack-signature': `${sig}=1`,
    });
    expect(first.status).toBe(401);
    const accepted = await postRaw(ports[0], '/slack/events', body, headers);
    expect(accepted.status).toBe(200);
    expect(textOf(accepted)).toMatch(/Queued: resetting/);

    const answers: string[] = [];
    for (const port of ports) {
      for (const [name, value] of Object.entries(variants)) {
        const r = await postRaw(port, '/slack/events', body, { ...headers, 'x-slack-signature': value });
        answers.push(`${name}: ${r.status}`);
      }
      answers.push(`as sent: ${(await postRaw(port, '/slack/events', body, headers)).status}`);
    }
    expect(answers).toEqual(
      ports.flatMap(() => [...Object.keys(variants).map((n) => `${n}: 401`), 'as sent: 401']),
    );

    // Executed once: one job, one audit entry.
    expect(await jobCounts(s, s.redis, 'reset-password')).toMatchObject({ waiting: 1, active: 0 });
    await until('the audit entry', async () => (await s.auditRows()).length === 1);
    expect((await s.auditRows()).map((r) => `${r.action} ${r.outcome}`)).toEqual([
      'reset-password.self queued',
    ]);
  });

  it('accepts a request stamped 4 min 59 s ahead once; replayed to a second replica it gets 401; its key outlives its window', async ({
    startStack,
  }) => {
    const s = await startStack({ topology: { bots: 2, workers: 0 } });
    const body = resetBody(s, 'U0ALICE');
    const ts = Math.floor(Date.now() / 1000) + 299;
    const headers = signSlackRequest(SIGNING_SECRET, body, ts);
    const [a, b] = s.instances.map((i) => i.port);
    const ok = await postRaw(a, '/slack/events', body, headers);
    expect(ok.status).toBe(200);
    expect(textOf(ok)).toMatch(/Queued: resetting/);
    expect((await postRaw(b, '/slack/events', body, headers)).status).toBe(401);
    expect((await postRaw(a, '/slack/events', body, headers)).status).toBe(401);

    // The key lives past the last moment any replica (clocks up to the margin apart) could accept it.
    const keys = await s.redis.keys(`${s.prefix}:seen:*`);
    expect(keys).toHaveLength(1);
    const ttl = await s.redis.pttl(keys[0] as string);
    const acceptableFor = (ts + MAX_CLOCK_SKEW_SECONDS) * 1000 - Date.now();
    expect(ttl - acceptableFor).toBeGreaterThanOrEqual((REPLICA_CLOCK_MARGIN_SECONDS - 2) * 1000);

    expect(await jobCounts(s, s.redis, 'reset-password')).toMatchObject({ waiting: 1 });
    await until('the audit entry', async () => (await s.auditRows()).length === 1);
  });

  it('POST /hooks/dumps: every re-encoding of an accepted report gets 401 on either replica; it is queued once', async ({
    startStack,
  }) => {
    const SECRET = 'dump-webhook-secret-gate-not-real';
    const s = await startStack({
      topology: { bots: 2, workers: 0 },
      env: { DUMP_WEBHOOK_SECRET: SECRET },
      extraConfig: {
        dumps: {
          account: 'osio',
          bucket: 'jram-gghouse',
          jobs: [{ name: 'ggh_datatransit', cron: '0 3 * * *', prefix: 'dumps/' }],
        },
      },
    });
    const ports = s.instances.map((i) => i.port);
    const body = JSON.stringify({ job: 'ggh_datatransit', status: 'failed', exitCode: 2 });
    const ts = Math.floor(Date.now() / 1000);
    const sig = signDumpReport(SECRET, ts, body);
    const headers = { 'content-type': 'application/json', 'x-chatops-timestamp': String(ts) };
    const send = (port: number | undefined, signature: string) =>
      postRaw(port, '/hooks/dumps', body, { ...headers, 'x-chatops-signature': signature });

    expect((await send(ports[0], `${sig}=1`)).status).toBe(401);
    expect((await send(ports[0], sig)).status).toBe(202);
    const answers: string[] = [];
    for (const port of ports) {
      for (const [name, value] of Object.entries(reencodings(sig))) {
        answers.push(`${name}: ${(await send(port, value)).status}`);
      }
      answers.push(`as sent: ${(await send(port, sig)).status}`);
    }
    expect(
      answers.every((a) => a.endsWith(': 401')),
      answers.join('\n'),
    ).toBe(true);
    expect(answers).toHaveLength(2 * (Object.keys(reencodings(sig)).length + 1));

    expect(await jobCounts(s, s.redis, 'dumps')).toMatchObject({ waiting: 1 });
    await until('the audit entry', async () => (await s.auditRows()).length === 1);
    expect((await s.auditRows()).map((r) => `${r.action} ${r.outcome}`)).toEqual(['dumps.report queued']);
  });
});

describe('the ack budget', () => {
  it('with every Redis round trip slowed, each ack comes within 3 s and says what is true; a repeat is a duplicate', async ({
    startStack,
  }) => {
    const redisUrl = inject('redisUrl');
    proxy = await startSlowProxy(Number(new URL(redisUrl).port || 6379));
    // Closed after the stack, whose Redis it is.
    onTestFinished(async () => {
      await proxy?.close();
      proxy = undefined;
    });
    const s = await startStack({ redisUrl: proxy.url('redis'), topology: { bots: 1, workers: 0 } });
    const p = proxy;
    const direct = new Redis(redisUrl);
    extra.push(async () => direct.quit());
    const port = s.instances[0]?.port;
    const send = (user: string) => {
      const body = resetBody(s, user);
      return postRaw(port, '/slack/events', body, signSlackRequest(SIGNING_SECRET, body));
    };
    // Warm: the queue's first add loads BullMQ's scripts.
    expect(textOf(await send('U0OPS'))).toMatch(/Queued: resetting/);

    const acks: Record<string, { ms: number; text: string; requestId: string }> = {};
    for (const [user, delay] of [
      ['U0ALICE', 600],
      ['U0BOB', 1_500],
      ['U0CAROL', 2_700],
    ] as const) {
      p.setDelay(delay);
      const r = await send(user);
      expect(r.status, `${delay} ms: ${r.text}`).toBe(200);
      acks[delay] = { ms: r.ms, text: textOf(r), requestId: requestIdOf(textOf(r)) as string };
    }
    p.setDelay(0);
    // Slack's limit, measured on the signed request itself.
    for (const [delay, a] of Object.entries(acks))
      expect(a.ms, `${delay} ms per round trip`).toBeLessThan(3_000);

    // 0.6 s per round trip: replay check and enqueue fit, so "Queued", and the job is in Redis.
    const q = new Queue('reset-password', { connection: direct, prefix: s.prefix });
    extra.push(() => q.close());
    const fast = acks[600] as (typeof acks)[string];
    expect(fast.text).toMatch(/Queued: resetting/);
    expect(await q.getJobState(`rp-${fast.requestId}`)).toBe('waiting');

    // 1.5 s: the replay check fits, the enqueue does not: "may still run", and it does land.
    const slow = acks[1500] as (typeof acks)[string];
    expect(slow.text).toMatch(/may still run/);
    expect(slow.text).not.toMatch(/Queued/);
    await until('the late job', async () => (await q.getJobState(`rp-${slow.requestId}`)) === 'waiting');
    // 2.7 s: not even the replay check answered: nothing queued, and nothing ever runs.
    const down = acks[2700] as (typeof acks)[string];
    expect(down.text).toMatch(/nothing was queued or changed and nothing will run/);
    const auditOf = async (requestId: string) =>
      (await s.auditRows()).find((r) => r.requestId === requestId)?.outcome;
    await until('the audit entries', async () => (await auditOf(down.requestId)) !== undefined, 20_000);
    expect(await auditOf(fast.requestId)).toBe('queued');
    expect(await auditOf(slow.requestId)).toBe('unconfirmed');
    expect(await auditOf(down.requestId)).toBe('not-queued');
    // Everything the bot sent went out before that audit entry, on the same connection: no job came.
    expect(await q.getJobState(`rp-${down.requestId}`)).toBe('unknown');
    const carolJobs = (await q.getJobs(['waiting', 'delayed', 'active'])).filter(
      (j) => j.data.requester === 'U0CAROL',
    );
    expect(carolJobs).toHaveLength(0);
    // Bob's command again (Redis is quick again) is answered as a duplicate of the job that landed.
    expect(textOf(await send('U0BOB'))).toContain(`already queued or running (job rp-${slow.requestId})`);
  });
});

describe('the audit trail', () => {
  it('keeps real entries however many denials and bad commands a user sends; shows times in the configured zone', async ({
    startStack,
  }) => {
    const s = await startStack({
      topology: { bots: 1, workers: 0 },
      extraConfig: { audit: { maxEntries: 100 } },
    });
    expect((await s.command('U0ALICE', '/reset-password')).text).toMatch(/Queued/);
    expect((await s.command('U0OPS', '/chatops', 'jobs')).text).toMatch(/Recent jobs/);
    for (let i = 0; i < 320; i++) {
      const r =
        i % 2
          ? await s.command('U0BOB', '/maintenance', 'list')
          : await s.command('U0BOB', '/chatops', `bogus${i}`);
      expect(r.status).toBe(200);
    }
    const refusedKey = `${s.prefix}:audit:refused`;
    await until('the last denial is written', async () => {
      const [last] = await s.redis.xrevrange(refusedKey, '+', '-', 'COUNT', 1);
      return last?.[1].includes('maintenance');
    });
    // The refusals' own stream is capped (approximately, as Redis trims whole nodes)…
    expect(await s.redis.xlen(refusedKey)).toBeLessThan(320);
    // …and the real entries are all still there.
    const actions = (await s.redis.xrange(`${s.prefix}:audit`, '-', '+')).map(([, f]) => f.join(' '));
    expect(actions).toHaveLength(2);
    expect(actions[0]).toMatch(/action reset-password.self outcome queued/);
    expect(actions[1]).toMatch(/action chatops outcome succeeded/);

    const shown = (await s.command('U0OPS', '/chatops', 'audit 5 actions')).text;
    expect(shown).toMatch(/<@U0ALICE> reset-password.self alice@osio-dev: \*queued\*/);
    expect(shown).toMatch(/<@U0OPS> chatops: \*succeeded\*/);
    // Tokyo time, to the second, with the zone's abbreviation; never UTC ISO.
    expect(shown).toMatch(/`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} JST` <@U0ALICE>/);
    expect(shown).not.toMatch(/\d{2}:\d{2}:\d{2}(\.\d+)?Z/);
    const all = (await s.command('U0OPS', '/chatops', 'audit 3')).text;
    expect(all).toMatch(/<@U0BOB> maintenance: \*denied\*/);
    expect(all).toMatch(/<@U0BOB> chatops: \*invalid\* \(usage\)/);
  });
});
