import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { encryptText, inspectKey, openpgpEncryptor } from '../../../infra/pgp.js';
import { makeKeys, type TestKeys } from '../../fixtures/keys.js';
import { userErrorOf } from '../../helpers/errors.js';

const DAY_MS = 86_400_000;

let keys: TestKeys;
beforeAll(async () => {
  keys = await makeKeys();
});

describe('inspectKey', () => {
  it('accepts a valid ECC key and reports its fingerprint and user ids', async () => {
    const info = await inspectKey(keys.valid.publicKey, 'U123', new Date());
    const key = await openpgp.readKey({ armoredKey: keys.valid.publicKey });
    expect(info).toEqual({
      fingerprint: key.getFingerprint().toUpperCase(),
      userIds: ['valid <valid@example.com>'],
      canEncrypt: true,
    });
    expect(info.fingerprint).toBe(keys.valid.fingerprint);
    expect(info.fingerprint).toMatch(/^[0-9A-F]{40}$/);
  });

  it('produces v4 keys with legacy curve25519 (GnuPG 2.2 cannot read v6 or native X25519 keys)', async () => {
    const key = await openpgp.readKey({ armoredKey: keys.valid.publicKey });
    expect(key.keyPacket.version).toBe(4);
    expect(key.getAlgorithmInfo()).toMatchObject({ algorithm: 'eddsaLegacy', curve: 'ed25519Legacy' });
    expect(key.subkeys.map((s) => s.getAlgorithmInfo())).toEqual([
      { algorithm: 'ecdh', curve: 'curve25519Legacy' },
    ]);
    const priv = await openpgp.readPrivateKey({ armoredKey: keys.valid.privateKey });
    expect(priv.isDecrypted()).toBe(true);
  });

  it('rejects an expired key with key_expired and the expiry date', async () => {
    const err = await userErrorOf(() => inspectKey(keys.expired.publicKey, 'U_EXPIRED', new Date()));
    expect(err.code).toBe('key_expired');
    expect(err.message).toContain('U_EXPIRED');
    const expiry = (await (
      await openpgp.readKey({ armoredKey: keys.expired.publicKey })
    ).getExpirationTime()) as Date;
    expect(err.message).toContain(expiry.toISOString().slice(0, 10));
  });

  it('rejects a key whose only encryption subkey expired with key_expired', async () => {
    const { publicKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'curve25519Legacy',
      userIDs: [{ email: 'sub-expiry@example.com' }],
      subkeys: [{ keyExpirationTime: 86_400 }],
      config: { v6Keys: false },
    });
    await expect(inspectKey(publicKey, 'x', new Date())).resolves.toMatchObject({ canEncrypt: true });
    const err = await userErrorOf(() => inspectKey(publicKey, 'x', new Date(Date.now() + 3 * DAY_MS)));
    expect(err.code).toBe('key_expired');
    expect(err.message).toMatch(/encryption subkey that expired on \d{4}-\d{2}-\d{2}/);
    // encryptText checks the key at the time it is given, not the machine's.
    const later = await userErrorOf(() =>
      encryptText(publicKey, 'secret', new Date(Date.now() + 3 * DAY_MS)),
    );
    expect(later.code).toBe('key_expired');
  });

  it('rejects a revoked key with key_revoked', async () => {
    const err = await userErrorOf(() => inspectKey(keys.revoked.publicKey, 'U_REVOKED', new Date()));
    expect(err.code).toBe('key_revoked');
    expect(err.message).toContain('U_REVOKED');
  });

  it('rejects a sign-only key with key_no_encryption', async () => {
    const key = await openpgp.readKey({ armoredKey: keys.signOnly.publicKey });
    // Guards the fixture: generateKey with `subkeys: []` must really yield no subkey in openpgp v6.
    expect(key.subkeys).toHaveLength(0);
    const err = await userErrorOf(() => inspectKey(keys.signOnly.publicKey, 'U_SIGN', new Date()));
    expect(err.code).toBe('key_no_encryption');
    expect(err.message).toContain('no encryption subkey (sign-only)');
  });

  it('rejects garbage with key_unreadable', async () => {
    for (const junk of [
      '',
      'not a key',
      '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----',
    ]) {
      const err = await userErrorOf(() => inspectKey(junk, 'U_JUNK', new Date()));
      expect(err.code).toBe('key_unreadable');
      expect(err.message).toContain('the GPG key for U_JUNK is not a readable armored public key');
    }
  });

  it('refuses a private key with key_private, without echoing it', async () => {
    const err = await userErrorOf(() => inspectKey(keys.valid.privateKey, 'U_PRIV', new Date()));
    expect(err.code).toBe('key_private');
    expect(err.message).toContain('is a PRIVATE key; configure the public key only');
    expect(err.message).not.toContain('BEGIN PGP');
  });

  it('rejects an RSA-1024 key with key_weak', async () => {
    const { publicKey } = await openpgp.generateKey({
      type: 'rsa',
      rsaBits: 1024,
      userIDs: [{ email: 'weak@example.com' }],
      config: { v6Keys: false, minRSABits: 1024 },
    });
    const err = await userErrorOf(() => inspectKey(publicKey, 'U_WEAK', new Date()));
    expect(err.code).toBe('key_weak');
  });
});

describe('encryptText', () => {
  it('produces an armored message that the private key decrypts', async () => {
    const secret = 'Tr0ub4dor&3-päss';
    const armored = await encryptText(keys.valid.publicKey, secret, new Date());
    expect(armored).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(armored).not.toContain(secret);
    const { data } = await openpgp.decrypt({
      message: await openpgp.readMessage({ armoredMessage: armored }),
      decryptionKeys: await openpgp.readPrivateKey({ armoredKey: keys.valid.privateKey }),
    });
    expect(data).toBe(secret);
  });

  it('refuses unusable keys with the same codes as inspectKey, never echoing the text', async () => {
    const secret = 'do-not-leak-me';
    for (const [key, code] of [
      [keys.expired.publicKey, 'key_expired'],
      [keys.revoked.publicKey, 'key_revoked'],
      [keys.signOnly.publicKey, 'key_no_encryption'],
      [keys.valid.privateKey, 'key_private'],
      ['garbage', 'key_unreadable'],
    ] as const) {
      const err = await userErrorOf(() => encryptText(key, secret, new Date(), 'U1'));
      expect(err.code).toBe(code);
      expect(err.message).not.toContain(secret);
    }
  });

  it('is exposed through openpgpEncryptor', () => {
    expect(openpgpEncryptor.encryptText).toBe(encryptText);
    expect(openpgpEncryptor.inspectKey).toBe(inspectKey);
  });
});
