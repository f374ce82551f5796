import { describe, expect, it } from 'vitest';
import {
  checkPassword,
  DEFAULT_POLICY,
  derivedRandom,
  generatePassword,
  IAM_SYMBOLS,
  type PasswordPolicy,
  policyFromIam,
} from '../../../infra/password.js';

const STRICT: PasswordPolicy = {
  minimumLength: 32,
  requireSymbols: true,
  requireNumbers: true,
  requireUppercase: true,
  requireLowercase: true,
};

describe('generatePassword', () => {
  it.each([
    ['the default policy', DEFAULT_POLICY],
    ['a strict policy (min length 32)', STRICT],
  ])('1,000 passwords all comply with %s', (_name, policy) => {
    for (let i = 0; i < 1000; i++) {
      const pw = generatePassword(policy);
      expect(checkPassword(pw, policy)).toEqual([]);
    }
  });

  it('produces distinct passwords', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generatePassword(DEFAULT_POLICY)));
    expect(seen.size).toBe(1000);
  });

  it('uses only letters, digits and IAM symbols (no spaces)', () => {
    const allowed = /^[A-Za-z0-9]$/;
    for (let i = 0; i < 1000; i++) {
      for (const c of generatePassword(DEFAULT_POLICY)) {
        expect(allowed.test(c) || IAM_SYMBOLS.includes(c)).toBe(true);
      }
    }
    expect(IAM_SYMBOLS).not.toContain(' ');
  });

  it('uses length max(20, minimumLength), capped at 128', () => {
    expect(generatePassword({})).toHaveLength(20);
    expect(generatePassword({ minimumLength: 8 })).toHaveLength(20);
    expect(generatePassword(STRICT)).toHaveLength(32);
    expect(generatePassword({ minimumLength: 500 })).toHaveLength(128);
  });

  it('includes every character class even when the policy requires none', () => {
    const all: PasswordPolicy = {
      requireSymbols: true,
      requireNumbers: true,
      requireUppercase: true,
      requireLowercase: true,
    };
    for (let i = 0; i < 200; i++) expect(checkPassword(generatePassword({}), all)).toEqual([]);
  });

  it('does not always put the guaranteed characters first (shuffled)', () => {
    const firstIsUpper = Array.from({ length: 200 }, () => /^[A-Z]/.test(generatePassword(DEFAULT_POLICY)));
    expect(firstIsUpper.some((x) => !x)).toBe(true);
  });
});

describe('checkPassword', () => {
  it('detects each violated rule', () => {
    expect(checkPassword('Short1!', STRICT)).toEqual(['shorter than the minimum length 32']);
    expect(checkPassword('abcdefghij1!abcdefgh', DEFAULT_POLICY)).toEqual(['no uppercase letter']);
    expect(checkPassword('ABCDEFGHIJ1!ABCDEFGH', DEFAULT_POLICY)).toEqual(['no lowercase letter']);
    expect(checkPassword('ABCDEFGHIJa!ABCDEFGH', DEFAULT_POLICY)).toEqual(['no digit']);
    expect(checkPassword('ABCDEFGHIJa1ABCDEFGH', DEFAULT_POLICY)).toEqual(['no symbol']);
    expect(checkPassword('ABCDEFGHIJa1 !BCDEFGH', DEFAULT_POLICY)).toEqual([
      'a character outside letters, digits and IAM symbols',
    ]);
    expect(checkPassword('Aa1!'.repeat(33), {})).toEqual(["longer than IAM's maximum 128"]);
    expect(checkPassword('', DEFAULT_POLICY)).toHaveLength(5);
  });

  it('treats a tilde or quote-like character as outside the IAM set', () => {
    expect(checkPassword('Aa1!Aa1!Aa1!Aa1!Aa1~', {})).toEqual([
      'a character outside letters, digits and IAM symbols',
    ]);
  });
});

describe('policyFromIam', () => {
  it('falls back to the product default when the account has no policy', () => {
    expect(policyFromIam(undefined)).toEqual(DEFAULT_POLICY);
  });

  it('maps the AWS SDK shape', () => {
    expect(
      policyFromIam({
        MinimumPasswordLength: 40,
        RequireSymbols: true,
        RequireNumbers: false,
        RequireUppercaseCharacters: true,
        RequireLowercaseCharacters: false,
      }),
    ).toEqual({
      minimumLength: 40,
      requireSymbols: true,
      requireNumbers: false,
      requireUppercase: true,
      requireLowercase: false,
    });
    const p = policyFromIam({ MinimumPasswordLength: 40 });
    expect(generatePassword(p)).toHaveLength(40);
    expect(checkPassword(generatePassword(p), p)).toEqual([]);
  });
});

describe('derivedRandom', () => {
  const KEY = 'k'.repeat(32);
  it('gives the same password for the same key, salt and nonce, and another for any other', () => {
    const one = generatePassword(DEFAULT_POLICY, derivedRandom(KEY, 'reset-password:rp-1', 'aa'));
    expect(generatePassword(DEFAULT_POLICY, derivedRandom(KEY, 'reset-password:rp-1', 'aa'))).toBe(one);
    expect(generatePassword(DEFAULT_POLICY, derivedRandom(KEY, 'reset-password:rp-1', 'ab'))).not.toBe(one);
    expect(generatePassword(DEFAULT_POLICY, derivedRandom(KEY, 'reset-password:rp-2', 'aa'))).not.toBe(one);
    expect(generatePassword(DEFAULT_POLICY, derivedRandom(`${KEY}x`, 'reset-password:rp-1', 'aa'))).not.toBe(
      one,
    );
    expect(checkPassword(one, DEFAULT_POLICY)).toEqual([]);
  });

  it('draws uniformly in range, and enough for the longest password', () => {
    const rand = derivedRandom(KEY, 'salt', 'nonce');
    const counts = Array(7).fill(0);
    for (let i = 0; i < 1400; i++) counts[rand(7)] += 1;
    // 200 expected per value; a biased or stuck source lands far outside this band.
    for (const c of counts) expect(c).toBeGreaterThan(120);
    for (const c of counts) expect(c).toBeLessThan(280);
    const long = generatePassword({ minimumLength: 128 }, derivedRandom(KEY, 'salt', 'other'));
    expect(long).toHaveLength(128);
  });
});
