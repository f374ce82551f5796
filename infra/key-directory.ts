import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from './errors.js';

/** Resolves a `people[].gpgKey` reference from the config to armored key text. */
export interface KeyDirectory {
  keyFor(ref: string): Promise<string>;
}

// Any armor header counts as inline, not just PUBLIC: a pasted private key must reach inspectKey's
// key_private check, and must never be echoed back as "the path that was not found".
const ARMOR_MARKER = '-----BEGIN PGP ';

/** Keys are a few KiB; a bigger file is a misconfigured path (a log, a binary), not a key. */
const MAX_KEY_FILE_BYTES = 1024 * 1024;

/**
 * Returns the armored key for `ref`: the text itself when it contains an armor header, otherwise the
 * contents of the file at `ref`, resolved against `baseDir` (the config file's directory) unless absolute.
 */
export async function loadArmoredKey(ref: string, baseDir: string): Promise<string> {
  if (ref.includes(ARMOR_MARKER)) return ref;
  const path = resolve(baseDir, ref.trim());
  let text: string;
  try {
    const file = await open(path, 'r');
    try {
      // Checked before reading so a wrong path to a huge file does not load it into memory.
      if ((await file.stat()).size > MAX_KEY_FILE_BYTES) {
        throw new UserError(
          'key_unreadable',
          `the GPG key file ${path} is larger than 1 MiB, so it is not a public key: fix \`people[].gpgKey\` in the config`,
        );
      }
      text = await file.readFile('utf8');
    } finally {
      await file.close();
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UserError(
        'key_missing',
        `the GPG key file ${path} does not exist: fix \`people[].gpgKey\` in the config (a path relative to the config file, or the armored key inline)`,
      );
    }
    throw new UserError(
      'key_missing',
      `the GPG key file ${path} cannot be read (${code ?? 'unknown error'}): make it a readable file or fix \`people[].gpgKey\` in the config`,
    );
  }
  return text;
}

/** A KeyDirectory that reads key files relative to `baseDir` (the config file's directory). */
export function fileKeyDirectory(baseDir: string): KeyDirectory {
  return { keyFor: (ref) => loadArmoredKey(ref, baseDir) };
}
