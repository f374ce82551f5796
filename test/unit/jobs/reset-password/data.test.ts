// The one config look-up of a reset: the person behind a Slack id, or an error the requester can act on.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../infra/errors.js';
import { findPerson } from '../../../../jobs/reset-password/data.js';
import { testConfig } from '../../../helpers/config.js';

const config = testConfig({
  people: [{ slack: 'U0ALICE', email: 'alice@example.com', iamUsers: { 'osio-dev': 'alice' } }],
});

describe('findPerson', () => {
  it('finds a listed person by Slack id', () => {
    expect(findPerson(config, 'U0ALICE').email).toBe('alice@example.com');
  });

  it('refuses someone no longer listed, as a UserError naming them', () => {
    let err: unknown;
    try {
      findPerson(config, 'U0GONE');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('unknown_person');
    expect((err as UserError).message).toBe('<@U0GONE> is no longer listed in people in the config');
  });
});
