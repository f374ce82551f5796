import { stat } from 'node:fs/promises';
import { createMessage, encrypt, generateKey, readKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpgHome, type GpgHome } from '../../../devkit/gpg.js';

describe('gpg helpers', () => {
  let home: GpgHome;
  let publicKey: string;
  let privateKey: string;

  beforeAll(async () => {
    // v4 ECC keys (curve25519Legacy): the format gpg 2.2 understands.
    ({ publicKey, privateKey } = await generateKey({
      userIDs: [{ email: 'a@example.com' }],
      type: 'ecc',
      format: 'armored',
    }));
    home = await createGpgHome();
  }, 30_000);
  afterAll(async () => {
    await home?.close();
  });

  it('uses a private GNUPGHOME with mode 0700', async () => {
    const info = await stat(home.dir);
    expect(info.isDirectory()).toBe(true);
    expect(info.mode & 0o777).toBe(0o700);
  });

  it('imports an openpgp.js key and decrypts what openpgp.js encrypted', async () => {
    const fingerprints = await home.importKey(privateKey);
    const expected = (await readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase();
    expect(fingerprints).toContain(expected);

    const plaintext = 'rotate AKIAEXAMPLE — approved ✓';
    const message = await encrypt({
      message: await createMessage({ text: plaintext }),
      encryptionKeys: await readKey({ armoredKey: publicKey }),
    });
    expect(await home.decrypt(message as string)).toBe(plaintext);
  }, 30_000);

  it('fails clearly when the message is not for an imported key', async () => {
    const other = await generateKey({
      userIDs: [{ email: 'b@example.com' }],
      type: 'ecc',
      format: 'armored',
    });
    const message = await encrypt({
      message: await createMessage({ text: 'secret' }),
      encryptionKeys: await readKey({ armoredKey: other.publicKey }),
    });
    await expect(home.decrypt(message as string)).rejects.toThrow(/gpg --decrypt failed/);
  }, 30_000);

  it('removes the home directory on close', async () => {
    const temp = await createGpgHome();
    await temp.close();
    await expect(stat(temp.dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('explains how to install gpg when it is missing', async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(createGpgHome()).rejects.toThrow('gpg not found: install it with apt-get install gnupg');
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
