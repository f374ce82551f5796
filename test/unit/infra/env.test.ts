// The environment, validated once: defaults, every bad variable listed at once, what each role
// needs, the Cluster's hash-tagged prefix, and the one list of secret variables.
import { describe, expect, it } from 'vitest';
import { envSchema, parseEnv, SECRET_ENV_KEYS } from '../../../infra/env.js';
import { configProblems } from '../../helpers/config.js';

const BOT = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'shh' };

const problemsOf = (raw: Record<string, string | undefined>): string[] => configProblems(() => parseEnv(raw));

describe('parseEnv', () => {
  it('fills the defaults and reads numbers', () => {
    const env = parseEnv({ ...BOT, PORT: '8080', CHATOPS_SHUTDOWN_TIMEOUT_MS: '100' });
    expect(env).toMatchObject({
      CHATOPS_ROLE: 'all',
      CHATOPS_CONFIG: './chatops.yaml',
      CHATOPS_REDIS_PREFIX: 'chatops',
      SLACK_API_URL: 'https://slack.com/api/',
      PORT: 8080,
      CHATOPS_SHUTDOWN_TIMEOUT_MS: 100,
      REDIS_URL: 'redis://127.0.0.1:6379',
      LOG_LEVEL: 'info',
    });
    expect(env.METRICS_PORT).toBeUndefined();
  });

  it('reads an empty variable as unset', () => {
    const env = parseEnv({
      ...BOT,
      SMTP_URL: '',
      METRICS_PORT: '',
      REDIS_CLUSTER_NODES: '',
      CHATOPS_STATE_KEY: '',
    });
    expect([env.SMTP_URL, env.METRICS_PORT, env.REDIS_CLUSTER_NODES, env.CHATOPS_STATE_KEY]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(parseEnv({ ...BOT, METRICS_PORT: '9100' }).METRICS_PORT).toBe(9100);
  });

  it('lists every bad variable at once, each with its reason', () => {
    const problems = problemsOf({
      CHATOPS_ROLE: 'both',
      PORT: '70000',
      CHATOPS_REDIS_PREFIX: 'has space',
      REDIS_CLUSTER_NODES: 'localhost',
      CHATOPS_STATE_KEY: 'short',
      LOG_LEVEL: 'loud',
    });
    for (const name of [
      'CHATOPS_ROLE',
      'PORT',
      'CHATOPS_REDIS_PREFIX',
      'REDIS_CLUSTER_NODES',
      'CHATOPS_STATE_KEY',
      'LOG_LEVEL',
    ]) {
      expect(
        problems.some((p) => p.startsWith(`${name}: `)),
        name,
      ).toBe(true);
    }
    expect(problems).toContain('CHATOPS_STATE_KEY: at least 32 characters');
    expect(problems).toContain('REDIS_CLUSTER_NODES: host:port,host:port…');
  });

  it('asks a bot for a way to verify Slack, and every role for the bot token', () => {
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual([
      'SLACK_SIGNING_SECRET: required to verify requests from Slack',
    ]);
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' })).toEqual([]);
    expect(problemsOf({ CHATOPS_ROLE: 'worker' })).toEqual(['SLACK_BOT_TOKEN: required to post to Slack']);
    expect(problemsOf({ CHATOPS_ROLE: 'worker', SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual([]);
  });

  it('hash-tags the prefix on a Redis Cluster, so every key of a job hashes to one slot', () => {
    const nodes = { ...BOT, REDIS_CLUSTER_NODES: '10.0.0.1:6379, [::1]:7000' };
    expect(parseEnv(nodes).CHATOPS_REDIS_PREFIX).toBe('{chatops}');
    expect(parseEnv({ ...nodes, CHATOPS_REDIS_PREFIX: '{mine}' }).CHATOPS_REDIS_PREFIX).toBe('{mine}');
    expect(parseEnv({ ...BOT, CHATOPS_REDIS_PREFIX: 'mine' }).CHATOPS_REDIS_PREFIX).toBe('mine');
  });
});

describe('SECRET_ENV_KEYS', () => {
  it('knows every env variable whose name says it holds a secret', () => {
    // Names that read like a secret but are not one: the id of the Secrets Manager secret.
    const notSecret = new Set(['CHATOPS_SECRETS_ID']);
    const looksSecret = Object.keys(envSchema.shape).filter(
      (k) => /TOKEN|SECRET|PASSWORD|PASS\b|_KEY$|CREDENTIAL/.test(k) && !notSecret.has(k),
    );
    expect(looksSecret.length).toBeGreaterThan(0);
    expect(looksSecret.filter((k) => !(SECRET_ENV_KEYS as readonly string[]).includes(k))).toEqual([]);
  });
});
