import type { App } from '@slack/bolt';
import { type BotDeps, type CommandSpec, registerCommand } from '../bot/listeners.js';
import type { Config, Person } from '../infra/config.js';
import { UserError } from '../infra/errors.js';
import { RESET_PASSWORD_QUEUE, type ResetPasswordData } from '../jobs/reset-password.js';

const USAGE = '`/reset-password [@person | iam-user-name] [account]`';

export type ResetTarget =
  | { kind: 'self' }
  | { kind: 'mention'; slack: string }
  | { kind: 'iam'; name: string };

export interface ResetArgs {
  target: ResetTarget;
  account?: string;
}

const MENTION = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/;
const WORD = /^[\w+=,.@-]{1,64}$/;

/** Parses `[target] [account]`; a lone word that is an account alias means "me, in that account". */
export function parseResetArgs(text: string, config: Config, requester: string): ResetArgs {
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length > 2) throw new UserError('usage', 'too many arguments');
  const [first, second] = words;
  let target: ResetTarget = { kind: 'self' };
  let account: string | undefined;
  if (first !== undefined) {
    const m = MENTION.exec(first);
    if (m?.[1]) target = m[1] === requester ? { kind: 'self' } : { kind: 'mention', slack: m[1] };
    else if (words.length === 1 && first in config.accounts) account = first;
    else if (WORD.test(first)) target = { kind: 'iam', name: first };
    else
      throw new UserError('usage', `"${first.slice(0, 80)}" is neither a Slack mention nor an IAM user name`);
  }
  if (second !== undefined) {
    if (!(second in config.accounts)) {
      throw new UserError(
        'unknown_account',
        `unknown account "${second.slice(0, 64)}"; known accounts: ${Object.keys(config.accounts).join(', ')}`,
      );
    }
    account = second;
  }
  return { target, account };
}

/** The permission a reset needs: resetting yourself versus someone else. */
export function resetAction(args: ResetArgs, config: Config, requester: string): string {
  if (args.target.kind === 'self') return 'reset-password.self';
  if (args.target.kind === 'iam') {
    const alias = args.account ?? config.resetPassword.defaultAccount;
    const me = config.people.find((p) => p.slack === requester);
    if (me && alias && me.iamUsers[alias] === args.target.name) return 'reset-password.self';
  }
  return 'reset-password.other';
}

export interface ResolvedReset {
  person: Person;
  account: string;
  iamUser: string;
}

/** Resolves the person, account and IAM user, or says exactly what is missing in the config. */
export function resolveReset(args: ResetArgs, config: Config, requester: string): ResolvedReset {
  const account = args.account ?? config.resetPassword.defaultAccount;
  if (!account) {
    throw new UserError('no_account', 'name an account (no resetPassword.defaultAccount is configured)');
  }
  let person: Person | undefined;
  const t = args.target;
  if (t.kind === 'self') {
    person = config.people.find((p) => p.slack === requester);
    if (!person) {
      throw new UserError(
        'unknown_person',
        `you (<@${requester}>) are not listed in people in the bot's config`,
      );
    }
  } else if (t.kind === 'mention') {
    person = config.people.find((p) => p.slack === t.slack);
    if (!person) {
      throw new UserError(
        'unknown_person',
        `<@${t.slack}> is not listed in people in the bot's config: add them with email, gpgKey and iamUsers`,
      );
    }
  } else {
    person = config.people.find((p) => p.iamUsers[account] === t.name || p.name === t.name);
    if (!person) {
      throw new UserError(
        'unknown_person',
        `nobody in people has the IAM user "${t.name}" in ${account}; check the name or add people[].iamUsers.${account}`,
      );
    }
  }
  const iamUser = person.iamUsers[account];
  if (!iamUser) {
    const has = Object.keys(person.iamUsers);
    throw new UserError(
      'no_iam_user',
      `<@${person.slack}> has no IAM user in ${account}${has.length ? ` (they have one in: ${has.join(', ')})` : ''}. ` +
        'Users without resources in AWS get a new password through app-interface instead: a merge request that removes ' +
        'their role for the account, then one that restores it; AWS mails them an invitation with a new password.',
    );
  }
  if (!person.gpgKey) {
    throw new UserError(
      'no_key',
      `<@${person.slack}> has no GPG key in the bot's config, so the password cannot be mailed safely: add people[].gpgKey`,
    );
  }
  return { person, account, iamUser };
}

export const resetPasswordCommand: CommandSpec<ResetArgs> = {
  command: '/reset-password',
  usage: USAGE,
  help: [
    {
      action: 'reset-password.self',
      line: '`/reset-password [account]`: reset your own AWS console password; it is mailed to you GPG-encrypted',
    },
    {
      action: 'reset-password.other',
      line: "`/reset-password @person|iam-user [account]`: reset someone else's console password",
    },
  ],
  parse: (text, req, deps) => parseResetArgs(text, deps.config, req.userId),
  permission: (args, req, deps) => resetAction(args, deps.config, req.userId),
  async execute(args, req, deps) {
    const { person, account, iamUser } = resolveReset(args, deps.config, req.userId);
    if (!deps.env.SMTP_URL) {
      throw new UserError(
        'smtp_not_configured',
        'the bot has no mail server configured (SMTP_URL), so it cannot mail passwords',
      );
    }
    const data: ResetPasswordData = {
      requestId: req.requestId,
      requester: req.userId,
      person: person.slack,
      account,
      iamUser,
    };
    const target = `${iamUser}@${account}`;
    const res = await deps.queues.enqueue(RESET_PASSWORD_QUEUE, target, data, {
      jobId: `rp-${req.requestId}`,
      dedupKey: `${account}/${iamUser}`,
      confirmBy: req.confirmBy,
    });
    if (res.status === 'duplicate') {
      return {
        outcome: 'invalid',
        target,
        detail: `duplicate of job ${res.existingId}`,
        reply: {
          text: `:hourglass: Not started twice: a password reset of ${iamUser} in ${account} is already queued or running (job ${res.existingId}). (request ${req.requestId})`,
        },
      };
    }
    return {
      outcome: 'queued',
      target,
      detail: `job ${res.id}`,
      reply: {
        text: `:key: Queued: resetting the console password of ${iamUser} in ${account}. I'll message you as it goes. (request ${req.requestId})`,
      },
    };
  },
};

/** Registers /reset-password. */
export function register(app: App, deps: BotDeps): void {
  registerCommand(app, deps, resetPasswordCommand);
}
