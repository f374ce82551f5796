// What a reset says: its status cards in the requester's DM, and its mail (the plaintext that is
// encrypted to the person's key, and the message that carries the ciphertext). Pure.
import type { Config } from '../../infra/config.js';
import type { Blocks } from '../../infra/notifier.js';
import type { ResetPasswordData } from './data.js';

export function card(icon: string, title: string, lines: string[]): Blocks {
  return [
    { type: 'section', text: { type: 'mrkdwn', text: `${icon} *${title}*` } },
    ...(lines.length
      ? [{ type: 'context' as const, elements: lines.map((t) => ({ type: 'mrkdwn' as const, text: t })) }]
      : []),
  ];
}

export function resetTitle(d: ResetPasswordData): string {
  return `Password reset for ${d.iamUser} in ${d.account}`;
}

/** What a failed reset tells the requester it did: changed, maybe changed, or nothing. */
export function failureLines(d: ResetPasswordData, why: string): string[] {
  if (d.pending) {
    return [
      `the password WAS changed, but the mail could not be delivered: ${why}`,
      'run /reset-password again once mail works',
    ];
  }
  if (d.unsure || d.changing) {
    return [
      `the password MAY have been changed (IAM's answer was not seen) and nothing was mailed: ${why}`,
      'run /reset-password again',
    ];
  }
  return [`nothing was changed: ${why}`];
}

/** The plaintext encrypted to the person's key: where to sign in, and the new password. */
export function mailBody(config: Config, d: ResetPasswordData, password: string): string {
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

/** The mail's subject and its text around the ciphertext (nothing in clear but names). */
export function resetMail(
  d: ResetPasswordData,
  fingerprint: string,
  ciphertext: string,
): { subject: string; text: string } {
  return {
    subject: `AWS console password reset: ${d.iamUser} in ${d.account}`,
    text: `Your new AWS console password is in the PGP message below, encrypted to key ${fingerprint}.\n\n${ciphertext}`,
  };
}
