import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GPG_TIMEOUT_MS = 30_000;
const GPG_MISSING = 'gpg not found: install it with apt-get install gnupg';

export interface GpgHome {
  /** The temporary GNUPGHOME directory. */
  readonly dir: string;
  /** Imports public or secret keys; resolves with the fingerprints gpg reported. */
  importKey(armored: string): Promise<string[]>;
  /** Decrypts an armored message with the imported secret keys. */
  decrypt(armoredMessage: string, passphrase?: string): Promise<string>;
  /** Stops the gpg-agent of this home and deletes the directory. */
  close(): Promise<void>;
}

interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a gpg-family tool with stdin, collecting output and killing it on timeout. */
function run(bin: string, args: string[], homeDir: string, input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      env: { ...process.env, GNUPGHOME: homeDir },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: GPG_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new Error(bin === 'gpg' ? GPG_MISSING : `${bin} not found`) : e);
    });
    child.once('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (signal === 'SIGKILL') {
        reject(new Error(`${bin} ${args.join(' ')} timed out after ${GPG_TIMEOUT_MS} ms\n${stderr}`));
        return;
      }
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
    // gpg may exit before reading stdin (e.g. bad options); EPIPE here is not the interesting error.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/**
 * Creates a throwaway GNUPGHOME for driving the real `gpg` binary, e.g. to prove that
 * messages encrypted by openpgp.js decrypt with the tool recipients actually use.
 */
export async function createGpgHome(): Promise<GpgHome> {
  const dir = await mkdtemp(join(tmpdir(), 'devkit-gnupg-'));
  await chmod(dir, 0o700);
  const base = ['--homedir', dir, '--batch', '--yes', '--no-tty'];

  try {
    const probe = await run('gpg', ['--version'], dir);
    if (probe.code !== 0) throw new Error(`gpg --version failed: ${probe.stderr}`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    dir,
    async importKey(armored) {
      const res = await run('gpg', [...base, '--status-fd', '1', '--import'], dir, armored);
      if (res.code !== 0) throw new Error(`gpg --import failed (exit ${res.code}): ${res.stderr}`);
      const fingerprints = new Set<string>();
      for (const line of res.stdout.toString('utf8').split('\n')) {
        const m = /^\[GNUPG:\] IMPORT_OK \d+ ([0-9A-F]+)/.exec(line);
        if (m?.[1]) fingerprints.add(m[1]);
      }
      return [...fingerprints];
    },
    async decrypt(armoredMessage, passphrase = '') {
      const res = await run(
        'gpg',
        [...base, '--pinentry-mode', 'loopback', '--passphrase', passphrase, '--decrypt'],
        dir,
        armoredMessage,
      );
      if (res.code !== 0) throw new Error(`gpg --decrypt failed (exit ${res.code}): ${res.stderr}`);
      return res.stdout.toString('utf8');
    },
    async close() {
      // decrypt auto-starts a gpg-agent bound to this home; it would outlive the directory.
      await run('gpgconf', ['--homedir', dir, '--kill', 'all'], dir).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
