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
  const { generatePassword, policyFromIam } = await import('../infra/password.js');
  let password = generatePassword(policyFromIam(policy));
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
    if (!isNotFound(err)) throw awsFailure(err, `UpdateLoginProfile ${d.iamUser}`);
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
      throw awsFailure(err2, `CreateLoginProfile ${d.iamUser}`);
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
    // The ciphertext has done its job; drop it from Redis.
    await ctx.save({ pending: undefined });
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
    if (changed) await ctx.save({ pending: undefined });
  },
};
