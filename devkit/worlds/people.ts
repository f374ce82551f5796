// The people /reset-password serves: each account's IAM users with a console login, the account's
// password policy (or none, when the bot uses its default), and the bot's own role in each account.
import { randomBytes } from 'node:crypto';
import {
  CreateLoginProfileCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutRolePolicyCommand,
  UpdateAccountPasswordPolicyCommand,
} from '@aws-sdk/client-iam';
import { ensure, type WorldTarget, worldClient } from './aws.js';

export interface WorldPerson {
  /** IAM user name per account alias. */
  iamUsers: Readonly<Partial<Record<string, string>>>;
}

export interface PeopleWorldOptions extends WorldTarget {
  people: readonly WorldPerson[];
  /** Minimum password length per account alias that has a password policy. */
  passwordPolicies?: Readonly<Partial<Record<string, number>>>;
  /** A role `chatops-bot` in every account with the bot's IAM policy, trusting `trustedAccount`. */
  botRole?: { policy: string; trustedAccount: string };
}

/** Per account alias: the users seeded and the password policy's minimum length, if any. */
export type PeopleWorld = Record<string, { users: string[]; minPasswordLength?: number }>;

/** A password that satisfies any policy; nobody ever sees it. */
function throwawayPassword(): string {
  return `${randomBytes(24).toString('base64url')}Aa1!`;
}

/** An IAM user, with a console login unless `loginProfile` is false. */
export async function seedIamUser(
  iam: IAMClient,
  userName: string,
  opts: { loginProfile?: boolean; password?: string } = {},
): Promise<void> {
  await ensure(iam.send(new CreateUserCommand({ UserName: userName })));
  if (opts.loginProfile ?? true) {
    await ensure(
      iam.send(
        new CreateLoginProfileCommand({
          UserName: userName,
          Password: opts.password ?? throwawayPassword(),
          PasswordResetRequired: false,
        }),
      ),
    );
  }
}

/** The account's password policy: `minLength` and every character class required. */
export async function seedPasswordPolicy(iam: IAMClient, minLength: number): Promise<void> {
  await iam.send(
    new UpdateAccountPasswordPolicyCommand({
      MinimumPasswordLength: minLength,
      RequireSymbols: true,
      RequireNumbers: true,
      RequireUppercaseCharacters: true,
      RequireLowercaseCharacters: true,
    }),
  );
}

/** Seeds every account of the target; every step tolerates "already exists". */
export async function seedPeopleWorld(o: PeopleWorldOptions): Promise<PeopleWorld> {
  const out: PeopleWorld = {};
  for (const alias of Object.keys(o.accounts)) {
    const iam = worldClient(o, IAMClient, alias);
    if (o.botRole) {
      const trust = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${o.botRole.trustedAccount}:root` },
            Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
          },
        ],
      });
      await ensure(
        iam.send(new CreateRoleCommand({ RoleName: 'chatops-bot', AssumeRolePolicyDocument: trust })),
      );
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: 'chatops-bot',
          PolicyName: 'chatops-bot',
          PolicyDocument: o.botRole.policy,
        }),
      );
    }
    const users = o.people.flatMap((p) => (p.iamUsers[alias] ? [p.iamUsers[alias]] : []));
    for (const user of users) await seedIamUser(iam, user);
    const minLength = o.passwordPolicies?.[alias];
    if (minLength) await seedPasswordPolicy(iam, minLength);
    out[alias] = { users, ...(minLength ? { minPasswordLength: minLength } : {}) };
  }
  return out;
}
