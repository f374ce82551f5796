// Fault 5: the mail server goes away right after a reset changed the password, and comes back 25 s
// later (the issue says a minute; 25 s keeps the suite short, and the job's backoff is scaled to
// match: 5 attempts 2 s apart, doubling, span 30 s). With the product's defaults (5 attempts, 5 s
// doubling) the same retries span 75 s, so a one-minute outage is covered the same way.
import { describe, expect } from 'vitest';
import { createGpgHome } from '../../devkit/index.js';
import { ACCOUNTS, seedIamUser } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { faultLine, it, queueIdle, sleep } from './harness.js';

const DOWN_MS = 25_000;

describe('SMTP down after the IAM change of a reset', () => {
  it(`SMTP refuses connections for ${DOWN_MS / 1000} s: the mail is retried and delivered once; the password is changed once`, async ({
    startStack,
    lanes,
  }) => {
    const s = await startStack({
      topology: { bots: 1, workers: 0 },
      jobs: { attempts: 5, backoffMs: 2_000 },
    });
    await seedIamUser(s.iam('osio-dev'), 'alice');
    const worker = await lanes.start('worker', 'worker');
    let downAt = 0;
    worker.moto.onForwarded = (c) => {
      if (c.name === 'UpdateLoginProfile' && !downAt) {
        downAt = Date.now();
        void worker.smtp.setMode('down');
      }
    };
    expect((await s.command('U0ALICE', '/reset-password')).text).toMatch(/Queued: resetting/);
    await until('the password change', () => downAt || undefined, 30_000);
    await sleep(downAt + DOWN_MS - Date.now());
    const failedWhileDown = worker.proc.records().filter((r) => r.msg === 'job attempt failed').length;
    await worker.smtp.setMode('pass');
    const upAt = Date.now();
    const mail = await s.smtp.waitForMessage((m) => m.to.includes('alice@example.com'), 60_000);
    await queueIdle(s, 'reset-password');
    await sleep(1_000);
    const changes = lanes.awsCalls('UpdateLoginProfile');
    const mails = s.smtp.messages.length;
    faultLine({
      fault: `SMTP down ${DOWN_MS / 1000} s right after the IAM change of a reset`,
      lost: mails === 0 ? 1 : 0,
      doubled: Math.max(0, mails - 1) + Math.max(0, changes - 1),
      recoveryMs: mail.receivedAt.getTime() - upAt,
      note: `${failedWhileDown} attempts failed while it was down; ${changes} IAM change(s)`,
    });
    expect(failedWhileDown).toBeGreaterThanOrEqual(2);
    expect(mails).toBe(1);
    expect(changes).toBe(1);
    const armored = /-----BEGIN PGP MESSAGE-----[\s\S]+?-----END PGP MESSAGE-----/.exec(
      mail.text,
    )?.[0] as string;
    const gpg = await createGpgHome();
    try {
      await gpg.importKey(s.keys.alice?.privateKey as string);
      const password = /^Password:\s+(\S+)$/m.exec(await gpg.decrypt(armored))?.[1];
      expect(await s.motoPassword(ACCOUNTS['osio-dev'].id, 'alice')).toBe(password);
    } finally {
      await gpg.close();
    }
    const jobRows = (await s.auditRows()).filter((r) => r.action === 'reset-password');
    expect(jobRows.map((r) => r.outcome)).toEqual(['succeeded']);
  });
});
