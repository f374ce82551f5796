// The checks before the change: every reason the requester can fix ends the job before IAM is asked,
// with nothing marked in flight, no nonce saved and a message that says nothing was changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESET_PASSWORD_QUEUE } from '../../../../jobs/reset-password/index.js';
import { resetStateKey } from '../../../../jobs/reset-password/state.js';
import { makeKeys } from '../../../fixtures/keys.js';
import type { WorkerWorld } from '../../../helpers/worker-world.js';
import { resetData, resetWorld, statusOf } from './world.js';

let w: WorkerWorld;
let noSmtp: WorkerWorld;
beforeAll(async () => {
  const keys = await makeKeys();
  const people = [
    {
      slack: 'U0ALICE',
      email: 'alice@example.com',
      gpgKey: keys.valid.publicKey,
      iamUsers: { 'osio-dev': 'alice' },
    },
    { slack: 'U0NOKEY', email: 'nokey@example.com', iamUsers: { 'osio-dev': 'nokey' } },
    {
      slack: 'U0OLD',
      email: 'old@example.com',
      gpgKey: keys.expired.publicKey,
      iamUsers: { 'osio-dev': 'old' },
    },
  ];
  [w, noSmtp] = await Promise.all([resetWorld(people), resetWorld(people, { SMTP_URL: '' })]);
});
afterAll(() => Promise.all([w.close(), noSmtp.close()]));

/** Runs a reset for `person` and checks that it ended before the change; returns its failure. */
async function refusedBeforeTheChange(world: WorkerWorld, person: string): Promise<string> {
  const data = resetData(person);
  const id = `rp-${data.requestId}`;
  const job = await world.finish(RESET_PASSWORD_QUEUE, data, { jobId: id });
  expect(job.attemptsMade, 'a fixable refusal is not retried').toBe(1);
  expect(job.data).not.toHaveProperty('changing');
  expect(job.data).not.toHaveProperty('pending');
  expect(await world.redis.exists(resetStateKey(world.prefix, id))).toBe(0);
  expect(JSON.stringify(statusOf(world))).toContain('nothing was changed');
  expect(world.logs.join('')).not.toContain('login profile updated');
  return job.failedReason;
}

describe('changePassword, before IAM', () => {
  it('refuses a person no longer in the config', async () => {
    expect(await refusedBeforeTheChange(w, 'U0GONE')).toMatch(/^unknown_person: <@U0GONE>/);
  });

  it('refuses a person without a GPG key, saying where to add one', async () => {
    expect(await refusedBeforeTheChange(w, 'U0NOKEY')).toBe(
      'no_key: <@U0NOKEY> has no GPG key in the config: add people[].gpgKey',
    );
  });

  it('refuses a key that has expired', async () => {
    expect(await refusedBeforeTheChange(w, 'U0OLD')).toMatch(/expired/);
  });

  it('refuses when no mail could be sent, before the password is changed', async () => {
    expect(await refusedBeforeTheChange(noSmtp, 'U0ALICE')).toMatch(/^smtp_not_configured: /);
  });
});
