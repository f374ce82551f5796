// The reset-password processor: report, change the password (or, on a retry after the change, take
// the saved ciphertext), mail it, drop the state, report. Its final failure says what was changed.
import { UserError, userMessage } from '../../infra/errors.js';
import { maskEmail } from '../../infra/redact.js';
import type { JobKind } from '../common.js';
import { changePassword } from './change.js';
import {
  findPerson,
  RESET_PASSWORD_QUEUE,
  type ResetPasswordData,
  type ResetPasswordResult,
} from './data.js';
import { dropState, readState } from './state.js';
import { card, failureLines, resetMail, resetTitle } from './text.js';

export const resetPasswordJob: JobKind<ResetPasswordData, ResetPasswordResult> = {
  queue: RESET_PASSWORD_QUEUE,
  action: 'reset-password',
  describe: (d) => `${d.iamUser}@${d.account}`,
  summarize: (r) =>
    `mailed to ${r.maskedEmail}, key ${r.fingerprint}${r.created ? ', login profile created' : ''}`,
  async run(job, ctx) {
    const d = job.data;
    const title = resetTitle(d);
    await ctx.report(
      `${title}: working`,
      card(':hourglass_flowing_sand:', title, [`request ${d.requestId}`]),
    );
    let created = false;
    let email: string;
    let pending = d.pending;
    let ciphertext: string | undefined;
    if (pending) {
      email = findPerson(ctx.deps.config, d.person).email;
      ciphertext = (await readState(ctx, job)).ciphertext;
      if (!ciphertext) {
        throw new UserError(
          'ciphertext_expired',
          'its encrypted copy expired from Redis before it could be mailed',
        );
      }
    } else {
      // An attempt that finds a change still marked in flight follows one that never saw IAM's answer.
      if (d.changing && !d.unsure) await ctx.save({ unsure: true });
      const changed = await changePassword(job, ctx);
      pending = changed.pending;
      ciphertext = changed.ciphertext;
      created = changed.created;
      email = changed.email;
    }
    await ctx.deps.mailer.send({
      from: ctx.deps.config.resetPassword.mailFrom,
      to: email,
      ...resetMail(d, pending.fingerprint, ciphertext),
    });
    // The ciphertext and the nonce have done their job; drop them from Redis.
    await dropState(ctx, job);
    await ctx.save({ pending: undefined, unsure: undefined });
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
    const title = resetTitle(d);
    const changed = Boolean(d.pending);
    const why = userMessage(err);
    await ctx.report(
      `${title}: failed`,
      card(':x:', `${title} failed`, [...failureLines(d, why), `request ${d.requestId}`]),
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
    await dropState(ctx, job);
    if (changed || d.unsure || d.changing)
      await ctx.save({ pending: undefined, unsure: undefined, changing: undefined });
  },
};
