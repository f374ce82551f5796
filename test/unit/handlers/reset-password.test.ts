import { describe, expect, it } from 'vitest';
import type { BotDeps } from '../../../bot/listeners.js';
import type { RequestContext } from '../../../bot/middleware.js';
import {
  parseResetArgs,
  resetAction,
  resetPasswordCommand,
  resolveReset,
  targetPerson,
} from '../../../handlers/reset-password.js';
import { parseConfig } from '../../../infra/config.js';

const config = parseConfig(
  {
    accounts: {
      osio: { id: '386414299200', region: 'us-east-1' },
      'osio-dev': { id: '619539278362', region: 'us-east-1' },
    },
    roles: { admin: ['U0ADMIN'] },
    people: [
      {
        slack: 'U0ALICE',
        name: 'alice',
        email: 'alice@example.com',
        gpgKey: 'k.asc',
        iamUsers: { 'osio-dev': 'alice', osio: 'alice.smith' },
      },
      { slack: 'U0BOB', email: 'bob@example.com', iamUsers: { 'osio-dev': 'bob' } },
    ],
    resetPassword: { defaultAccount: 'osio-dev' },
  },
  '/tmp',
);

describe('/reset-password arguments', () => {
  it('reads no argument as "me, in the default account"', () => {
    expect(parseResetArgs('', config, 'U0ALICE')).toEqual({ target: { kind: 'self' }, account: undefined });
    expect(resolveReset({ target: { kind: 'self' } }, config, 'U0ALICE')).toMatchObject({
      account: 'osio-dev',
      iamUser: 'alice',
    });
  });

  it('reads mentions with and without a label, and an account after them', () => {
    expect(parseResetArgs('<@U0BOB|bob> osio', config, 'U0ALICE')).toEqual({
      target: { kind: 'mention', slack: 'U0BOB' },
      account: 'osio',
    });
    expect(parseResetArgs('<@U0BOB>', config, 'U0ALICE').target).toEqual({ kind: 'mention', slack: 'U0BOB' });
    expect(parseResetArgs('<@U0ALICE>', config, 'U0ALICE').target).toEqual({ kind: 'self' });
  });

  it('reads a lone account alias as "me, in that account"', () => {
    const args = parseResetArgs('osio', config, 'U0ALICE');
    expect(args).toEqual({ target: { kind: 'self' }, account: 'osio' });
    expect(resolveReset(args, config, 'U0ALICE').iamUser).toBe('alice.smith');
  });

  it('refuses unknown accounts, junk and extra words with a clear message', () => {
    expect(() => parseResetArgs('bob mars', config, 'U0ALICE')).toThrow(
      /unknown account "mars"; known accounts: osio, osio-dev/,
    );
    expect(() => parseResetArgs('$(id)', config, 'U0ALICE')).toThrow(
      /neither a Slack mention nor an IAM user name/,
    );
    expect(() => parseResetArgs('a b c', config, 'U0ALICE')).toThrow(/too many/);
  });

  it('needs the "other" permission for someone else, even when named by IAM user', () => {
    expect(resetAction(parseResetArgs('bob', config, 'U0ALICE'), config, 'U0ALICE')).toBe(
      'reset-password.other',
    );
    expect(resetAction(parseResetArgs('alice', config, 'U0ALICE'), config, 'U0ALICE')).toBe(
      'reset-password.self',
    );
    expect(resetAction(parseResetArgs('<@U0BOB>', config, 'U0ALICE'), config, 'U0ALICE')).toBe(
      'reset-password.other',
    );
  });

  it('explains an unknown person, a missing IAM user and a missing key', () => {
    expect(() => resolveReset({ target: { kind: 'mention', slack: 'U0NOBODY' } }, config, 'U0ADMIN')).toThrow(
      /not listed in people/,
    );
    expect(() => resolveReset({ target: { kind: 'iam', name: 'zed' } }, config, 'U0ADMIN')).toThrow(
      /nobody in people has the IAM user "zed"/,
    );
    expect(() =>
      resolveReset({ target: { kind: 'mention', slack: 'U0BOB' }, account: 'osio' }, config, 'U0ADMIN'),
    ).toThrow(/has no IAM user in osio \(they have one in: osio-dev\).*app-interface/);
    expect(() => resolveReset({ target: { kind: 'mention', slack: 'U0BOB' } }, config, 'U0ADMIN')).toThrow(
      /no GPG key/,
    );
    expect(() => resolveReset({ target: { kind: 'self' } }, config, 'U0STRANGER')).toThrow(
      /not listed in people/,
    );
  });

  it('escapes the bad argument it quotes back', () => {
    for (const bad of ['<!channel>', '<https://x|y>', 'a&b']) {
      let message = '';
      try {
        parseResetArgs(bad, config, 'U0ALICE');
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/neither a Slack mention nor an IAM user name/);
      expect(message).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)/);
    }
    expect(() => parseResetArgs('bob <!here>', config, 'U0ALICE')).toThrow(/unknown account "&lt;!here&gt;"/);
  });
});

describe('one identity rule: a bare word is an IAM user in the account, never a name', () => {
  // U0OTHER is *named* bob; U0ME's IAM user in osio-dev *is* bob. Listed first, U0OTHER would win
  // any lookup that also matched names.
  const confusing = parseConfig(
    {
      accounts: { 'osio-dev': { id: '619539278362', region: 'us-east-1' } },
      roles: { admin: ['U0ADMIN'] },
      people: [
        {
          slack: 'U0OTHER',
          name: 'bob',
          email: 'other@example.com',
          gpgKey: 'o.asc',
          iamUsers: { 'osio-dev': 'robert' },
        },
        {
          slack: 'U0ME',
          name: 'me',
          email: 'me@example.com',
          gpgKey: 'm.asc',
          iamUsers: { 'osio-dev': 'bob' },
        },
      ],
      resetPassword: { defaultAccount: 'osio-dev' },
    },
    '/tmp',
  );

  it('resolves "bob" to the person whose IAM user is bob (the caller), with the self permission', () => {
    const args = parseResetArgs('bob', confusing, 'U0ME');
    expect(args.target).toEqual({ kind: 'iam', name: 'bob' });
    expect(targetPerson(args, confusing, 'U0ME')?.slack).toBe('U0ME');
    expect(resetAction(args, confusing, 'U0ME')).toBe('reset-password.self');
    expect(resolveReset(args, confusing, 'U0ME')).toMatchObject({
      person: { slack: 'U0ME' },
      iamUser: 'bob',
    });
  });

  it('needs the other permission for anyone else, named by IAM user or mention', () => {
    expect(resetAction(parseResetArgs('robert', confusing, 'U0ME'), confusing, 'U0ME')).toBe(
      'reset-password.other',
    );
    expect(resetAction(parseResetArgs('<@U0OTHER|bob>', confusing, 'U0ME'), confusing, 'U0ME')).toBe(
      'reset-password.other',
    );
    // The person named bob asking for "bob" asks for someone else's IAM user.
    expect(resetAction(parseResetArgs('bob', confusing, 'U0OTHER'), confusing, 'U0OTHER')).toBe(
      'reset-password.other',
    );
  });

  it("a bare word that is nobody's IAM user in the account is a clear error that changes nothing", () => {
    for (const word of ['me', 'ghost', '@bob']) {
      const args = parseResetArgs(word, confusing, 'U0ME');
      expect(targetPerson(args, confusing, 'U0ME')).toBeUndefined();
      expect(() => resolveReset(args, confusing, 'U0ME')).toThrow(
        new RegExp(`nobody in people has the IAM user "${word}" in osio-dev; nothing was changed`),
      );
    }
    expect(() => resolveReset(parseResetArgs('@bob', confusing, 'U0ME'), confusing, 'U0ME')).toThrow(
      /pick them from Slack's mention list/,
    );
  });
});

describe('/reset-password execute', () => {
  const deps = (status: Record<string, unknown>) =>
    ({
      config,
      env: { SMTP_URL: 'smtp://127.0.0.1:1' },
      queues: { enqueue: async () => status },
    }) as unknown as BotDeps;
  const req = { requestId: 'r1', userId: 'U0ALICE', confirmBy: 0 } as unknown as RequestContext;
  const run = (status: Record<string, unknown>) =>
    resetPasswordCommand.execute({ target: { kind: 'self' } }, req, deps(status), {
      channelId: 'C1',
      triggerId: 't',
    });

  it('says "queued" only for a job Redis holds to run; a repeat of a finished request is not "queued"', async () => {
    expect((await run({ status: 'queued', id: 'rp-r1' })).reply.text).toMatch(/^:key: Queued/);
    const finished = await run({ status: 'finished', id: 'rp-r1', existingId: 'rp-r1', state: 'completed' });
    expect(finished.outcome).toBe('invalid');
    expect(finished.reply.text).toMatch(/already ran \(job rp-r1, completed\)/);
    expect(finished.reply.text).not.toMatch(/Queued/);
    const dup = await run({ status: 'duplicate', id: 'rp-r1', existingId: 'rp-r0' });
    expect(dup.reply.text).toMatch(/already queued or running \(job rp-r0\)/);
  });

  it("refuses someone else's reset without the other permission even if asked to execute directly", async () => {
    await expect(
      resetPasswordCommand.execute(
        { target: { kind: 'mention', slack: 'U0ALICE' } },
        { ...req, userId: 'U0BOB' } as RequestContext,
        deps({}),
        { channelId: 'C1', triggerId: 't' },
      ),
    ).rejects.toThrow(/only your own password/);
  });
});
