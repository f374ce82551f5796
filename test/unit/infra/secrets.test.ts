// The bot's own secrets from Secrets Manager (moto): merged under the environment's values, only the
// known secret variables accepted, and errors that name the problem without the secret's content.
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../infra/errors.js';
import { withSecretsFromAws } from '../../../infra/secrets.js';
import { useMoto } from '../../helpers/moto.js';

useMoto();
beforeAll(async () => {
  const sm = new SecretsManagerClient({});
  const put = (Name: string, SecretString: string) =>
    sm.send(new CreateSecretCommand({ Name, SecretString }));
  await put(
    'chatops/good',
    JSON.stringify({ SLACK_BOT_TOKEN: 'xoxb-from-aws', SMTP_URL: 'smtp://u:pw-from-aws@mail' }),
  );
  await put(
    'chatops/extra',
    JSON.stringify({ SLACK_BOT_TOKEN: 'xoxb-1', AWS_SECRET_ACCESS_KEY: 'leak-me-not' }),
  );
  await put('chatops/number', JSON.stringify({ CHATOPS_STATE_KEY: 12345 }));
  await put('chatops/text', 'token=leak-me-not');
  await put('chatops/list', '["leak-me-not"]');
  sm.destroy();
});

async function problemsOf(id: string): Promise<string[]> {
  const err = await withSecretsFromAws({ CHATOPS_SECRETS_ID: id }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).not.toContain('leak-me-not');
  return (err as ConfigError).problems;
}

describe('withSecretsFromAws', () => {
  it('returns the environment as it is without CHATOPS_SECRETS_ID, and asks AWS nothing', async () => {
    const actions: string[] = [];
    const env = { SLACK_BOT_TOKEN: 'xoxb-env' };
    expect(await withSecretsFromAws(env, { recorder: (a) => actions.push(a) })).toBe(env);
    expect(actions).toEqual([]);
  });

  it('fills the secret variables the environment leaves unset; a value set in the environment wins', async () => {
    const actions: string[] = [];
    const merged = await withSecretsFromAws(
      { CHATOPS_SECRETS_ID: 'chatops/good', SLACK_BOT_TOKEN: 'xoxb-env', PORT: '3000' },
      { recorder: (a) => actions.push(a) },
    );
    expect(merged).toEqual({
      CHATOPS_SECRETS_ID: 'chatops/good',
      SLACK_BOT_TOKEN: 'xoxb-env',
      SMTP_URL: 'smtp://u:pw-from-aws@mail',
      PORT: '3000',
    });
    expect(actions).toEqual(['secretsmanager:GetSecretValue']);
  });

  it('refuses keys that are no secret variable of ours, and values that are no string', async () => {
    expect(await problemsOf('chatops/extra')).toEqual([
      'CHATOPS_SECRETS_ID: unexpected key AWS_SECRET_ACCESS_KEY in secret chatops/extra',
    ]);
    expect(await problemsOf('chatops/number')).toEqual([
      'CHATOPS_SECRETS_ID: CHATOPS_STATE_KEY in secret chatops/number must be a string',
    ]);
  });

  it('refuses a secret that is no JSON object, without showing it', async () => {
    for (const id of ['chatops/text', 'chatops/list']) {
      expect(await problemsOf(id)).toEqual([`CHATOPS_SECRETS_ID: secret ${id} is not a JSON object`]);
    }
  });

  it('names the error of a secret it cannot read', async () => {
    expect(await problemsOf('chatops/missing')).toEqual([
      'CHATOPS_SECRETS_ID: cannot read secret chatops/missing: ResourceNotFoundException',
    ]);
  });
});
