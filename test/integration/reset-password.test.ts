import { GetLoginProfileCommand, type IAMClient, IAMServiceException } from '@aws-sdk/client-iam';
import { Queue } from 'bullmq';
import { describe, expect } from 'vitest';
import { createGpgHome } from '../../devkit/index.js';
import { type AwsClients, createAwsClients } from '../../infra/aws.js';
import { TransientError } from '../../infra/errors.js';
import { createSmtpMailer, type Mailer } from '../../infra/mailer.js';
import { checkPassword, policyFromIam } from '../../infra/password.js';
import { RESET_PASSWORD_QUEUE, resetStateKey, retryHorizonMs } from '../../jobs/reset-password/index.js';
import { makeKey, makeKeys } from '../fixtures/keys.js';
import {
  ACCOUNTS,
  defaultPeople,
  dumpRedis,
  it,
  type Stack,
  seedIamUser,
  seedStrictPolicy,
} from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const DEV = ACCOUNTS['osio-dev'].id;

/** Waits until the requester's status message in their DM says `pattern`. */
async function statusMessage(s: Stack, user: string, pattern: RegExp, timeoutMs = 20_000) {
  const dm = `D${user.slice(1)}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const msg = s.slack.messages(dm).find((m) => pattern.test(m.text));
    if (msg) return msg;
    if (Date.now() > deadline) {
      throw new Error(
        `no status message matching ${pattern} in ${dm}; have: ${JSON.stringify(s.slack.messages(dm).map((m) => m.text))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function decryptMail(s: Stack, to: string, privateKey: string): Promise<string> {
  const mail = await s.smtp
    .waitForMessage((m) => m.to.includes(to), 20_000)
    .catch((err) => {
      throw new Error(
        `${err.message}; Slack messages: ${JSON.stringify(s.slack.messages().map((m) => m.blocks ?? m.text))}`,
      );
    });
  const armored = /-----BEGIN PGP MESSAGE-----[\s\S]+?-----END PGP MESSAGE-----/.exec(mail.text)?.[0];
  expect(armored, 'the mail carries an armored PGP message').toBeTruthy();
  const gpg = await createGpgHome();
  try {
    await gpg.importKey(privateKey);
    return await gpg.decrypt(armored as string);
  } finally {
    await gpg.close();
  }
}

function passwordIn(plaintext: string): string {
  const pw = /^Password:\s+(\S+)$/m.exec(plaintext)?.[1];
  if (!pw) throw new Error('no password line in the decrypted mail');
  return pw;
}

describe('/reset-password end to end', () => {
  it('resets my own password, mails it encrypted, and the password is the one IAM now has', async ({
    stack: s,
  }) => {
    const iam = s.iam('osio-dev');
    await seedStrictPolicy(iam);
    await seedIamUser(iam, 'alice');
    const before = await s.motoPassword(DEV, 'alice');

    const ack = await s.command('U0ALICE', '/reset-password');
    expect(ack.status).toBe(200);
    expect(ack.text).toMatch(/Queued: resetting the console password of alice in osio-dev/);

    const keys = await makeKeys();
    const plaintext = await decryptMail(s, 'alice@example.com', keys.valid.privateKey);
    const password = passwordIn(plaintext);
    expect(await s.motoPassword(DEV, 'alice')).toBe(password);
    expect(password).not.toBe(before);
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(
      checkPassword(
        password,
        policyFromIam({
          MinimumPasswordLength: 32,
          RequireSymbols: true,
          RequireNumbers: true,
          RequireUppercaseCharacters: true,
          RequireLowercaseCharacters: true,
        }),
      ),
    ).toEqual([]);
    const profile = await iam.send(new GetLoginProfileCommand({ UserName: 'alice' }));
    expect(profile.LoginProfile?.PasswordResetRequired).toBe(true);

    const done = await statusMessage(s, 'U0ALICE', /done, mailed to a\*\*\*@example\.com/);
    expect(done.edits).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(done.blocks)).toContain(keys.valid.fingerprint);
    // One status message per job, edited in place.
    expect(s.slack.messages('D0ALICE')).toHaveLength(1);

    const audit = await s.auditRows();
    expect(audit.map((r) => `${r.action}:${r.outcome}`)).toEqual([
      'reset-password.self:queued',
      'reset-password:succeeded',
    ]);
    expect(audit[0]?.requestId).toBe(audit[1]?.requestId);
    // The request id is carried into the job's log lines.
    expect(s.logs.some((l) => l.includes(audit[0]?.requestId as string) && l.includes('job succeeded'))).toBe(
      true,
    );

    // The password is nowhere but in the mail: not in Redis, logs, Slack traffic or the audit trail.
    const redisText = await dumpRedis(s.redis);
    expect(redisText).not.toContain(password);
    expect(s.logs.join('\n')).not.toContain(password);
    expect(JSON.stringify(s.slack.calls)).not.toContain(password);
    expect(JSON.stringify(audit)).not.toContain(password);
    expect(s.smtp.messages.map((m) => m.raw).join()).not.toContain(password);
    expect(s.actions).toEqual(
      new Set([
        'sts:AssumeRole',
        'sts:SetSourceIdentity',
        'iam:GetUser',
        'iam:GetAccountPasswordPolicy',
        'iam:UpdateLoginProfile',
      ]),
    );
  });

  it('creates the login profile when the user has none, with the default policy', async ({ stack: s }) => {
    await seedIamUser(s.iam('osio-dev'), 'alice', { loginProfile: false });
    await s.command('U0ALICE', '/reset-password');
    const keys = await makeKeys();
    const password = passwordIn(await decryptMail(s, 'alice@example.com', keys.valid.privateKey));
    expect(await s.motoPassword(DEV, 'alice')).toBe(password);
    expect(password).toHaveLength(20);
    expect(checkPassword(password, policyFromIam(undefined))).toEqual([]);
    await statusMessage(s, 'U0ALICE', /done/);
    expect(s.actions.has('iam:CreateLoginProfile')).toBe(true);
  });

  it('lets an interrupt-catcher reset someone else, named by mention or IAM user, in another account', async ({
    stack: s,
  }) => {
    await seedIamUser(s.iam('osio'), 'alice.smith');
    // Typed as in Slack; the fake sends it as <@U0ALICE|alice> (manifest.yml: should_escape).
    const ack = await s.command('U0CAROL', '/reset-password', '@alice osio');
    expect(ack.text).toMatch(/alice\.smith in osio/);
    const keys = await makeKeys();
    const password = passwordIn(await decryptMail(s, 'alice@example.com', keys.valid.privateKey));
    expect(await s.motoPassword(ACCOUNTS.osio.id, 'alice.smith')).toBe(password);
    await statusMessage(s, 'U0CAROL', /done/);
  });

  it('denies a user without the role resetting someone else: audited, nothing changed, no mail', async ({
    stack: s,
  }) => {
    await seedIamUser(s.iam('osio-dev'), 'alice');
    const before = await s.motoPassword(DEV, 'alice');
    const ack = await s.command('U0BOB', '/reset-password', '@alice');
    expect(ack.text).toMatch(/not allowed.*reset-password\.other.*admin, interrupt-catcher/);
    const byName = await s.command('U0BOB', '/reset-password', 'alice');
    expect(byName.text).toMatch(/not allowed/);
    await new Promise((r) => setTimeout(r, 500));
    expect(await s.motoPassword(DEV, 'alice')).toBe(before);
    expect(s.smtp.messages).toHaveLength(0);
    const audit = await s.auditRows();
    expect(audit.map((r) => `${r.user}:${r.action}:${r.outcome}`)).toEqual([
      'U0BOB:reset-password.other:denied',
      'U0BOB:reset-password.other:denied',
    ]);
    expect(s.logs.some((l) => l.includes('"outcome":"denied"'))).toBe(true);
  });

  it('refuses a stranger who is not in people, even for themselves', async ({ stack }) => {
    const ack = await stack.command('U0STRANGER', '/reset-password');
    expect(ack.text).toMatch(/not allowed.*reset-password\.self/);
  });
});

describe('/reset-password errors change nothing in IAM and say why', () => {
  async function expectNothingChanged(s: Stack, user: string, password: string | null | undefined) {
    expect(await s.motoPassword(DEV, user)).toBe(password);
    expect(s.smtp.messages).toHaveLength(0);
  }

  it('answers at once for an unknown person, an account with no IAM user, a missing key, and no SMTP', async ({
    startStack,
  }) => {
    const people = await defaultPeople();
    people.push({ slack: 'U0NOKEY', name: 'nokey', key: 'none', iamUsers: { 'osio-dev': 'nokey' } });
    const stack = await startStack({ people });
    const s = stack;
    s.slack.setUser('U0GHOST', { name: 'ghost' }); // in the workspace, not in people
    expect((await s.command('U0OPS', '/reset-password', '@ghost')).text).toMatch(
      /the Slack user `U0GHOST` is not listed in people/,
    );
    expect((await s.command('U0OPS', '/reset-password', 'ghost')).text).toMatch(
      /nobody in people has the IAM user "ghost"/,
    );
    expect((await s.command('U0BOB', '/reset-password', 'osio')).text).toMatch(
      /has no IAM user in osio.*app-interface/,
    );
    expect((await s.command('U0NOKEY', '/reset-password')).text).toMatch(/no GPG key/);
    expect((await s.command('U0OPS', '/reset-password', 'bob mars')).text).toMatch(/unknown account "mars"/);
    expect((await s.command('U0ALICE', '/reset-password', '"a;rm -rf /"')).text).toMatch(/Usage/);
    const audit = await s.auditRows();
    expect(audit.every((r) => r.outcome === 'invalid')).toBe(true);
    expect(audit).toHaveLength(6);
    expect(await stack.redis.keys(`${s.prefix}:reset-password:rp-*`)).toEqual([]);
    expect(await stack.redis.exists(`${s.prefix}:reset-password:wait`)).toBe(0);
  });

  it('says so when the IAM user does not exist in AWS', async ({ stack: s }) => {
    await s.command('U0ALICE', '/reset-password');
    const msg = await statusMessage(s, 'U0ALICE', /failed/);
    expect(JSON.stringify(msg.blocks)).toMatch(
      /nothing was changed: IAM user alice does not exist in osio-dev/,
    );
    await expectNothingChanged(s, 'alice', undefined);
    expect(s.actions.has('iam:UpdateLoginProfile')).toBe(false);
  });

  for (const kind of ['expired', 'revoked', 'signOnly'] as const) {
    it(`refuses a ${kind} key before changing anything`, async ({ startStack }) => {
      const keys = await makeKeys();
      const people = await defaultPeople();
      (people[0] as { key: unknown }).key = keys[kind];
      const s = await startStack({ people });
      await seedIamUser(s.iam('osio-dev'), 'alice');
      const before = await s.motoPassword(DEV, 'alice');
      await s.command('U0ALICE', '/reset-password');
      const msg = await statusMessage(s, 'U0ALICE', /failed/);
      const expected = {
        expired: /expired/,
        revoked: /revoked/,
        signOnly: /no encryption (sub)?key|sign-only/,
      }[kind];
      expect(JSON.stringify(msg.blocks)).toMatch(expected);
      expect(JSON.stringify(msg.blocks)).toMatch(/nothing was changed/);
      await expectNothingChanged(s, 'alice', before);
      // A key problem is not retried: one attempt.
      expect(s.logs.filter((l) => l.includes('job attempt failed'))).toHaveLength(1);
    });
  }

  it('retries while SMTP is down, then tells the requester; nothing changed in IAM', async ({
    startStack,
  }) => {
    const s = await startStack({ jobs: { attempts: 3, backoffMs: 100 } });
    await seedIamUser(s.iam('osio-dev'), 'alice');
    const before = await s.motoPassword(DEV, 'alice');
    s.smtp.stopAccepting();
    await s.command('U0ALICE', '/reset-password');
    const msg = await statusMessage(s, 'U0ALICE', /failed/);
    expect(JSON.stringify(msg.blocks)).toMatch(
      /nothing was changed: the mail server .* (is not answering|refused)/,
    );
    expect(s.logs.filter((l) => l.includes('job attempt failed'))).toHaveLength(3);
    await expectNothingChanged(s, 'alice', before);
  });

  it('retries the mail without changing the password again when SMTP fails after the change', async ({
    startStack,
  }) => {
    // The pre-check passes, then sending fails twice, as when the mail server drops mid-way.
    let real: Mailer | undefined;
    let sends = 0;
    const mailer = () => real as Mailer;
    const s = await startStack({
      jobs: { attempts: 4, backoffMs: 300 },
      workerOverrides: {
        mailer: {
          verify: () => mailer().verify(),
          async send(m) {
            sends++;
            if (sends < 3)
              throw new TransientError('smtp_unavailable', 'the mail server is not answering: ECONNRESET');
            return mailer().send(m);
          },
          close: () => mailer().close(),
        },
      },
    });
    real = createSmtpMailer(s.smtp.url);
    await seedIamUser(s.iam('osio-dev'), 'alice');
    await s.command('U0ALICE', '/reset-password');
    const keys = await makeKeys();
    const password = passwordIn(await decryptMail(s, 'alice@example.com', keys.valid.privateKey));
    expect(await s.motoPassword(DEV, 'alice')).toBe(password);
    expect(sends).toBe(3);
    // Changed once; only the mail was retried.
    expect(s.logs.filter((l) => l.includes('login profile updated'))).toHaveLength(1);
    await statusMessage(s, 'U0ALICE', /done/);
    const redisText = await dumpRedis(s.redis);
    expect(redisText).not.toContain(password);
    // The ciphertext kept for the retry is dropped once the mail went out.
    expect(await dumpRedis(s.redis, s.prefix)).not.toMatch(/BEGIN PGP MESSAGE/);
  });

  it('after the last mail retry, tells the requester the password changed and alerts the channel', async ({
    startStack,
  }) => {
    const s = await startStack({
      jobs: { attempts: 2, backoffMs: 100 },
      workerOverrides: {
        mailer: {
          verify: async () => {},
          send: async () => {
            throw new TransientError('smtp_unavailable', 'the mail server is not answering: ECONNRESET');
          },
          close: () => {},
        },
      },
    });
    await seedIamUser(s.iam('osio-dev'), 'alice');
    await s.command('U0ALICE', '/reset-password');
    const msg = await statusMessage(s, 'U0ALICE', /failed/);
    expect(JSON.stringify(msg.blocks)).toMatch(
      /the password WAS changed, but the mail could not be delivered/,
    );
    const alert = await s.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && c.args.channel === 'C0ALERTS',
    );
    expect(String(alert.args.text)).toMatch(/alice in osio-dev was reset but could not be mailed/);
    expect(await dumpRedis(s.redis, s.prefix)).not.toMatch(/BEGIN PGP MESSAGE/);
  });
});

describe('one identity rule', () => {
  it('"/reset-password bob" with only the self permission resets the caller\'s own IAM user bob, never the person named bob', async ({
    startStack,
  }) => {
    const k = await makeKeys();
    // Listed first, the person *named* bob is whom a lookup that also matched names would pick.
    const people = [
      {
        slack: 'U0OTHER',
        name: 'bob',
        key: await makeKey('bob@example.com'),
        iamUsers: { 'osio-dev': 'robert' },
      },
      { slack: 'U0ALICE', name: 'alice', key: k.valid, iamUsers: { 'osio-dev': 'bob' } },
      { slack: 'U0OPS', name: 'ops', key: await makeKey('ops@example.com'), iamUsers: { 'osio-dev': 'ops' } },
    ];
    const s = await startStack({ people });
    const iam = s.iam('osio-dev');
    await seedIamUser(iam, 'bob');
    await seedIamUser(iam, 'robert');
    const robertBefore = await s.motoPassword(DEV, 'robert');

    const ack = await s.command('U0ALICE', '/reset-password', 'bob');
    expect(ack.text).toMatch(/Queued: resetting the console password of bob in osio-dev/);
    const password = passwordIn(await decryptMail(s, 'alice@example.com', k.valid.privateKey));
    expect(await s.motoPassword(DEV, 'bob')).toBe(password);
    await statusMessage(s, 'U0ALICE', /done/);

    // The person named bob: typed as a mention, it is someone else, and alice may not.
    const denied = await s.command('U0ALICE', '/reset-password', '@bob');
    expect(denied.text).toMatch(/not allowed.*reset-password\.other/);
    const byIam = await s.command('U0ALICE', '/reset-password', 'robert');
    expect(byIam.text).toMatch(/not allowed.*reset-password\.other/);
    const nobody = await s.command('U0ALICE', '/reset-password', 'bobby');
    expect(nobody.text).toMatch(/nobody in people has the IAM user "bobby" in osio-dev; nothing was changed/);

    await new Promise((r) => setTimeout(r, 500)); // a second job would have started by now
    expect(await s.motoPassword(DEV, 'robert')).toBe(robertBefore);
    expect(s.smtp.messages.flatMap((m) => m.to)).toEqual(['alice@example.com']);
    const audit = await s.auditRows();
    expect(audit.map((r) => `${r.user}:${r.action}:${r.outcome}:${r.target ?? ''}`)).toEqual([
      'U0ALICE:reset-password.self:queued:bob@osio-dev',
      'U0ALICE:reset-password:succeeded:bob@osio-dev',
      'U0ALICE:reset-password.other:denied:',
      'U0ALICE:reset-password.other:denied:',
      'U0ALICE:reset-password.self:invalid:',
    ]);
  });
});

/**
 * AWS clients whose IAM UpdateLoginProfile goes through `fault` (an SDK middleware, the SDK's own
 * hook): the test decides per call whether IAM sees it and what answer the worker gets.
 */
function faultyIam(fault: (n: number, send: () => Promise<unknown>, password: string) => Promise<unknown>): {
  aws: AwsClients;
  use(real: AwsClients): void;
  passwords: string[];
} {
  let real: AwsClients | undefined;
  const passwords: string[] = [];
  const aws: AwsClients = {
    account: (alias) => (real as AwsClients).account(alias),
    client(ctor, alias, requester) {
      const client = (real as AwsClients).client(ctor, alias, requester);
      (client as unknown as IAMClient).middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== 'UpdateLoginProfileCommand') return next(args);
          const password = String((args.input as { Password?: string }).Password);
          passwords.push(password);
          return fault(passwords.length, () => next(args), password) as never;
        },
        { step: 'initialize', name: 'testIamFault' },
      );
      return client;
    },
  };
  return { aws, passwords, use: (r) => (real = r) };
}

/** IAM applied the change, but its answer never reached the worker (the SDK gave up waiting). */
function unanswered(): Error {
  return Object.assign(new Error('Connection timed out after 1000 ms'), {
    name: 'TimeoutError',
    $metadata: {},
  });
}

/** IAM's answer to a request over its rate: HTTP 400, Throttling. */
function throttled(): Error {
  return new IAMServiceException({
    name: 'Throttling',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });
}

describe('a reset whose change went unanswered, then met IAM throttling', () => {
  it('keeps its nonce through the throttling: the next attempt sets the same password again; one mail', async ({
    startStack,
  }) => {
    const iam = faultyIam(async (n, send) => {
      if (n === 1) {
        await send();
        throw unanswered();
      }
      if (n === 2) throw throttled();
      return send();
    });
    const s = await startStack({ jobs: { attempts: 3, backoffMs: 100 }, workerOverrides: { aws: iam.aws } });
    iam.use(createAwsClients(s.config));
    await seedIamUser(s.iam('osio-dev'), 'alice');
    await s.command('U0ALICE', '/reset-password');
    const keys = await makeKeys();
    const password = passwordIn(await decryptMail(s, 'alice@example.com', keys.valid.privateKey));
    await statusMessage(s, 'U0ALICE', /done/);
    expect(iam.passwords).toHaveLength(3);
    // Throttling is not a refusal: the nonce stayed, so every attempt asked for the same password.
    expect(new Set(iam.passwords).size).toBe(1);
    expect(iam.passwords[0]).toBe(password);
    expect(await s.motoPassword(DEV, 'alice')).toBe(password);
    expect(s.smtp.messages).toHaveLength(1);
    expect(await s.redis.keys(`${s.prefix}:rp-state:*`)).toEqual([]);
  });

  it('when the attempts run out on throttling, says the password MAY have changed, never "nothing was changed"', async ({
    startStack,
  }) => {
    const iam = faultyIam(async (n, send) => {
      if (n === 1) {
        await send();
        throw unanswered();
      }
      throw throttled();
    });
    const s = await startStack({ jobs: { attempts: 2, backoffMs: 100 }, workerOverrides: { aws: iam.aws } });
    iam.use(createAwsClients(s.config));
    await seedIamUser(s.iam('osio-dev'), 'alice');
    await s.command('U0ALICE', '/reset-password');
    const msg = await statusMessage(s, 'U0ALICE', /failed/);
    const shown = JSON.stringify(msg.blocks);
    expect(shown).toMatch(/the password MAY have been changed/);
    expect(shown).toMatch(/Throttling/);
    expect(shown).not.toMatch(/nothing was changed/);
    // And it did change: IAM holds the first attempt's password.
    expect(await s.motoPassword(DEV, 'alice')).toBe(iam.passwords[0]);
    expect(s.smtp.messages).toHaveLength(0);
    // The job is over: its nonce is gone.
    expect(await s.redis.keys(`${s.prefix}:rp-state:*`)).toEqual([]);
  });

  it('a refusal with no unanswered change before it still says nothing was changed, and keeps nothing', async ({
    startStack,
  }) => {
    const iam = faultyIam(async () => {
      throw new IAMServiceException({
        name: 'PasswordPolicyViolation',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Password does not conform to the account password policy.',
      });
    });
    const s = await startStack({ jobs: { attempts: 3, backoffMs: 100 }, workerOverrides: { aws: iam.aws } });
    iam.use(createAwsClients(s.config));
    await seedIamUser(s.iam('osio-dev'), 'alice');
    const before = await s.motoPassword(DEV, 'alice');
    await s.command('U0ALICE', '/reset-password');
    const msg = await statusMessage(s, 'U0ALICE', /failed/);
    expect(JSON.stringify(msg.blocks)).toMatch(/nothing was changed: AWS refused UpdateLoginProfile alice/);
    expect(iam.passwords).toHaveLength(1); // a refusal is not retried
    expect(await s.motoPassword(DEV, 'alice')).toBe(before);
    expect(await s.redis.keys(`${s.prefix}:rp-state:*`)).toEqual([]);
  });
});

describe('a reset that fails by stalling', () => {
  it('leaves no nonce or ciphertext in its job, and its state key expires within the retry horizon', async ({
    startStack,
  }) => {
    // Mail hangs after the change: each worker is shut down mid-send, so the job stalls twice and
    // BullMQ fails it (maxStalledCount 1) without our processor ever seeing an error.
    const hang = () => new Promise<never>(() => {});
    const s = await startStack({
      topology: { bots: 1, workers: 1 },
      jobs: { attempts: 3, backoffMs: 200, lockMs: 1000 },
      env: { CHATOPS_SHUTDOWN_TIMEOUT_MS: '100' },
      workerOverrides: { mailer: { verify: async () => {}, send: hang, close: () => {} } },
    });
    await seedIamUser(s.iam('osio-dev'), 'alice');
    await s.command('U0ALICE', '/reset-password');
    const queue = new Queue(RESET_PASSWORD_QUEUE, { connection: s.redis, prefix: s.prefix });
    try {
      const job = async () => (await queue.getJobs(['active', 'wait', 'failed', 'completed']))[0];
      await until('the change saved and the mail hanging', async () =>
        (await job())?.data.pending ? true : undefined,
      );
      const stateKey = resetStateKey(s.prefix, (await job())?.id as string);
      expect(await s.redis.hget(stateKey, 'ciphertext')).toMatch(/BEGIN PGP MESSAGE/);
      await s.instances[1]?.close();
      await s.startInstance('worker');
      const started = () => s.logs.filter((l) => l.includes('"msg":"job started"')).length;
      await until('the job taken over after its first stall', () => started() >= 2);
      await s.instances[2]?.close();
      await s.startInstance('worker');
      const failed = await until(
        'BullMQ to fail the job for stalling',
        async () => {
          const j = await job();
          // Read the job again once it is failed: the copy read before may predate its failure.
          return j && (await queue.getJobState(j.id as string)) === 'failed'
            ? await queue.getJob(j.id as string)
            : undefined;
        },
        20_000,
      );
      expect(failed.failedReason).toMatch(/stalled/);
      // Our processor's catch never ran: the requester's message still says "working".
      expect(s.slack.messages('D0ALICE').map((m) => m.text)).not.toContainEqual(
        expect.stringMatching(/failed/),
      );
      // Nothing secret-adjacent in the job; the state key has a TTL within the job's retry horizon.
      const jobText = await dumpRedis(s.redis, `${s.prefix}:${RESET_PASSWORD_QUEUE}:${failed.id}`);
      expect(jobText).not.toMatch(/BEGIN PGP MESSAGE/);
      expect(failed.data).not.toHaveProperty('nonce');
      expect(JSON.stringify(failed.data)).not.toMatch(/PGP|ciphertext/);
      const ttl = await s.redis.pttl(stateKey);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(retryHorizonMs({ attemptsMade: 0, opts: failed.opts }));
      // Everything under the prefix that holds the ciphertext expires.
      for (const key of await s.redis.keys(`${s.prefix}:*`)) {
        const text = await dumpRedis(s.redis, key);
        if (/BEGIN PGP MESSAGE/.test(text)) expect(await s.redis.pttl(key), key).toBeGreaterThan(0);
      }
    } finally {
      await queue.close();
    }
  });
});

describe('the Slack endpoint', () => {
  it('rejects a forged signature and a stale timestamp with 401, and runs nothing', async ({ stack }) => {
    const s = stack;
    const { createSlackClient } = await import('../../devkit/index.js');
    const client = createSlackClient({ url: `${s.baseUrl}/slack/events`, signingSecret: 'wrong-secret' });
    const forged = await client.command({
      command: '/chatops',
      text: 'help',
      userId: 'U0OPS',
      responseUrl: s.slack.responseUrl('C1', 'U0OPS'),
    });
    expect(forged.status).toBe(401);
    const good = createSlackClient({
      url: `${s.baseUrl}/slack/events`,
      signingSecret: (await import('../helpers/stack.js')).SIGNING_SECRET,
    });
    const stale = await good.command(
      { command: '/chatops', text: 'help', userId: 'U0OPS', responseUrl: s.slack.responseUrl('C1', 'U0OPS') },
      { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 },
    );
    expect(stale.status).toBe(401);
    expect(await s.auditRows()).toEqual([]);
  });

  it('answers /healthz and /readyz', async ({ stack }) => {
    const health = await fetch(`${stack.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${stack.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ redis: 'ok', config: 'loaded' });
  });
});
