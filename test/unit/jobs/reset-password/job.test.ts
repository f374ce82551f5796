// The reset processor after the change: a retry that finds the change done mails the saved
// ciphertext and changes nothing; a lost ciphertext or an unanswered change ends with a message that
// says what may have happened, an alert when the password did change, and no state left behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESET_PASSWORD_QUEUE } from '../../../../jobs/reset-password/index.js';
import { resetStateKey, writeState } from '../../../../jobs/reset-password/state.js';
import type { WorkerWorld } from '../../../helpers/worker-world.js';
import { resetData, resetWorld, statusOf } from './world.js';

let w: WorkerWorld;
beforeAll(async () => {
  w = await resetWorld([{ slack: 'U0ALICE', email: 'alice@example.com', iamUsers: { 'osio-dev': 'alice' } }]);
});
afterAll(() => w.close());

const pending = { fingerprint: 'FP0123456789', changedAt: '2027-01-01T00:00:00.000Z' };

describe('resetPasswordJob', () => {
  it('mails the saved ciphertext on a retry after the change, then drops it and reports done', async () => {
    const data = resetData('U0ALICE', { pending });
    const id = `rp-${data.requestId}`;
    await writeState(
      { deps: w.deps },
      { id, attemptsMade: 0, opts: { attempts: 2 } },
      { ciphertext: 'CIPHER-1' },
    );
    const job = await w.finish(RESET_PASSWORD_QUEUE, data, { jobId: id });

    expect(job.finishedOn && !job.failedReason).toBeTruthy();
    expect(job.returnvalue).toEqual({
      account: 'osio-dev',
      iamUser: 'alice',
      maskedEmail: 'a***@example.com',
      fingerprint: 'FP0123456789',
      created: false,
    });
    const mail = await w.smtp.waitForMessage((m) => m.to.includes('alice@example.com'));
    expect(mail.subject).toBe('AWS console password reset: alice in osio-dev');
    expect(mail.text).toContain('encrypted to key FP0123456789');
    expect(mail.text).toContain('CIPHER-1');
    expect(await w.redis.exists(resetStateKey(w.prefix, id))).toBe(0);
    expect(job.data.pending).toBeUndefined();
    expect(statusOf(w)).toMatchObject({
      text: 'Password reset for alice in osio-dev: done, mailed to a***@example.com',
      edits: 1,
    });
  });

  it('fails for good when the encrypted copy expired: the password WAS changed, and the alerts channel hears it', async () => {
    const data = resetData('U0ALICE', { pending });
    const job = await w.finish(RESET_PASSWORD_QUEUE, data, { jobId: `rp-${data.requestId}` });

    expect(job.failedReason).toMatch(/^ciphertext_expired: /);
    expect(job.attemptsMade).toBe(1);
    expect(job.data.pending).toBeUndefined();
    const status = JSON.stringify(w.slack.messages('D0OPS').at(-1)?.blocks);
    expect(status).toContain('the password WAS changed, but the mail could not be delivered');
    expect(status).toContain(`request ${data.requestId}`);
    expect(w.slack.messages('C0ALERTS').at(-1)?.text).toBe(
      `Password of alice in osio-dev was reset but could not be mailed: its encrypted copy expired from Redis before it could be mailed (request ${data.requestId})`,
    );
  });

  it('marks an attempt that finds a change in flight unsure, and its failure says the password MAY have changed', async () => {
    const alerts = w.slack.messages('C0ALERTS').length;
    // The person has no GPG key: the attempt fails before IAM, but an earlier one may have changed it.
    const data = resetData('U0ALICE', { changing: true });
    const job = await w.finish(RESET_PASSWORD_QUEUE, data, { jobId: `rp-${data.requestId}` });

    expect(job.failedReason).toMatch(/^no_key: /);
    const status = JSON.stringify(statusOf(w));
    expect(status).toContain('the password MAY have been changed');
    expect(status).not.toContain('nothing was changed');
    expect(job.data).not.toHaveProperty('changing');
    expect(job.data).not.toHaveProperty('unsure');
    expect(w.slack.messages('C0ALERTS')).toHaveLength(alerts);
  });
});
