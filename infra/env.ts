import { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * The environment variables that hold a secret, the one list of them: they may also come from the
 * Secrets Manager secret named by CHATOPS_SECRETS_ID, and the logger redacts fields of these names
 * (infra/logger.ts). A new secret variable goes here and in envSchema below.
 */
export const SECRET_ENV_KEYS = [
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'SMTP_URL',
  'DUMP_WEBHOOK_SECRET',
  'CHATOPS_STATE_KEY',
] as const;

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

export const envSchema = z.object({
  CHATOPS_ROLE: z.enum(['bot', 'worker', 'all']).default('all'),
  CHATOPS_CONFIG: z.string().default('./chatops.yaml'),
  CHATOPS_SECRETS_ID: optionalString,
  CHATOPS_REDIS_PREFIX: z
    .string()
    .regex(/^\{?[\w:.-]+\}?$/)
    .default('chatops'),
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^\s*[\w.:[\]-]+:\d+(\s*,\s*[\w.:[\]-]+:\d+)*\s*$/, 'host:port,host:port…')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  CHATOPS_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(25_000),
  SLACK_BOT_TOKEN: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: z.url().default('https://slack.com/api/'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Set: every process serves GET /metrics (and /healthz) on this port only, not on PORT. */
  METRICS_PORT: z
    .string()
    .optional()
    .transform((v) => (v === '' || v === undefined ? undefined : Number(v)))
    .pipe(z.number().int().min(0).max(65535).optional()),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  SMTP_URL: optionalString,
  DUMP_WEBHOOK_SECRET: optionalString,
  /** Workers' key for re-deriving a password a killed reset may have set (infra/password.ts). */
  CHATOPS_STATE_KEY: optionalString.refine(
    (v) => v === undefined || v.length >= 32,
    'at least 32 characters',
  ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;

// Every secret name is a variable of the schema.
SECRET_ENV_KEYS satisfies readonly (keyof Env)[];

/** Validates the environment (after secrets are merged in); throws ConfigError listing every bad variable. */
export function parseEnv(raw: Record<string, string | undefined>): Env {
  const res = envSchema.safeParse(raw);
  const problems = res.success ? [] : res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const env = res.success ? res.data : undefined;
  if (env && env.CHATOPS_ROLE !== 'worker') {
    if (!env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN) {
      problems.push('SLACK_SIGNING_SECRET: required to verify requests from Slack');
    }
  }
  if (env && !env.SLACK_BOT_TOKEN) problems.push('SLACK_BOT_TOKEN: required to post to Slack');
  if (problems.length || !env) throw new ConfigError(problems);
  // On a Redis Cluster every key of ours and of BullMQ's must hash to one slot (multi-key scripts):
  // a hash-tagged prefix, as BullMQ requires there.
  if (env.REDIS_CLUSTER_NODES && !env.CHATOPS_REDIS_PREFIX.startsWith('{')) {
    env.CHATOPS_REDIS_PREFIX = `{${env.CHATOPS_REDIS_PREFIX}}`;
  }
  return env;
}
