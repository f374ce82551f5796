import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../infra/logger.js';

describe('logger', () => {
  it('redacts secret-bearing fields wherever they are nested', () => {
    const lines: string[] = [];
    const log = createLogger({ destination: { write: (s: string) => void lines.push(s) } });
    log.info(
      {
        password: 'p4ss-top',
        input: { Password: 'p4ss-sdk', UserName: 'alice' },
        env: { SLACK_BOT_TOKEN: 'xoxb-1', SMTP_URL: 'smtp://u:p4ss-smtp@h' },
        headers: { authorization: 'Bearer xoxb-2' },
        creds: { SecretAccessKey: 'aws-secret', SessionToken: 'aws-session' },
      },
      'hello',
    );
    const text = lines.join('');
    for (const secret of [
      'p4ss-top',
      'p4ss-sdk',
      'xoxb-1',
      'p4ss-smtp',
      'xoxb-2',
      'aws-secret',
      'aws-session',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('alice');
    expect(text).toContain('[redacted]');
  });
});
