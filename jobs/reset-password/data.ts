// The reset-password queue, what its jobs carry (names and progress flags, never a secret), what
// they return, and the one config lookup both the change and the mail need.
import type { Config, Person } from '../../infra/config.js';
import { UserError } from '../../infra/errors.js';
import type { BaseJobData } from '../common.js';

export const RESET_PASSWORD_QUEUE = 'reset-password';

/**
 * Job data: names and progress flags only. The password never enters it, and neither do the nonce
 * it is derived from nor its ciphertext: those live in the reset's state key (resetStateKey), which
 * expires within the job's retry horizon, so a job that ends in a way our code never sees (stalled
 * past maxStalledCount, removed) leaves nothing behind for long.
 */
export interface ResetPasswordData extends BaseJobData {
  account: string;
  iamUser: string;
  person: string;
  /** Set once the password was changed, so a retry only re-sends the mail (the ciphertext is in the state key). */
  pending?: { fingerprint: string; changedAt: string };
  /** An attempt has asked IAM for the change and not yet seen a definite answer. */
  changing?: true;
  /**
   * A change went unanswered (a worker died, a timeout, a 5xx): IAM may have applied it. Kept until
   * the job ends, so a later refusal or throttling is never reported as "nothing changed".
   */
  unsure?: true;
}

export interface ResetPasswordResult {
  account: string;
  iamUser: string;
  maskedEmail: string;
  fingerprint: string;
  created: boolean;
}

/** The people entry of a Slack user; a UserError once they are no longer listed. */
export function findPerson(config: Config, slack: string): Person {
  const p = config.people.find((x) => x.slack === slack);
  if (!p) throw new UserError('unknown_person', `<@${slack}> is no longer listed in people in the config`);
  return p;
}
