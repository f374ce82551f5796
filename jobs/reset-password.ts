import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { awsFailure, isNotFound } from '../infra/aws-errors.js';
import type { Config, Person } from '../infra/config.js';
import { UserError, userMessage } from '../infra/errors.js';
import type { Blocks } from '../infra/notifier.js';
import { maskEmail } from '../infra/redact.js';
import type { BaseJobData, JobContext, JobKind } from './common.js';

export const RESET_PASSWORD_QUEUE = 'reset-password';

/** Job data: names only. The password never enters it; after the change only the ciphertext may. */
export interface ResetPasswordData extends BaseJobData {
  account: string;
  iamUser: string;
  person: string;
  /** Set once the password was changed, so a retry only re-sends the mail. */
  pending?: { ciphertext: string; fingerprint: string; changedAt: string };
  /**
   * With CHATOPS_STATE_KEY: the random nonce the password is derived from, saved before IAM is
   * asked to change it. A retry that finds it without `pending` cannot know whether IAM applied the
   * change, so it sets the same password again (re-derived) rather than a second one.
   */
  nonce?: string;
}

export interface ResetPasswordResult {
  account: string;
  iamUser: string;
  maskedEmail: string;
  fingerprint: string;
  created: boolean;
}

function findPerson(config: Config, slack: string): Person {
  const p = config.people.find((x) => x.slack === slack);
  if (!p) throw new UserError('unknown_person', `<@${slack}> is no longer listed in people in the config`);
  return p;
}

function card(icon: string, title: string, lines: string[]): Blocks {
  return [
    { type: 'section', text: { type: 'mrkdwn', text: `${icon} *${title}*` } },
    ...(lines.length
      ? [{ type: 'context' as const, elements: lines.map((t) => ({ type: 'mrkdwn' as const, text: t })) }]
      : []),
  ];
}

function mailBody(config: Config, d: ResetPasswordData, password: string): string {
  const acct = config.accounts[d.account];
  return [
    `Your AWS console password for account ${d.account} (${acct?.id}) was reset at the request of Slack user ${d.requester}.`,
    '',
    `Sign-in URL: https://${acct?.id}.signin.aws.amazon.com/console`,
    `IAM user:    ${d.iamUser}`,
    `Password:    ${password}`,
    '',
    'You must choose a new password when you sign in.',
    `Request id: ${d.requestId}`,
  ].join('\n');
}

/**
 * The error of a failed password change. When IAM answered it with a refusal (4xx), nothing was
 * changed: the nonce is dropped, so the outcome says so and a retry starts afresh.
 */
async function refused(ctx: JobContext<ResetPasswordData>, err: unknown, what: string): Promise<Error> {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && status >= 400 && status < 500) await ctx.save({ nonce: undefined });
  return awsFailure(err, what);
}

async function changePassword(job: Job<ResetPasswordData>, ctx: JobContext<ResetPasswordData>) {
  const { config, aws, keys, encryptor, mailer } = ctx.deps;
  const d = job.data;
  const person = findPerson(config, d.person);
  // Everything that can fail for a reason the user can fix is checked before the change.
  if (!person.gpgKey) {
    throw new UserError('no_key', `<@${person.slack}> has no GPG key in the config: add people[].gpgKey`);
  }
  const armored = await keys.keyFor(person.gpgKey);
  const key = await encryptor.inspectKey(armored, `<@${person.slack}>`);
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
  const { derivedRandom, generatePassword, policyFromIam } = await import('../infra/password.js');
  const stateKey = ctx.deps.env.CHATOPS_STATE_KEY;
  let random: import('../infra/password.js').RandomInt | undefined;
  if (stateKey) {
    if (d.nonce) {
      ctx.log.warn(
        { iamUser: d.iamUser, account: d.account },
        'an earlier attempt may have changed the password without seeing the answer: setting the same one again',
      );
    } else {
      await ctx.save({ nonce: randomBytes(16).toString('hex') });
    }
    random = derivedRandom(stateKey, `reset-password:${job.id}`, job.data.nonce as string);
  }
  let password = generatePassword(policyFromIam(policy), random);
  let created = false;
  try {
    await iam.send(
      new iamSdk.UpdateLoginProfileCommand({
        UserName: d.iamUser,
        Password: password,
        PasswordResetRequired: true,
      }),
    );
  } catch (err) {
    if (!isNotFound(err)) throw await refused(ctx, err, `UpdateLoginProfile ${d.iamUser}`);
    try {
      await iam.send(
        new iamSdk.CreateLoginProfileCommand({
          UserName: d.iamUser,
          Password: password,
          PasswordResetRequired: true,
        }),
      );
      created = true;
    } catch (err2) {
      throw await refused(ctx, err2, `CreateLoginProfile ${d.iamUser}`);
    }
  }
  const ciphertext = await encryptor.encryptText(armored, mailBody(config, d, password));
  password = '';
  const pending = { ciphertext, fingerprint: key.fingerprint, changedAt: new Date().toISOString() };
  await ctx.save({ pending });
  ctx.log.info({ iamUser: d.iamUser, account: d.account, created }, 'login profile updated');
  return { pending, created, email: person.email };
}

export const resetPasswordJob: JobKind<ResetPasswordData, ResetPasswordResult> = {
  queue: RESET_PASSWORD_QUEUE,
  action: 'reset-password',
  describe: (d) => `${d.iamUser}@${d.account}`,
  summarize: (r) =>
    `mailed to ${r.maskedEmail}, key ${r.fingerprint}${r.created ? ', login profile created' : ''}`,
  async run(job, ctx) {
    const d = job.data;
    const title = `Password reset for ${d.iamUser} in ${d.account}`;
    await ctx.report(
      `${title}: working`,
      card(':hourglass_flowing_sand:', title, [`request ${d.requestId}`]),
    );
    let created = false;
    let email: string;
    let pending = d.pending;
    if (pending) {
      email = findPerson(ctx.deps.config, d.person).email;
    } else {
      const changed = await changePassword(job, ctx);
      pending = changed.pending;
      created = changed.created;
      email = changed.email;
    }
    await ctx.deps.mailer.send({
      from: ctx.deps.config.resetPassword.mailFrom,
      to: email,
      subject: `AWS console password reset: ${d.iamUser} in ${d.account}`,
      text: `Your new AWS console password is in the PGP message below, encrypted to key ${pending.fingerprint}.\n\n${pending.ciphertext}`,
    });
    // The ciphertext and the nonce have done their job; drop them from Redis.
    await ctx.save({ pending: undefined, nonce: undefined });
    const maskedEmail = maskEmail(email);
    await ctx.report(
      `${title}: done, mailed to ${maskedEmail}`,
      card(':white_check_mark:', title, [
        `new password mailed to ${maskedEmail}, encrypted to key \`${pending.fingerprint}\``,
        'they must choose a new password at sign-in',
        `request ${d.requestId}`,
      ]),
    );
    return { account: d.account, iamUser: d.iamUser, maskedEmail, fingerprint: pending.fingerprint, created };
  },
  async onFinalFailure(job, ctx, err) {
    const d = job.data;
    const title = `Password reset for ${d.iamUser} in ${d.account}`;
    const changed = Boolean(d.pending);
    const why = userMessage(err);
    const lines = changed
      ? [
          `the password WAS changed, but the mail could not be delivered: ${why}`,
          'run /reset-password again once mail works',
        ]
      : d.nonce
        ? [
            `the password MAY have been changed (IAM's answer was not seen) and nothing was mailed: ${why}`,
            'run /reset-password again',
          ]
        : [`nothing was changed: ${why}`];
    await ctx.report(
      `${title}: failed`,
      card(':x:', `${title} failed`, [...lines, `request ${d.requestId}`]),
    );
    const alerts = ctx.deps.config.channels.alerts;
    if (changed && alerts) {
      await ctx.deps.notifier
        .post(
          alerts,
          `Password of ${d.iamUser} in ${d.account} was reset but could not be mailed: ${why} (request ${d.requestId})`,
        )
        .catch((e) => ctx.log.warn({ err: String(e) }, 'could not post the alert'));
    }
    if (changed || d.nonce) await ctx.save({ pending: undefined, nonce: undefined });
  },
};
