import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, inject, onTestFinished } from 'vitest';
import { type ChatopsRole, startChatopsProcess, startFakeSlack } from '../../devkit/index.js';
import { createSmtpMailer, type Mailer } from '../../infra/mailer.js';
import { createRedis } from '../../infra/redis.js';
import { withSecretsFromAws } from '../../infra/secrets.js';
import { makeKey } from '../fixtures/keys.js';
import { motoUrl as workerMotoUrl } from '../helpers/moto-url.js';
import {
  ACCOUNTS,
  deleteKeys,
  dumpRedis,
  it,
  SIGNING_SECRET,
  type Stack,
  type StackPerson,
  saveActions,
  seedIamUser,
} from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const DEV = ACCOUNTS['osio-dev'].id;

/** Seeds alice's IAM user in osio-dev, has her reset her own password, and waits for the job to succeed. */
async function resetAliceAndWait(s: Stack): Promise<void> {
  await seedIamUser(s.iam('osio-dev'), 'alice');
  await s.command('U0ALICE', '/reset-password');
  await until('the job to finish', async () =>
    (await s.auditRows()).some((r) => r.action === 'reset-password' && r.outcome === 'succeeded'),
  );
}

describe('/chatops', () => {
  it('lists only the commands the caller may run', async ({ stack }) => {
    const alice = (await stack.command('U0ALICE', '/chatops', 'help')).text;
    expect(alice).toContain('/reset-password [account]');
    expect(alice).not.toContain('someone else');
    expect(alice).not.toContain('/chatops audit');
    expect(alice).not.toContain('/ddb-export');
    const ops = (await stack.command('U0OPS', '/chatops', '')).text;
    expect(ops).toContain("someone else's console password");
    expect(ops).toContain('/chatops audit');
    expect(ops).toContain('/ddb-export');
  });

  it('shows recent jobs with their state, and the audit trail to admins only', async ({ stack: s }) => {
    await resetAliceAndWait(s);
    const jobs = (await s.command('U0BOB', '/chatops', 'jobs')).text;
    expect(jobs).toMatch(/`reset-password` alice@osio-dev: \*completed\* \(by <@U0ALICE>/);
    expect((await s.command('U0ALICE', '/chatops', 'audit')).text).toMatch(/not allowed.*chatops\.audit/);
    const audit = (await s.command('U0OPS', '/chatops', 'audit 3')).text;
    expect(audit).toMatch(/<@U0ALICE> chatops.audit: \*denied\*/);
    expect(audit).toMatch(/<@U0ALICE> reset-password alice@osio-dev: \*succeeded\*/);
    expect(audit.split('\n').filter((l) => l.startsWith('`'))).toHaveLength(3);
    expect((await s.command('U0OPS', '/chatops', 'reboot')).text).toMatch(
      /unknown subcommand "reboot"\nUsage/,
    );
  });

  it('answers a user without the role with a denial naming the roles, audited', async ({ stack }) => {
    expect((await stack.command('U0ALICE', '/maintenance', 'list')).text).toMatch(
      /not allowed to do that \(maintenance; allowed roles: admin\)/,
    );
    expect((await stack.command('U0ALICE', '/migration', 'status')).text).toMatch(
      /not allowed to do that \(migration;/,
    );
    expect((await stack.auditRows()).map((r) => r.outcome)).toEqual(['denied', 'denied']);
  });
});

describe('queues', () => {
  it('does not run a double-submitted reset twice, and says so in the ack itself', async ({ startStack }) => {
    // A bot with no worker: the first job waits in its queue until a worker starts.
    const s = await startStack({ topology: { bots: 1, workers: 0 } });
    await seedIamUser(s.iam('osio-dev'), 'alice');
    const first = await s.command('U0ALICE', '/reset-password');
    const second = await s.command('U0ALICE', '/reset-password');
    expect(first.text).toMatch(/Queued: resetting/);
    const jobId = /request ([0-9a-f-]+)/.exec(first.text)?.[1];
    expect(second.text).toContain(`already queued or running (job rp-${jobId})`);
    const waiting = (await s.command('U0OPS', '/chatops', 'jobs')).text;
    expect(waiting.match(/alice@osio-dev: \*waiting\*/g)).toHaveLength(1);

    await s.startInstance('worker');
    await until('one mail', () => (s.smtp.messages.length === 1 ? true : undefined), 20_000);
    await until('the job ends', async () =>
      (await s.auditRows()).some((r) => r.action === 'reset-password' && r.outcome === 'succeeded')
        ? true
        : undefined,
    );
    expect(s.smtp.messages).toHaveLength(1);
    const rows = (await s.auditRows()).filter((r) => r.action?.startsWith('reset-password'));
    expect(rows.map((r) => `${r.outcome} ${r.detail?.split(' ')[0]}`)).toEqual([
      'queued job',
      'invalid duplicate',
      'succeeded mailed',
    ]);
  });

  it('leaves a job of a kind a worker lacks for a worker that has it (rolling deploys)', async ({
    startStack,
  }) => {
    const s = await startStack({ topology: { bots: 1, workers: 0 } });
    await seedIamUser(s.iam('osio-dev'), 'alice');
    // An "older" worker that only knows ddb-export.
    await s.startInstance('worker', { workerQueues: ['ddb-export'] });
    expect((await s.command('U0ALICE', '/reset-password')).text).toMatch(/Queued/);
    await new Promise((r) => setTimeout(r, 1_000));
    const jobs = (await s.command('U0OPS', '/chatops', 'jobs')).text;
    expect(jobs).toMatch(/alice@osio-dev: \*waiting\*/);
    await s.startInstance('worker');
    await until('the mail', () => (s.smtp.messages.length === 1 ? true : undefined), 20_000);
    await until('the job ends', async () =>
      (await s.auditRows()).some((r) => r.action === 'reset-password' && r.outcome === 'succeeded')
        ? true
        : undefined,
    );
    // The log line follows the audit entry; wait for it rather than race it.
    await until('the success log line', () =>
      s.logs.some((l) => l.includes('"job succeeded"')) ? true : undefined,
    );
    const done = s.logs.filter((l) => l.includes('"job succeeded"')).map((l) => JSON.parse(l).instance);
    expect(done).toEqual([2]);
  });

  it('two bots and two workers on one Redis process a burst of 20 resets exactly once each', async ({
    startStack,
  }) => {
    const people: StackPerson[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `user${i}`;
      people.push({
        slack: `U0USER${i}`,
        name,
        key: await makeKey(`${name}@example.com`),
        iamUsers: { 'osio-dev': name },
      });
    }
    const s = await startStack({ people, topology: { bots: 2, workers: 2 } });
    for (const p of people) await seedIamUser(s.iam('osio-dev'), p.name);
    const acks = await Promise.all(people.map((p, i) => s.command(p.slack, '/reset-password', '', i % 2)));
    expect(acks.every((a) => a.status === 200 && /Queued: resetting/.test(a.text))).toBe(true);
    await until('20 mails', () => (s.smtp.messages.length >= 20 ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(s.smtp.messages).toHaveLength(20);
    expect(new Set(s.smtp.messages.map((m) => m.to.join()))).toEqual(
      new Set(people.map((p) => `${p.name}@example.com`)),
    );
    const audit = await s.auditRows();
    expect(audit.filter((r) => r.action === 'reset-password' && r.outcome === 'succeeded')).toHaveLength(20);
    expect(s.logs.filter((l) => l.includes('login profile updated'))).toHaveLength(20);
    // Both workers took part.
    const workersUsed = new Set(
      s.logs.filter((l) => l.includes('"job succeeded"')).map((l) => JSON.parse(l).instance),
    );
    expect(workersUsed.size).toBe(2);
    for (const p of people) expect(await s.motoPassword(DEV, p.name)).not.toBe('Initial-Passw0rd!');
  });
});

describe('AWS throttling', () => {
  let proxy: Server | undefined;
  afterEach(() => {
    proxy?.close();
    proxy = undefined;
  });

  /** A loopback proxy in front of moto that answers Throttling to the first `n` UpdateLoginProfile calls. */
  async function throttlingProxy(
    motoUrl: string,
    n: number,
  ): Promise<{ url: string; throttled: () => number }> {
    let count = 0;
    proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      if (body.toString().includes('Action=UpdateLoginProfile') && count < n) {
        count++;
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>',
        );
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length'),
      ) as Record<string, string>;
      const upstream = await fetch(`${motoUrl}${req.url}`, {
        method: req.method,
        headers,
        body: req.method === 'GET' ? undefined : body,
      });
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((r) => proxy?.listen(0, '127.0.0.1', r));
    const addr = proxy.address();
    return {
      url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`,
      throttled: () => count,
    };
  }

  it('is retried by the SDK, and past its retries by the queue, without a second password change', async ({
    startStack,
  }) => {
    const s = await startStack({ jobs: { attempts: 3, backoffMs: 200 } });
    await seedIamUser(s.iam('osio-dev'), 'alice');
    // 6 throttles: the SDK's 5 attempts all fail, so the job fails once and its retry succeeds.
    const p = await throttlingProxy(workerMotoUrl(), 6);
    process.env.AWS_ENDPOINT_URL = p.url;
    try {
      await s.command('U0ALICE', '/reset-password');
      await s.smtp.waitForMessage(undefined, 40_000);
    } finally {
      process.env.AWS_ENDPOINT_URL = workerMotoUrl();
    }
    expect(p.throttled()).toBe(6);
    expect(s.logs.filter((l) => l.includes('job attempt failed'))).toHaveLength(1);
    expect(s.logs.filter((l) => l.includes('job attempt failed'))[0]).toMatch(/Throttling/);
    expect(s.logs.filter((l) => l.includes('login profile updated'))).toHaveLength(1);
    await until('the success audit', async () =>
      (await s.auditRows()).some((r) => r.action === 'reset-password' && r.outcome === 'succeeded'),
    );
  });
});

describe('graceful shutdown', () => {
  it('lets an active job finish before the workers close', async ({ startStack }) => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let real: Mailer | undefined;
    let sending = false;
    const s = await startStack({
      workerOverrides: {
        mailer: {
          verify: async () => {},
          async send(m) {
            sending = true;
            await gate;
            return (real as Mailer).send(m);
          },
          close: () => real?.close(),
        },
      },
    });
    real = createSmtpMailer(s.smtp.url);
    await seedIamUser(s.iam('osio-dev'), 'alice');
    await s.command('U0ALICE', '/reset-password');
    await until('the job to be sending', () => sending || undefined);
    const instance = s.instances[0];
    const closed = instance?.close();
    setTimeout(release, 300);
    await closed;
    expect(s.smtp.messages).toHaveLength(1);
    expect((await s.auditRows()).at(-1)?.outcome).toBe('succeeded');
    s.instances.length = 0;
  });

  it('releases a job that does not finish within the shutdown timeout; another worker completes it, changing the password once', async ({
    startStack,
  }) => {
    let real: Mailer | undefined;
    let sends = 0;
    const s = await startStack({
      topology: { bots: 1, workers: 2 },
      jobs: { lockMs: 1000 },
      env: { CHATOPS_SHUTDOWN_TIMEOUT_MS: '300' },
      workerOverrides: {
        mailer: {
          verify: async () => {},
          async send(m) {
            sends++;
            // The first attempt hangs, as on a mail server that accepts the connection and then stalls.
            if (sends === 1) await new Promise(() => {});
            return (real as Mailer).send(m);
          },
          close: () => {},
        },
      },
    });
    real = createSmtpMailer(s.smtp.url);
    await seedIamUser(s.iam('osio-dev'), 'alice');
    await s.command('U0ALICE', '/reset-password');
    await until('the first attempt to hang in send', () => sends === 1 || undefined);
    const started = s.logs.find((l) => l.includes('"job started"'));
    const holder = s.instances[JSON.parse(started as string).instance as number];
    await holder?.close();
    expect(s.logs.some((l) => l.includes('active jobs did not finish in time; releasing them'))).toBe(true);
    const mail = await s.smtp.waitForMessage(undefined, 20_000);
    expect(mail.to).toEqual(['alice@example.com']);
    expect(sends).toBe(2);
    expect(s.logs.filter((l) => l.includes('login profile updated'))).toHaveLength(1);
    await until('the success audit', async () =>
      (await s.auditRows()).some((r) => r.action === 'reset-password' && r.outcome === 'succeeded'),
    );
    real.close();
  });

  it('exits 0 on SIGTERM after closing, exits 1 listing every bad config key, and does not hang on a start-up that never ends', async () => {
    const slack = await startFakeSlack();
    // Accepts the Socket Mode WebSocket's TCP connection and never answers the upgrade.
    const silent = createTcpServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'chatops-main-'));
    const prefix = `sigterm-${process.pid}`;
    const inherited = Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined);
    const env = {
      ...Object.fromEntries(inherited),
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.url,
      REDIS_URL: inject('redisUrl'),
      CHATOPS_REDIS_PREFIX: prefix,
    };
    let runs = 0;
    /**
     * Runs bot/main.ts without waiting for it to be ready (a bad config exits at once); sends SIGTERM
     * once `signalWhen` holds on its output, and says how it exited.
     */
    const run = async (
      config: string,
      signalWhen?: (out: string) => boolean,
      role: ChatopsRole = 'all',
      extraEnv: Record<string, string> = {},
    ) => {
      const name = `main-${++runs}`;
      const path = join(dir, `${name}.yaml`);
      const logPath = join(dir, `${name}.log`);
      writeFileSync(path, config);
      const out = () => readFileSync(logPath, 'utf8');
      const proc = await startChatopsProcess({
        name,
        role,
        logPath,
        env: { ...env, ...extraEnv, CHATOPS_CONFIG: path },
        ready: async () => true,
        stopGraceMs: 30_000,
      });
      onTestFinished(() => proc.kill());
      await until(
        `${name} to exit or to be due a SIGTERM`,
        () => !proc.running() || signalWhen?.(out()),
        30_000,
      );
      let afterSignalMs = -1;
      if (proc.running()) {
        const signalledAt = Date.now();
        await proc.stop();
        afterSignalMs = Date.now() - signalledAt;
      }
      return { how: await proc.exited, out: out(), afterSignalMs };
    };
    const okConfig = `accounts: { osio: { id: "386414299200", region: us-east-1 } }\n`;
    try {
      const good = await run(
        okConfig,
        (out) => out.includes('bot listening') && out.includes('workers started'),
      );
      expect(good.how).toBe('exit code 0');
      expect(good.out).toMatch(/"msg":"stopped"/);
      const bad = await run(
        `accounts: { osio: { id: 12, region: nowhere } }\nroles: { Admin: [me] }\nbogus: 1\n`,
      );
      expect(bad.how).toBe('exit code 1');
      expect(bad.out).toMatch(/accounts\.osio\.id/);
      expect(bad.out).toMatch(/accounts\.osio\.region/);
      expect(bad.out).toMatch(/roles/);
      expect(bad.out).toMatch(/bogus|Unrecognized key/);

      slack.setResponse('apps.connections.open', { url: `ws://127.0.0.1:${silentPort}/link` });
      const stuck = await run(okConfig, () => slack.callsTo('apps.connections.open').length > 0, 'bot', {
        SLACK_APP_TOKEN: 'xapp-test',
      });
      expect(stuck.how).toBe('exit code 1');
      expect(stuck.out).toMatch(/start-up did not finish after the stop signal/);
      expect(stuck.afterSignalMs).toBeGreaterThanOrEqual(4_500);
      expect(stuck.afterSignalMs).toBeLessThan(15_000);
    } finally {
      await slack.close();
      silent.close();
      const redis = createRedis(inject('redisUrl'));
      await deleteKeys(redis, prefix);
      await redis.quit();
    }
  });
});

describe('secrets', () => {
  it('reads Slack and SMTP secrets from Secrets Manager at start-up, and never logs or stores them', async () => {
    process.env.AWS_ENDPOINT_URL = workerMotoUrl();
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    process.env.AWS_REGION = 'us-east-1';
    const sm = new SecretsManagerClient({});
    const name = `chatops/test-${Date.now()}`;
    const secret = {
      SLACK_BOT_TOKEN: 'xoxb-from-secrets-manager',
      SLACK_SIGNING_SECRET: 'signing-from-sm-7f3a9',
    };
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(secret) }));
    const actions: string[] = [];
    const env = await withSecretsFromAws(
      { CHATOPS_SECRETS_ID: name, SMTP_URL: 'smtp://127.0.0.1:25' },
      { recorder: (a) => actions.push(a) },
    );
    saveActions(actions);
    expect(env.SLACK_BOT_TOKEN).toBe(secret.SLACK_BOT_TOKEN);
    expect(env.SLACK_SIGNING_SECRET).toBe(secret.SLACK_SIGNING_SECRET);
    expect(env.SMTP_URL).toBe('smtp://127.0.0.1:25');
    expect(actions).toEqual(['secretsmanager:GetSecretValue']);

    await sm.send(
      new CreateSecretCommand({
        Name: `${name}-bad`,
        SecretString: '{"SLACK_BOT_TOKEN": "xoxb-leak-me", "EXTRA": "1"}',
      }),
    );
    const err = await withSecretsFromAws({ CHATOPS_SECRETS_ID: `${name}-bad` }).catch((e: Error) => e);
    expect(String(err)).toMatch(/unexpected key EXTRA/);
    expect(String(err)).not.toContain('xoxb-leak-me');
    await expect(withSecretsFromAws({ CHATOPS_SECRETS_ID: 'chatops/missing' })).rejects.toThrow(
      /cannot read secret chatops\/missing: ResourceNotFoundException/,
    );
  });

  it('keeps the Slack token and signing secret out of logs, Redis and Slack message text', async ({
    stack: s,
  }) => {
    await resetAliceAndWait(s);
    const haystack = [
      s.logs.join('\n'),
      await dumpRedis(s.redis),
      JSON.stringify(s.slack.calls.map((c) => c.args)),
    ].join('\n');
    expect(haystack).not.toContain(SIGNING_SECRET);
    expect(haystack).not.toContain('xoxb-test-token-not-real');
  });
});
