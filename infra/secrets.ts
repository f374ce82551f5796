import type { ActionRecorder } from './aws.js';
import { SECRET_ENV_KEYS } from './env.js';
import { ConfigError } from './errors.js';

/**
 * Reads the bot's own secrets (Slack tokens, SMTP URL, webhook secret) from a Secrets Manager secret
 * whose SecretString is JSON with the same keys as the environment. Values set in the environment win.
 * Errors never include the secret's content.
 */
export async function withSecretsFromAws(
  env: Record<string, string | undefined>,
  opts: { recorder?: ActionRecorder } = {},
): Promise<Record<string, string | undefined>> {
  const secretId = env.CHATOPS_SECRETS_ID;
  if (!secretId) return env;
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const { recorderPlugin } = await import('./aws.js');
  const client = new SecretsManagerClient({ maxAttempts: 5 });
  // biome-ignore lint/suspicious/noExplicitAny: the recorder is generic over every client's input/output types
  if (opts.recorder) client.middlewareStack.use(recorderPlugin(opts.recorder) as any);
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (err) {
    throw new ConfigError([`CHATOPS_SECRETS_ID: cannot read secret ${secretId}: ${(err as Error).name}`]);
  } finally {
    client.destroy();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    throw new ConfigError([`CHATOPS_SECRETS_ID: secret ${secretId} is not a JSON object`]);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([`CHATOPS_SECRETS_ID: secret ${secretId} is not a JSON object`]);
  }
  const values = parsed as Record<string, unknown>;
  const problems: string[] = [];
  const merged = { ...env };
  for (const key of Object.keys(values)) {
    if (!(SECRET_ENV_KEYS as readonly string[]).includes(key))
      problems.push(`CHATOPS_SECRETS_ID: unexpected key ${key} in secret ${secretId}`);
  }
  for (const key of SECRET_ENV_KEYS) {
    const v = values[key];
    if (v === undefined) continue;
    if (typeof v !== 'string')
      problems.push(`CHATOPS_SECRETS_ID: ${key} in secret ${secretId} must be a string`);
    else if (!merged[key]) merged[key] = v;
  }
  if (problems.length) throw new ConfigError(problems);
  return merged;
}
