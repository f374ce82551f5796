import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileKeyDirectory, loadArmoredKey } from '../../../infra/key-directory.js';
import { userErrorOf } from '../../helpers/errors.js';

const ARMORED = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEZ...\n-----END PGP PUBLIC KEY BLOCK-----\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'key-dir-'));
  await mkdir(join(dir, 'keys'));
  await writeFile(join(dir, 'keys', 'alice.asc'), ARMORED);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadArmoredKey', () => {
  it('returns an inline armored key as is', async () => {
    expect(await loadArmoredKey(ARMORED, '/nonexistent')).toBe(ARMORED);
  });

  it('treats an inline private key as inline, so it is never echoed as a missing path', async () => {
    // A placeholder, not a key; assembled so secret scanners do not mistake it for one.
    const armor = (edge: string) => `-----${edge} PGP ${'PRIVATE'} KEY BLOCK-----`;
    const priv = `${armor('BEGIN')}\n\nnot-a-key\n${armor('END')}`;
    expect(await loadArmoredKey(priv, dir)).toBe(priv);
  });

  it('reads a path relative to the config directory', async () => {
    expect(await loadArmoredKey('keys/alice.asc', dir)).toBe(ARMORED);
    expect(await loadArmoredKey('./keys/alice.asc', dir)).toBe(ARMORED);
  });

  it('reads an absolute path regardless of baseDir', async () => {
    expect(await loadArmoredKey(join(dir, 'keys', 'alice.asc'), '/somewhere/else')).toBe(ARMORED);
  });

  it('reports a missing file with key_missing, naming the path and the config field', async () => {
    const err = await userErrorOf(() => loadArmoredKey('keys/bob.asc', dir));
    expect(err.code).toBe('key_missing');
    expect(err.message).toContain(join(dir, 'keys', 'bob.asc'));
    expect(err.message).toContain('people[].gpgKey');
  });

  it('reports a directory given as a key path', async () => {
    const err = await userErrorOf(() => loadArmoredKey('keys', dir));
    expect(err.code).toBe('key_missing');
    expect(err.message).toContain('EISDIR');
  });
});

describe('fileKeyDirectory', () => {
  it('resolves refs against its base directory', async () => {
    const keys = fileKeyDirectory(dir);
    expect(await keys.keyFor('keys/alice.asc')).toBe(ARMORED);
    await expect(keys.keyFor('nope.asc')).rejects.toMatchObject({ code: 'key_missing' });
  });
});
