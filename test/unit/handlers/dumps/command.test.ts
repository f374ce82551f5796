// /dumps status and /dumps check (handlers/dumps/command.ts) on the real Redis and BullMQ queues:
// what status reads and says, and what check queues.
import { afterAll, describe, expect, it } from 'vitest';
import { dumpsCommand } from '../../../../handlers/dumps/command.js';
import { UserError } from '../../../../infra/errors.js';
import { ackAlert } from '../../../../jobs/dumps/index.js';
import { raiseAlert, saveLastCheck, setOpenAlert } from '../../../../jobs/dumps/store.js';
import { ALERTS, dumpsWorld, T0 } from './world.js';

const w = dumpsWorld(2, 'command');
const many = dumpsWorld(43, 'command-many');
const none = dumpsWorld(0, 'command-none');
afterAll(async () => {
  await Promise.all([w.close(), many.close(), none.close()]);
});
const slack = { channelId: 'C0OPS', triggerId: 't' };
const run = (world: typeof w, text: string, user = 'U0OPS') =>
  dumpsCommand.execute(
    dumpsCommand.parse(text, world.request(user), world.deps),
    world.request(user),
    world.deps,
    slack,
  );

describe('/dumps status', () => {
  it("says each job's last object and check, its open alert and its next check", async () => {
    await saveLastCheck(w.store, 'job0', {
      at: T0 - 3_600_000,
      reason: 'scheduled',
      verdict: 'too-small',
      day: '2027-01-15',
      objectKey: 'dumps/job0_20270115',
      objectDay: '2027-01-15',
      objectSize: 50_000,
      median: 100_000,
    });
    const alert = { id: 'da-job0-20270115', job: 'job0', day: '2027-01-15', fireAt: T0 - 5_400_000 };
    const finding = {
      verdict: 'too-small' as const,
      at: T0,
      source: 'check' as const,
      expectedKey: 'k',
      dueAt: T0,
    };
    await raiseAlert(w.store, alert, finding, undefined, T0 - 3_600_000, 'c1');
    await setOpenAlert(w.store, 'job0', alert.id);
    await ackAlert(w.store, alert.id, 'U0DAVE', T0);

    const r = await run(w, 'status');
    expect(r.outcome).toBe('succeeded');
    const [head, job0, job1] = r.reply.text.split('\n');
    expect(head).toBe('*Dump checks* (s3://jram-gghouse, times in Asia/Tokyo)');
    expect(job0).toBe(
      `• *job0* (\`30 5 * * *\` + 30 min): last object 2027-01-15, 48.8 KiB (50,000 bytes) (50 % of the 7-day median 97.7 KiB (100,000 bytes)); last check 2027-01-15 11:00 JST: too-small (scheduled); open alert for 2027-01-15 (1 failure, acknowledged by <@U0DAVE>) in <#${ALERTS}>; next check 2027-01-16 06:00 JST`,
    );
    expect(job1).toBe(
      '• *job1* (`30 5 * * *` + 30 min): no object seen yet; not checked yet; no open alert; next check 2027-01-16 06:00 JST',
    );
  });

  it('lists at most 40 jobs and counts the rest', async () => {
    const lines = (await run(many, '')).reply.text.split('\n');
    expect(lines.filter((l) => l.startsWith('• '))).toHaveLength(40);
    expect(lines.at(-1)).toBe('…and 3 more jobs');
  });

  it('says how to configure dumps when no job is', async () => {
    await expect(run(none, 'status')).rejects.toThrow(/add dumps.jobs to the bot's config/);
  });
});

describe('/dumps check', () => {
  it('queues a check of every job as the requester, once while it is queued', async () => {
    const r = await run(w, 'check', 'U0ERIN');
    expect(r).toMatchObject({ outcome: 'queued', target: 'all 2 dump jobs' });
    expect(r.reply.text).toContain('the result comes to you in a DM');
    const again = await run(w, 'check', 'U0ERIN');
    expect(again).toMatchObject({ outcome: 'invalid', detail: 'duplicate' });
    // One job is another check, as is someone else's.
    expect(await run(w, 'check job1', 'U0ERIN')).toMatchObject({ outcome: 'queued', target: 'job1' });
    expect(await run(w, 'check', 'U0FRED')).toMatchObject({ outcome: 'queued' });
    const mine = (await w.queued()).filter(([, d]) => d.requester === 'U0ERIN');
    expect(mine.map(([, d]) => [d.kind, d.jobs, d.reason])).toEqual(
      expect.arrayContaining([
        ['check', ['job0', 'job1'], 'manual'],
        ['check', ['job1'], 'manual'],
      ]),
    );
    expect(mine).toHaveLength(2);
  });

  it('refuses a job that is not configured, naming those that are, and queues nothing', async () => {
    const before = (await w.queued()).length;
    const err = await run(w, 'check nope', 'U0GINA').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe('there is no dump job "nope"; configured: job0, job1');
    expect(await w.queued()).toHaveLength(before);
  });
});
