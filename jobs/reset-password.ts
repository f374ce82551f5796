import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { awsFailure, isNetworkError, isNotFound } from '../infra/aws-errors.js';
import type { Config, Person } from '../infra/config.js';
import { TransientError, UserError, userMessage } from '../infra/errors.js';
import type { Blocks } from '../infra/notifier.js';
import { maskEmail } from '../infra/redact.js';
import type { BaseJobData, JobContext, JobKind } from './common.js';

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

/** The Redis hash with a reset's secrets-adjacent state: `nonce`, then `ciphertext` once changed. */
export function resetStateKey(prefix: string, jobId: string): string {
  return `${prefix}:rp-state:${jobId}`;
}

/** Time allowed for one attempt (key, IAM, gpg, mail, each with its own timeouts) and for a stall's re-run. */
export const ATTEMPT_ALLOWANCE_MS = 10 * 60_000;

/**
 * How long from now a reset can still be running: the backoff before each remaining retry plus an
 * allowance per remaining attempt and one more for a stalled attempt's re-run. The state key's TTL;
 * refreshed at every attempt, so it outlives the job by at most this and never by more.
 */
export function retryHorizonMs(job: Pick<Job, 'attemptsMade' | 'opts'>): number {
  const attempts = job.opts.attempts ?? 1;
  const made = job.attemptsMade;
  const b = job.opts.backoff;
  const backoff = typeof b === 'number' ? { type: 'fixed', delay: b } : b;
  let waits = 0;
  // The failure of attempt n (n = made + 1 … attempts - 1) waits before attempt n + 1.
  for (let n = made + 1; n < attempts; n++) {
    const delay = backoff?.delay ?? 0;
    if (backoff?.type === 'fixed') waits += delay;
    else if (backoff?.type === 'exponential') waits += Math.round(2 ** (n - 1) * delay);
    // A custom strategy is opaque here: allow a minute (or its delay) per retry.
    else if (backoff) waits += Math.max(delay, 60_000);
  }
  return waits + (attempts - made + 1) * ATTEMPT_ALLOWANCE_MS;
}

interface ResetState {
  nonce?: string;
  ciphertext?: string;
}

async function readState(
  ctx: JobContext<ResetPasswordData>,
  job: Job<ResetPasswordData>,
): Promise<ResetState> {
  const key = resetStateKey(ctx.deps.prefix, job.id as string);
  const [[, h]] = (await ctx.deps.redis.multi().hgetall(key).pexpire(key, retryHorizonMs(job)).exec()) as [
    [Error | null, Record<string, string>],
  ];
  return { nonce: h.nonce, ciphertext: h.ciphertext };
}

async function writeState(
  ctx: JobContext<ResetPasswordData>,
  job: Job<ResetPasswordData>,
  patch: ResetState,
): Promise<void> {
  const key = resetStateKey(ctx.deps.prefix, job.id as string);
  await ctx.deps.redis
    .multi()
    .hset(key, patch as Record<string, string>)
    .pexpire(key, retryHorizonMs(job))
    .exec();
}

async function dropState(ctx: JobContext<ResetPasswordData>, job: Job<ResetPasswordData>): Promise<void> {
  await ctx.deps.redis.del(resetStateKey(ctx.deps.prefix, job.id as string));
}

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

async function changePassword(job: Job<ResetPasswordData>, ctx: JobContext<ResetPasswordData>) {
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
  const { derivedRandom, generatePassword, policyFromIam } = await import('../infra/password.js');
  const stateKey = ctx.deps.env.CHATOPS_STATE_KEY;
  let random: import('../infra/password.js').RandomInt | undefined;
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
    if (!isNotFound(err)) throw await changeFailed(ctx, job, err, `UpdateLoginProfile ${d.iamUser}`);
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
      subject: `AWS console password reset: ${d.iamUser} in ${d.account}`,
      text: `Your new AWS console password is in the PGP message below, encrypted to key ${pending.fingerprint}.\n\n${ciphertext}`,
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
    const title = `Password reset for ${d.iamUser} in ${d.account}`;
    const changed = Boolean(d.pending);
    const why = userMessage(err);
    const lines = changed
      ? [
          `the password WAS changed, but the mail could not be delivered: ${why}`,
          'run /reset-password again once mail works',
        ]
      : d.unsure || d.changing
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
    await dropState(ctx, job);
    if (changed || d.unsure || d.changing)
      await ctx.save({ pending: undefined, unsure: undefined, changing: undefined });
  },
};
