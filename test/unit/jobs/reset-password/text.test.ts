// What a reset says: its status cards, what a failure tells the requester, the plaintext that is
// encrypted, and the mail around the ciphertext (names only in clear).
import { describe, expect, it } from 'vitest';
import type { ResetPasswordData } from '../../../../jobs/reset-password/data.js';
import { card, failureLines, mailBody, resetMail, resetTitle } from '../../../../jobs/reset-password/text.js';
import { testConfig } from '../../../helpers/config.js';

const d: ResetPasswordData = {
  requestId: 'req-1',
  requester: 'U0OPS',
  account: 'osio-dev',
  iamUser: 'alice',
  person: 'U0ALICE',
};

describe('the status card', () => {
  it('is a title section, with a context line per line given and none without', () => {
    expect(card(':x:', resetTitle(d), ['one', 'two'])).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: ':x: *Password reset for alice in osio-dev*' } },
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: 'one' },
          { type: 'mrkdwn', text: 'two' },
        ],
      },
    ]);
    expect(card(':x:', 't', [])).toHaveLength(1);
  });
});

describe('a failure', () => {
  it('says the password WAS changed once a change is pending', () => {
    const lines = failureLines({ ...d, pending: { fingerprint: 'F', changedAt: 'x' } }, 'SMTP down');
    expect(lines.join('\n')).toMatch(/WAS changed, but the mail could not be delivered: SMTP down/);
  });

  it('says it MAY have changed while a change went unanswered, never "nothing was changed"', () => {
    for (const flags of [{ unsure: true as const }, { changing: true as const }]) {
      const text = failureLines({ ...d, ...flags }, 'Throttling').join('\n');
      expect(text).toMatch(/MAY have been changed/);
      expect(text).not.toMatch(/nothing was changed/);
    }
  });

  it('says nothing was changed otherwise', () => {
    expect(failureLines(d, 'no GPG key')).toEqual(['nothing was changed: no GPG key']);
  });
});

describe('the mail', () => {
  it('encrypts where to sign in, the IAM user and the password, with the request id', () => {
    const body = mailBody(testConfig(), d, 'Pw-123');
    expect(body).toContain('https://619539278362.signin.aws.amazon.com/console');
    expect(body).toMatch(/^IAM user: +alice$/m);
    expect(body).toMatch(/^Password: +Pw-123$/m);
    expect(body).toContain('Request id: req-1');
    expect(body).toContain('at the request of Slack user U0OPS');
  });

  it('carries the ciphertext and the key it is encrypted to, and no password', () => {
    const m = resetMail(d, 'ABCD1234', '-----BEGIN PGP MESSAGE-----\nxyz\n-----END PGP MESSAGE-----');
    expect(m.subject).toBe('AWS console password reset: alice in osio-dev');
    expect(m.text).toMatch(/encrypted to key ABCD1234\.\n\n-----BEGIN PGP MESSAGE-----/);
    expect(m.text).not.toMatch(/Password:/);
  });
});
