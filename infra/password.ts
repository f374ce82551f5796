import { hkdfSync, randomInt } from 'node:crypto';

/** The parts of an IAM account password policy that constrain what a generated password looks like. */
export type PasswordPolicy = {
  minimumLength?: number;
  requireSymbols?: boolean;
  requireNumbers?: boolean;
  requireUppercase?: boolean;
  requireLowercase?: boolean;
};

/** Product spec, used when the account has no IAM password policy: length 20 with upper, lower, digit, symbol. */
export const DEFAULT_POLICY: Readonly<Required<PasswordPolicy>> = Object.freeze({
  minimumLength: 20,
  requireSymbols: true,
  requireNumbers: true,
  requireUppercase: true,
  requireLowercase: true,
});

/** IAM refuses console passwords longer than this. */
export const IAM_MAX_PASSWORD_LENGTH = 128;

const MIN_GENERATED_LENGTH = 20;

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
/** IAM's "non-alphanumeric" set; anything else (spaces included) is rejected or not counted as a symbol. */
export const IAM_SYMBOLS = "!@#$%^&*()_+-=[]{}|'";

const ALL = UPPER + LOWER + DIGITS + IAM_SYMBOLS;
const CLASSES = [UPPER, LOWER, DIGITS, IAM_SYMBOLS] as const;

/** A uniform integer in [0, n). */
export type RandomInt = (n: number) => number;

/** HKDF-SHA256's largest output: plenty for the ~260 draws of a 128-character password. */
const DERIVED_BYTES = 255 * 32;

/**
 * Uniform integers drawn from HKDF-SHA256 (node:crypto) of a secret `key`, bound to `salt` and a
 * random `nonce`: the same three give the same sequence. A reset uses it so that a worker resuming a
 * job whose password change went unanswered can set the same password again instead of a second one;
 * only `nonce` is stored (in the job), never the password, and without `key` it reveals nothing.
 */
export function derivedRandom(key: string, salt: string, nonce: string): RandomInt {
  const stream = Buffer.from(hkdfSync('sha256', key, salt, nonce, DERIVED_BYTES));
  let at = 0;
  return (n) => {
    // Rejection sampling on 32-bit words, as randomInt does: no modulo bias.
    const limit = Math.floor(0x1_0000_0000 / n) * n;
    for (;;) {
      if (at + 4 > stream.length) throw new Error('the derived random stream is exhausted');
      const word = stream.readUInt32BE(at);
      at += 4;
      if (word < limit) return word % n;
    }
  };
}

/**
 * Generates a console password that satisfies `policy` (and any stricter IAM policy short of length),
 * using node:crypto's CSPRNG (`randomInt`, or a `derivedRandom` stream). The result must stay in
 * memory only: never log or persist it.
 */
export function generatePassword(
  policy: PasswordPolicy = DEFAULT_POLICY,
  random: RandomInt = randomInt,
): string {
  const length = Math.min(IAM_MAX_PASSWORD_LENGTH, Math.max(MIN_GENERATED_LENGTH, policy.minimumLength ?? 0));
  const pick = (alphabet: string) => alphabet.charAt(random(alphabet.length));
  // All four classes always: this satisfies whatever combination the policy requires.
  const chars = CLASSES.map(pick);
  while (chars.length < length) chars.push(pick(ALL));
  // Fisher–Yates, so the guaranteed characters are not always at the front.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = random(i + 1);
    const tmp = chars[i] as string;
    chars[i] = chars[j] as string;
    chars[j] = tmp;
  }
  return chars.join('');
}

/**
 * Lists the rules of `policy` (and of IAM's character set and maximum length) that `pw` breaks;
 * an empty list means the password is compliant. Messages describe rules, never the password.
 */
export function checkPassword(pw: string, policy: PasswordPolicy): string[] {
  const problems: string[] = [];
  const min = policy.minimumLength ?? 0;
  if (pw.length < min) problems.push(`shorter than the minimum length ${min}`);
  if (pw.length > IAM_MAX_PASSWORD_LENGTH)
    problems.push(`longer than IAM's maximum ${IAM_MAX_PASSWORD_LENGTH}`);
  const has = (alphabet: string) => [...pw].some((c) => alphabet.includes(c));
  if (policy.requireUppercase && !has(UPPER)) problems.push('no uppercase letter');
  if (policy.requireLowercase && !has(LOWER)) problems.push('no lowercase letter');
  if (policy.requireNumbers && !has(DIGITS)) problems.push('no digit');
  if (policy.requireSymbols && !has(IAM_SYMBOLS)) problems.push('no symbol');
  if ([...pw].some((c) => !ALL.includes(c)))
    problems.push('a character outside letters, digits and IAM symbols');
  return problems;
}

/** Shape of `GetAccountPasswordPolicy`'s `PasswordPolicy` in @aws-sdk/client-iam (only the fields we use). */
export type IamPasswordPolicy = {
  MinimumPasswordLength?: number;
  RequireSymbols?: boolean;
  RequireNumbers?: boolean;
  RequireUppercaseCharacters?: boolean;
  RequireLowercaseCharacters?: boolean;
};

/** Maps the AWS SDK policy shape to ours; no policy on the account means the product default. */
export function policyFromIam(p?: IamPasswordPolicy): PasswordPolicy {
  if (!p) return { ...DEFAULT_POLICY };
  return {
    minimumLength: p.MinimumPasswordLength ?? 0,
    requireSymbols: p.RequireSymbols ?? false,
    requireNumbers: p.RequireNumbers ?? false,
    requireUppercase: p.RequireUppercaseCharacters ?? false,
    requireLowercase: p.RequireLowercaseCharacters ?? false,
  };
}
