// The password change itself: every check the user can fix first, then IAM's change with a password
// derived from a nonce saved before it (so a retry after an unanswered change sets the same one),
// then its ciphertext saved before the job is marked changed.
import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { awsFailure, isNetworkError, isNotFound } from '../../infra/aws-errors.js';
import { TransientError, UserError } from '../../infra/errors.js';
import type { JobContext } from '../common.js';
import { findPerson, type ResetPasswordData } from './data.js';
import { dropState, readState, writeState } from './state.js';
import { mailBody } from './text.js';

/**
 * The error of a failed password change, and what it tells us. An IAM answer of 4xx means this
 * attempt changed nothing: throttling (HTTP 400 `Throttling`) stays retryable with the same nonce;
 * another refusal drops the nonce unless an earlier change went unanswered (then the password may
 * still have changed, and the outcome must say so). No answer, or a 5xx: the change may have been
 * applied, so `changing` stays set and the next attempt knows.
 */
async function changeFailed(
  ctx: JobContext<ResetPasswordData>,
  job: Job<ResetPasswordData>,
  err: unknown,
  what: string,
): Promise<Error> {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const failure = awsFailure(err, what);
  const answered = status !== undefined && status >= 400 && status < 500 && !isNetworkError(err);
  if (!answered) return failure;
  await ctx.save({ changing: undefined });
  if (!(failure instanceof TransientError) && !job.data.unsure) await dropState(ctx, job);
  return failure;
}

export async function changePassword(job: Job<ResetPasswordData>, ctx: JobContext<ResetPasswordData>) {
  const { config, aws, keys, encryptor, mailer } = ctx.deps;
  const d = job.data;
  const person = findPerson(config, d.person);
  // Everything that can fail for a reason the user can fix is checked before the change.
  if (!person.gpgKey) {
    throw new UserError('no_key', `<@${person.slack}> has no GPG key in the config: add people[].gpgKey`);
  }
  const armored = await keys.keyFor(person.gpgKey);
  const key = await encryptor.inspectKey(armored, `<@${person.slack}>`, new Date(ctx.deps.clock.now()));
  await mailer.verify();

  const iamSdk = await import('@aws-sdk/client-iam');
  const iam = aws.client(iamSdk.IAMClient, d.account, d.requester);
  try {
    await iam.send(new iamSdk.GetUserCommand({ UserName: d.iamUser }));
  } catch (err) {
    if (isNotFound(err)) {
      throw new UserError(
        'iam_user_missing',
        `IAM user ${d.iamUser} does not exist in ${d.account}: fix people[].iamUsers.${d.account} in the config, or create the user`,
      );
    }
    throw awsFailure(err, `GetUser ${d.iamUser} in ${d.account}`);
  }
  let policy: import('@aws-sdk/client-iam').PasswordPolicy | undefined;
  try {
    policy = (await iam.send(new iamSdk.GetAccountPasswordPolicyCommand({}))).PasswordPolicy;
  } catch (err) {
    if (!isNotFound(err)) throw awsFailure(err, `GetAccountPasswordPolicy in ${d.account}`);
  }
  const { derivedRandom, generatePassword, policyFromIam } = await import('../../infra/password.js');
  const stateKey = ctx.deps.env.CHATOPS_STATE_KEY;
  let random: import('../../infra/password.js').RandomInt | undefined;
  if (stateKey) {
    let { nonce } = await readState(ctx, job);
    if (nonce) {
      ctx.log.warn(
        { iamUser: d.iamUser, account: d.account },
        'an earlier attempt may have changed the password without seeing the answer: setting the same one again',
      );
    } else {
      nonce = randomBytes(16).toString('hex');
      await writeState(ctx, job, { nonce });
    }
    random = derivedRandom(stateKey, `reset-password:${job.id}`, nonce);
  }
  // From here until IAM answers, the change may be applied without this attempt knowing.
  await ctx.save({ changing: true });
  let password = generatePassword(policyFromIam(policy), random);
  const profile = () => ({ UserName: d.iamUser, Password: password, PasswordResetRequired: true });
  let created = false;
  try {
    await iam.send(new iamSdk.UpdateLoginProfileCommand(profile()));
  } catch (err) {
    if (!isNotFound(err)) throw await changeFailed(ctx, job, err, `UpdateLoginProfile ${d.iamUser}`);
    try {
      await iam.send(new iamSdk.CreateLoginProfileCommand(profile()));
      created = true;
    } catch (err2) {
      throw await changeFailed(ctx, job, err2, `CreateLoginProfile ${d.iamUser}`);
    }
  }
  const ciphertext = await encryptor.encryptText(
    armored,
    mailBody(config, d, password),
    new Date(ctx.deps.clock.now()),
  );
  password = '';
  const pending = { fingerprint: key.fingerprint, changedAt: new Date(ctx.deps.clock.now()).toISOString() };
  // The ciphertext first: a pending mark never points at a copy that was not saved.
  await writeState(ctx, job, { ciphertext });
  await ctx.save({ pending, changing: undefined });
  ctx.log.info({ iamUser: d.iamUser, account: d.account, created }, 'login profile updated');
  return { pending, ciphertext, created, email: person.email };
}
