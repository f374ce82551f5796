// The production artefact: `npm run build`'s tsc output, started with `node .../bot/main.js` as `npm start`
// does. Other integration tests run the TypeScript sources through tsx; this one runs what ships.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { IAMClient } from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import {
  type ChatopsProcess,
  type ChatopsRole,
  createSlackClient,
  type FakeSlack,
  startChatopsProcess,
  startFakeSlack,
  startFakeSocketMode,
  startSmtpCapture,
} from '../../devkit/index.js';
import { createAwsClients } from '../../infra/aws.js';
import { loadConfig } from '../../infra/config.js';
import { createRedis } from '../../infra/redis.js';
import { makeKey } from '../fixtures/keys.js';
import { motoUrl as workerMotoUrl } from '../helpers/moto-url.js';
import { ACCOUNTS, deleteKeys, SIGNING_SECRET, seedIamUser } from '../helpers/stack.js';

const ROOT = resolve(import.meta.dirname, '../..');
// A private output directory: dist/ may be in use (or being rebuilt) by someone else meanwhile.
const OUT = join(ROOT, '.artifacts', `built-bot-${process.pid}`);
const PREFIX = `built-bot-${process.pid}`;

let slack: FakeSlack;
let configPath: string;
let tmp: string;
let bots = 0;

beforeAll(async () => {
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', OUT],
    { cwd: ROOT, stdio: 'pipe' },
  );
  slack = await startFakeSlack();
  tmp = mkdtempSync(join(tmpdir(), 'chatops-built-'));
  configPath = join(tmp, 'chatops.yaml');
  writeFileSync(configPath, 'accounts: { osio: { id: "386414299200", region: us-east-1 } }\n');
}, 60_000);

afterAll(async () => {
  await slack?.close();
  const redis = createRedis(inject('redisUrl'));
  await deleteKeys(redis, PREFIX);
  await redis.quit();
  rmSync(OUT, { recursive: true, force: true });
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Starts the bundle like `npm start` and resolves once GET /readyz answers 200. */
async function startBuiltBot(role: ChatopsRole, env: Record<string, string>): Promise<ChatopsProcess> {
  const name = `built-${role}-${++bots}`;
  const bot = await startChatopsProcess({
    name,
    role,
    nodeArgs: [join(OUT, 'bot/main.js')],
    logPath: join(tmp, `${name}.log`),
    readyTimeoutMs: 15_000,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_API_URL: slack.url,
      REDIS_URL: inject('redisUrl'),
      CHATOPS_REDIS_PREFIX: PREFIX,
      CHATOPS_CONFIG: configPath,
      CHATOPS_SHUTDOWN_TIMEOUT_MS: '2000',
      ...env,
    },
  });
  onTestFinished(() => bot.kill());
  return bot;
}

/** SIGTERM, then how the process exited. */
async function stop(bot: ChatopsProcess): Promise<string> {
  await bot.stop();
  return bot.exited;
}

describe('the built bot (dist/bot/main.js)', () => {
  it('starts with CHATOPS_ROLE=bot, is ready, answers slash commands over HTTP, and exits 0 on SIGTERM', async () => {
    const bot = await startBuiltBot('bot', { SLACK_SIGNING_SECRET: SIGNING_SECRET });
    const client = createSlackClient({
      url: `${bot.url}/slack/events`,
      signingSecret: SIGNING_SECRET,
    });
    const help = await client.command({
      command: '/chatops',
      text: 'help',
      userId: 'U0ALICE',
      responseUrl: slack.responseUrl('C0DEVKIT', 'U0ALICE'),
    });
    expect(help.status).toBe(200);
    expect(help.body).toMatch(/Commands you can run/);
    const jobs = await client.command({
      command: '/chatops',
      text: 'jobs',
      userId: 'U0ALICE',
      responseUrl: slack.responseUrl('C0DEVKIT', 'U0ALICE'),
    });
    expect(jobs.body, bot.output()).toMatch(/No recent jobs/);
    expect(await stop(bot)).toBe('exit code 0');
    expect(bot.output()).toMatch(/"msg":"stopped"/);
  });

  it('rejects forged and malformed signatures with 401 (Bolt as published checks them)', async () => {
    const bot = await startBuiltBot('bot', { SLACK_SIGNING_SECRET: SIGNING_SECRET });
    const client = createSlackClient({
      url: `${bot.url}/slack/events`,
      signingSecret: SIGNING_SECRET,
    });
    const input = {
      command: '/chatops',
      text: 'help',
      userId: 'U0ALICE',
      responseUrl: slack.responseUrl('C0DEVKIT', 'U0ALICE'),
    };
    const timestamp = Math.floor(Date.now() / 1000);
    expect((await client.command(input, { timestamp })).status).toBe(200);
    for (const signature of [
      `v0=${'0'.repeat(64)}`, // right length, wrong value
      `v0=${'a'.repeat(63)}`, // one character short
      `v0=${'é'.repeat(32)}`, // 64 characters, not 64 bytes
      'v0=',
    ]) {
      const res = await client.command(input, { timestamp, signature });
      expect(res.status, signature).toBe(401);
    }
    expect(await stop(bot)).toBe('exit code 0');
  });

  it('connects in Socket Mode when SLACK_APP_TOKEN is set', async () => {
    const peer = await startFakeSocketMode({
      envelopeId: 'env-built',
      userId: 'U0ALICE',
      command: '/chatops',
      text: 'help',
    });
    try {
      slack.setResponse('apps.connections.open', { url: peer.url });
      const bot = await startBuiltBot('bot', { SLACK_APP_TOKEN: 'xapp-test-token' });
      const ack = await peer.ack;
      expect(ack.envelope_id).toBe('env-built');
      expect(ack.payload?.text).toMatch(/Commands you can run/);
      expect(await stop(bot)).toBe('exit code 0');
    } finally {
      await peer.close();
    }
  });

  it('runs /reset-password end to end with CHATOPS_ROLE=all and its Slack secrets from Secrets Manager', async () => {
    const motoUrl = workerMotoUrl();
    const aws = {
      AWS_ENDPOINT_URL: motoUrl,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    Object.assign(process.env, aws);
    const secretId = `chatops/built-bot-${process.pid}-${Date.now()}`;
    await new SecretsManagerClient({}).send(
      new CreateSecretCommand({
        Name: secretId,
        SecretString: JSON.stringify({
          SLACK_BOT_TOKEN: 'xoxb-from-sm',
          SLACK_SIGNING_SECRET: SIGNING_SECRET,
        }),
      }),
    );
    const iamUser = `built-${process.pid}-${Date.now()}`;
    const key = await makeKey('alice@example.com');
    const path = join(tmp, 'all.yaml');
    writeFileSync(
      path,
      stringify({
        accounts: ACCOUNTS,
        people: [
          {
            slack: 'U0ALICE',
            email: 'alice@example.com',
            gpgKey: key.publicKey,
            iamUsers: { 'osio-dev': iamUser },
          },
        ],
        resetPassword: { defaultAccount: 'osio-dev', mailFrom: 'chatops@example.com' },
        jobs: { attempts: 1 },
      }),
    );
    await seedIamUser(createAwsClients(loadConfig(path)).client(IAMClient, 'osio-dev', 'test-seed'), iamUser);
    const smtp = await startSmtpCapture();
    try {
      const bot = await startBuiltBot('all', {
        ...aws,
        CHATOPS_CONFIG: path,
        CHATOPS_SECRETS_ID: secretId,
        SLACK_BOT_TOKEN: '',
        SMTP_URL: smtp.url,
      });
      const ack = await createSlackClient({
        url: `${bot.url}/slack/events`,
        signingSecret: SIGNING_SECRET,
      }).command({
        command: '/reset-password',
        text: '',
        userId: 'U0ALICE',
        responseUrl: slack.responseUrl('C0DEVKIT', 'U0ALICE'),
      });
      expect(ack.body, bot.output()).toMatch(/Queued: resetting the console password/);
      const mail = await smtp.waitForMessage((m) => m.to.includes('alice@example.com'), 20_000);
      expect(mail.text).toMatch(/-----BEGIN PGP MESSAGE-----/);
      expect(await stop(bot)).toBe('exit code 0');
    } finally {
      await smtp.close();
    }
  });
});
