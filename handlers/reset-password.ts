import type { App } from '@slack/bolt';
import { type BotDeps, type CommandSpec, registerCommand } from '../bot/listeners.js';
import { type Config, isAllowed, type Person } from '../infra/config.js';
import { DeniedError, UserError } from '../infra/errors.js';
import { parseMention, quoteSlack } from '../infra/slack-text.js';
import { RESET_PASSWORD_QUEUE, type ResetPasswordData } from '../jobs/reset-password/index.js';

const USAGE = '`/reset-password [@person | iam-user-name] [account]`';

export type ResetTarget =
  | { kind: 'self' }
  | { kind: 'mention'; slack: string }
  | { kind: 'iam'; name: string };

export interface ResetArgs {
  target: ResetTarget;
  account?: string;
}

const WORD = /^[\w+=,.@-]{1,64}$/;

/**
 * Parses `[target] [account]`: a mention (`<@U…|name>` or `<@U…>`, as Slack sends it with
 * `should_escape`) names a person; any other word names an IAM user. A lone word that is an account
 * alias means "me, in that account".
 */
export function parseResetArgs(text: string, config: Config, requester: string): ResetArgs {
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length > 2) throw new UserError('usage', 'too many arguments');
  const [first, second] = words;
  let target: ResetTarget = { kind: 'self' };
  let account: string | undefined;
  if (first !== undefined) {
    const mention = parseMention(first);
    if (mention)
      target = mention.id === requester ? { kind: 'self' } : { kind: 'mention', slack: mention.id };
    else if (words.length === 1 && first in config.accounts) account = first;
    else if (WORD.test(first)) target = { kind: 'iam', name: first };
    else
      throw new UserError(
        'usage',
        `"${quoteSlack(first, 80)}" is neither a Slack mention nor an IAM user name`,
      );
  }
  if (second !== undefined) {
    if (!(second in config.accounts)) {
      throw new UserError(
        'unknown_account',
        `unknown account "${quoteSlack(second, 64)}"; known accounts: ${Object.keys(config.accounts).join(', ')}`,
      );
    }
    account = second;
  }
  return { target, account };
}

/** The account a reset is for: the one named, else resetPassword.defaultAccount. */
function accountOf(args: ResetArgs, config: Config): string | undefined {
  return args.account ?? config.resetPassword.defaultAccount;
}

/**
 * The one identity rule: nobody named = the caller; a mention = that Slack user; a bare word = the
 * person whose IAM user in the account it is, and nothing else (never a `name`). An IAM user listed
 * for two people is refused when the config loads, so a bare word names at most one person.
 */
export function targetPerson(args: ResetArgs, config: Config, requester: string): Person | undefined {
  const t = args.target;
  if (t.kind === 'self') return config.people.find((p) => p.slack === requester);
  if (t.kind === 'mention') return config.people.find((p) => p.slack === t.slack);
  const account = accountOf(args, config);
  return account === undefined ? undefined : config.people.find((p) => p.iamUsers[account] === t.name);
}

/**
 * The permission a reset needs: `reset-password.self` only when the person it resolves to is the
 * caller's own `people` entry; anyone else needs `reset-password.other`. A bare word that is nobody's
 * IAM user asks for self, so a caller in `people` hears that plainly (and nothing changes).
 */
export function resetAction(args: ResetArgs, config: Config, requester: string): string {
  if (args.target.kind === 'self') return 'reset-password.self';
  const person = targetPerson(args, config, requester);
  if (person) return person.slack === requester ? 'reset-password.self' : 'reset-password.other';
  return args.target.kind === 'iam' ? 'reset-password.self' : 'reset-password.other';
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
  const person = targetPerson({ ...args, account }, config, requester);
  const t = args.target;
  if (!person) {
    if (t.kind === 'self') {
      throw new UserError(
        'unknown_person',
        `you (<@${requester}>) are not listed in people in the bot's config`,
      );
    }
    if (t.kind === 'mention') {
      throw new UserError(
        'unknown_person',
        // The id as text, not a mention: it came from what the caller typed.
        `the Slack user \`${t.slack}\` is not listed in people in the bot's config: add them with email, gpgKey and iamUsers`,
      );
    }
    const hint = t.name.startsWith('@')
      ? " (to name a person, pick them from Slack's mention list so the command carries their Slack id)"
      : '';
    throw new UserError(
      'unknown_person',
      `nobody in people has the IAM user "${quoteSlack(t.name, 64)}" in ${account}; nothing was changed. ` +
        `A bare word names an IAM user in the account${hint}; check the name or add people[].iamUsers.${account}`,
    );
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
    // The permission checked was chosen from this same resolution; say so again before queueing.
    if (person.slack !== req.userId && !isAllowed(deps.config, req.userId, 'reset-password.other')) {
      throw new DeniedError(
        "you may reset only your own password: resetting someone else's needs reset-password.other",
      );
    }
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
    if (res.status === 'finished') {
      return {
        outcome: 'invalid',
        target,
        detail: `already ${res.state} (job ${res.id})`,
        reply: {
          text: `:information_source: Not started again: this request already ran (job ${res.id}, ${res.state}); its outcome is in your DMs. (request ${req.requestId})`,
        },
      };
    }
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
