// The playground's mailbox: every mail the bot sent this run, saved as .eml, and (playground only)
// decrypted with the recipient's generated private key so the whole flow can be seen end to end.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import * as openpgp from 'openpgp';
import type { CapturedMail } from '../devkit/index.js';
import type { DemoPerson, PersonKey } from './demo-config.js';
import type { Styler } from './render.js';

export interface SavedMail {
  n: number;
  mail: CapturedMail;
  /** The .eml file the SMTP capture wrote. */
  file?: string;
  /** The PGP message alone, beside the .eml (which is quoted-printable, so gpg cannot read it as is). */
  pgpFile?: string;
}

const ARMORED = /-----BEGIN PGP MESSAGE-----[\s\S]+?-----END PGP MESSAGE-----/;

/** The armored PGP message in a mail's text, if any. */
export function armoredMessageIn(text: string): string | undefined {
  return ARMORED.exec(text)?.[0];
}

export interface Mailbox {
  /** Records a captured mail; returns it numbered, with its file. */
  add(mail: CapturedMail): Promise<SavedMail>;
  list(): readonly SavedMail[];
  /** Lines showing mail `n` (default: the latest), decrypted when we hold the recipient's key. */
  show(n?: number): Promise<string[]>;
}

export function createMailbox(opts: {
  dir: string;
  people: DemoPerson[];
  keys: Map<string, PersonKey>;
  style: Styler;
  /** Shortens paths for display. */
  cwd?: string;
}): Mailbox {
  const saved: SavedMail[] = [];
  const shown = (p: string) => {
    const r = relative(opts.cwd ?? process.cwd(), p);
    return r.startsWith('..') ? p : r || p;
  };

  const findFile = async (mail: CapturedMail): Promise<string | undefined> => {
    const taken = new Set(saved.map((s) => s.file));
    const names = (await readdir(opts.dir).catch(() => [] as string[])).sort();
    const name = names.find(
      (f) =>
        f.startsWith(`${mail.receivedAt.getTime()}-`) && f.endsWith('.eml') && !taken.has(join(opts.dir, f)),
    );
    return name ? join(opts.dir, name) : undefined;
  };

  const decrypt = async (saved: SavedMail): Promise<string[]> => {
    const { style } = opts;
    const armored = armoredMessageIn(saved.mail.text);
    if (!armored) return [];
    const recipient = saved.mail.to[0] ?? '';
    const person = opts.people.find((p) => p.email === recipient);
    const key = person ? opts.keys.get(person.name) : undefined;
    if (!person || !key)
      return [style('dim', `(no playground key for ${recipient}: cannot show the decrypted text)`)];
    try {
      const privateKey = await openpgp.readPrivateKey({
        armoredKey: await readFile(key.privatePath, 'utf8'),
      });
      const message = await openpgp.readMessage({ armoredMessage: armored });
      const { data } = await openpgp.decrypt({ message, decryptionKeys: privateKey });
      const file = saved.pgpFile ? shown(saved.pgpFile) : '<the PGP message saved to a file>';
      return [
        style(
          'yellow',
          `── PLAYGROUND ONLY: decrypted with ${shown(key.privatePath)}; in real life only ${person.name} holds this key ──`,
        ),
        ...String(data)
          .trimEnd()
          .split('\n')
          .map((l) => `   ${l}`),
        style('dim', `   (by hand: gpg --import ${shown(key.privatePath)} && gpg --decrypt ${file})`),
      ];
    } catch (err) {
      return [style('red', `could not decrypt with ${shown(key.privatePath)}: ${(err as Error).message}`)];
    }
  };

  return {
    async add(mail) {
      const entry: SavedMail = { n: saved.length + 1, mail };
      const file = await findFile(mail);
      saved.push(entry);
      if (file) {
        entry.file = file;
        const armored = armoredMessageIn(mail.text);
        if (armored) {
          entry.pgpFile = file.replace(/\.eml$/, '.pgp.asc');
          await writeFile(entry.pgpFile, `${armored}\n`);
        }
      }
      return entry;
    },
    list: () => saved,
    async show(n) {
      const { style } = opts;
      if (saved.length === 0) return [`No mail yet this run. Saved mails go to ${shown(opts.dir)}/.`];
      const entry = n === undefined ? saved[saved.length - 1] : saved[n - 1];
      if (!entry) return [`There is no mail ${n}; there are ${saved.length}.`];
      const lines = saved.map(
        (s) =>
          `${s === entry ? '▸' : ' '} ${s.n}. to ${s.mail.to.join(', ')}: ${s.mail.subject}${s.file ? style('dim', `  (${shown(s.file)})`) : ''}`,
      );
      lines.push(
        '',
        style('bold', `✉  mail ${entry.n}`),
        `   From: ${entry.mail.headers.from ?? entry.mail.from}`,
        `   To: ${entry.mail.headers.to ?? entry.mail.to.join(', ')}`,
        `   Subject: ${entry.mail.subject}`,
        '',
      );
      const body = entry.mail.text.trimEnd().split('\n');
      // The armored block is long and unreadable: show its first and last lines.
      const begin = body.findIndex((l) => l.startsWith('-----BEGIN PGP MESSAGE'));
      const end = body.findIndex((l) => l.startsWith('-----END PGP MESSAGE'));
      const shownBody =
        begin >= 0 && end > begin + 4
          ? [
              ...body.slice(0, begin + 2),
              style('dim', `… ${end - begin - 2} more lines …`),
              ...body.slice(end),
            ]
          : body;
      lines.push(...shownBody.map((l) => `   ${l}`), '', ...(await decrypt(entry)));
      return lines;
    },
  };
}
