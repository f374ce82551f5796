import * as openpgp from 'openpgp';
import { UserError } from './errors.js';

/** What we learned about a usable recipient key. */
export type KeyInfo = {
  /** Primary key fingerprint, uppercase hex without spaces. */
  fingerprint: string;
  userIds: string[];
  canEncrypt: true;
};

/** Checks recipients' keys and encrypts text to them; the seam tests and handlers depend on. */
export interface Encryptor {
  inspectKey(armored: string, who: string, now: Date): Promise<KeyInfo>;
  encryptText(armoredPublicKey: string, text: string, now: Date, who?: string): Promise<string>;
}

/** How to replace a configured key; `fpr` is filled in when the key could be parsed. */
function fixHint(fpr = '<fingerprint>'): string {
  return `export it with \`gpg --armor --export ${fpr}\` and fix \`people[].gpgKey\` in the config`;
}

function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

async function readPublicKey(armored: string, who: string): Promise<openpgp.Key> {
  let key: openpgp.Key;
  try {
    key = await openpgp.readKey({ armoredKey: armored });
  } catch {
    // openpgp's own message is about packets and armor; the user needs to know which config entry to fix.
    throw new UserError(
      'key_unreadable',
      `the GPG key for ${who} is not a readable armored public key: ${fixHint()}`,
    );
  }
  if (key.isPrivate()) {
    throw new UserError(
      'key_private',
      `the GPG key for ${who} is a PRIVATE key; configure the public key only (${fixHint()}) and treat that private key as exposed`,
    );
  }
  return key;
}

/** Algorithms that can hold an encryption subkey; a dead signing subkey is not why encryption fails. */
const ENCRYPTION_ALGORITHMS = new Set(['ecdh', 'rsaEncryptSign', 'rsaEncrypt', 'elgamal', 'x25519', 'x448']);

/** Finds why no subkey can encrypt (expired / revoked), so the user gets the actionable reason. */
async function subkeyFailure(
  key: openpgp.Key,
  who: string,
  fpr: string,
  now: Date,
): Promise<UserError | undefined> {
  let expiredAt: Date | undefined;
  let revoked = false;
  for (const sub of key.subkeys) {
    if (!ENCRYPTION_ALGORITHMS.has(sub.getAlgorithmInfo().algorithm)) continue;
    const exp = await sub.getExpirationTime(now).catch(() => null);
    if (exp instanceof Date && exp <= now) {
      if (!expiredAt || exp > expiredAt) expiredAt = exp;
      continue;
    }
    // Subkey.isRevoked needs the binding signature, which openpgp does not expose; verify() reports it.
    const failure = await sub.verify(now).then(
      () => '',
      (e: unknown) => (e instanceof Error ? e.message : ''),
    );
    if (/revoked/i.test(failure)) revoked = true;
  }
  if (expiredAt) {
    return new UserError(
      'key_expired',
      `the GPG key for ${who} has an encryption subkey that expired on ${isoDate(expiredAt)}: ` +
        `extend it (\`gpg --quick-set-expire ${fpr} 1y '*'\`), then ${fixHint(fpr)}`,
    );
  }
  if (revoked) {
    return new UserError(
      'key_revoked',
      `the GPG key for ${who} has its encryption subkey revoked: add a new encryption subkey, then ${fixHint(fpr)}`,
    );
  }
  return undefined;
}

function weakKey(who: string, fpr: string): UserError {
  return new UserError(
    'key_weak',
    `the GPG key for ${who} uses an algorithm too weak to encrypt to (e.g. RSA under 2048 bits, DSA/ElGamal): ` +
      `generate a new key (\`gpg --quick-gen-key <email> default default\`), then ${fixHint(fpr)}`,
  );
}

/** Parses and validates a recipient key; shared by inspectKey and encryptText so the key is read once. */
async function usableKey(
  armored: string,
  who: string,
  now: Date,
): Promise<{ key: openpgp.Key; info: KeyInfo }> {
  const key = await readPublicKey(armored, who);
  const fpr = key.getFingerprint().toUpperCase();

  // Revocation and expiry first: getEncryptionKey fails on them too, but with a less useful reason.
  if (await key.isRevoked(undefined, undefined, now)) {
    throw new UserError(
      'key_revoked',
      `the GPG key for ${who} has been revoked: get their current key, then ${fixHint(fpr)}`,
    );
  }
  // Infinity = never expires; null = no valid self-signature, which verifyPrimaryKey reports below.
  const expires = await key.getExpirationTime();
  if (expires instanceof Date && expires <= now) {
    throw new UserError(
      'key_expired',
      `the GPG key for ${who} expired on ${isoDate(expires)}: ` +
        `extend it (\`gpg --quick-set-expire ${fpr} 1y\`), then ${fixHint(fpr)}`,
    );
  }
  try {
    await key.verifyPrimaryKey(now);
  } catch {
    throw new UserError(
      'key_unreadable',
      `the GPG key for ${who} has no valid self-signature, so it cannot be trusted: ${fixHint(fpr)}`,
    );
  }

  try {
    await key.getEncryptionKey(undefined, now);
  } catch (err) {
    const fromSubkeys = await subkeyFailure(key, who, fpr, now);
    if (fromSubkeys) throw fromSubkeys;
    // openpgp rejects weak algorithms with this wording (checkKeyRequirements); there is no structured flag.
    if (err instanceof Error && /too weak|is disabled/i.test(err.message)) throw weakKey(who, fpr);
    throw new UserError(
      'key_no_encryption',
      `the GPG key for ${who} has no encryption subkey (sign-only): ` +
        `add one (\`gpg --quick-add-key ${fpr} cv25519 encr\`), then ${fixHint(fpr)}`,
    );
  }

  return { key, info: { fingerprint: fpr, userIds: key.getUserIDs(), canEncrypt: true } };
}

/**
 * Parses an armored public key and checks that it can receive encrypted mail at `now`.
 * Throws UserError key_unreadable | key_private | key_revoked | key_expired | key_no_encryption | key_weak;
 * `who` names the person in those messages.
 */
export async function inspectKey(armored: string, who: string, now: Date): Promise<KeyInfo> {
  return (await usableKey(armored, who, now)).info;
}

/**
 * Encrypts `text` to the armored public key and returns an armored PGP MESSAGE.
 * The key is inspected first, so an unusable key fails with the same coded errors as inspectKey.
 */
export async function encryptText(
  armoredPublicKey: string,
  text: string,
  now: Date,
  who = 'the recipient',
): Promise<string> {
  // One timestamp for the check and the encryption, so a key cannot expire in between.
  const { key } = await usableKey(armoredPublicKey, who, now);
  const message = await openpgp.createMessage({ text, date: now });
  return openpgp.encrypt({ message, encryptionKeys: key, date: now, format: 'armored' });
}

/** The production Encryptor, backed by openpgp.js. */
export const openpgpEncryptor: Encryptor = { inspectKey, encryptText };
