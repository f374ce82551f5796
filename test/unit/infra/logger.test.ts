import { describe, expect, it } from 'vitest';
import { SECRET_ENV_KEYS } from '../../../infra/env.js';
import { createLogger, redactSecrets } from '../../../infra/logger.js';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ destination: { write: (s: string) => void lines.push(s) } });
  return { log, text: () => lines.join('') };
}

describe('logger', () => {
  it('redacts secret-bearing fields wherever they are nested', () => {
    const { log, text } = capture();
    const err = Object.assign(new Error('boom'), { credentials: { SecretAccessKey: 'aws-in-error' } });
    log.info(
      {
        password: 'p4ss-top',
        input: { Password: 'p4ss-sdk', UserName: 'alice' },
        env: { SLACK_BOT_TOKEN: 'xoxb-1', SMTP_URL: 'smtp://u:p4ss-smtp@h' },
        headers: { authorization: 'Bearer xoxb-2', 'x-slack-signature': 'v0=sig-hex' },
        creds: { SecretAccessKey: 'aws-secret', SessionToken: 'aws-session' },
        deep: { a: { b: { c: [{ token: 'xoxp-deep' }] } } },
        err,
      },
      'hello',
    );
    log.child({ job: { newPassword: 'p4ss-binding' }, requestId: 'r-1' }).warn('child line');
    log.child({ requestId: 'r-2' }).child({ token: 'xoxb-grandchild' }).info('grandchild line');
    const out = text();
    for (const secret of [
      'p4ss-top',
      'p4ss-sdk',
      'xoxb-1',
      'p4ss-smtp',
      'xoxb-2',
      'sig-hex',
      'aws-secret',
      'aws-session',
      'xoxp-deep',
      'aws-in-error',
      'p4ss-binding',
      'xoxb-grandchild',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('alice');
    expect(out).toContain('boom');
    expect(out).toContain('r-1');
    expect(out).toContain('grandchild line');
    expect(out).toContain('[redacted]');
  });

  it('leaves the logged object untouched and returns it as is when it holds no secret', () => {
    const clean = { audit: { user: 'U1', action: 'reset-password.self' }, list: [1, { a: 'b' }] };
    expect(redactSecrets(clean)).toBe(clean);
    const dirty = { user: 'U1', nested: { password: 'p', keep: 1 } };
    const red = redactSecrets(dirty);
    expect(red).toEqual({ user: 'U1', nested: { password: '[redacted]', keep: 1 } });
    expect(dirty.nested.password).toBe('p');
  });

  it('redacts every secret env variable, wherever it is logged', () => {
    const { log, text } = capture();
    const env = Object.fromEntries(SECRET_ENV_KEYS.map((k) => [k, `value-of-${k}`]));
    log.info({ ...env, env, nested: { config: { env } } }, 'env line');
    log.child({ env }).info('child line');
    const out = text();
    for (const key of SECRET_ENV_KEYS) {
      expect(out, key).not.toContain(`value-of-${key}`);
      expect(out, key).toContain(`"${key}":"[redacted]"`);
    }
  });
});
