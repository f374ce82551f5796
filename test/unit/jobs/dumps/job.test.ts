// The dumps processor (jobs/dumps/job.ts) on a real BullMQ worker with a worker's real adapters (fake
// Slack, real Redis): a tick queues its fire's check, a cron host's report raises the day's alert, a
// refresh re-renders it, and a job no longer configured is said so. Checks against S3 run on moto in
// test/integration/dumps.test.ts.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DUMPS_QUEUE, type DumpsData } from '../../../../jobs/dumps/data.js';
import { dumpsJob } from '../../../../jobs/dumps/job.js';
import { ackAlert, type DumpStore, getAlert, getLastCheck } from '../../../../jobs/dumps/store.js';
import type { WorkerWorld } from '../../../helpers/worker-world.js';
import { ALERTS, dumpsWorld, JOB } from './world.js';

let w: WorkerWorld;
beforeAll(async () => {
  w = await dumpsWorld();
  w.work(dumpsJob);
});
afterAll(() => w.close());

const store = (): DumpStore => ({ redis: w.redis, prefix: w.prefix });
const base = (requester = 'scheduler') => ({ requestId: randomUUID(), requester });
const run = (data: DumpsData, opts = {}) => w.finish(DUMPS_QUEUE, data, opts);

describe('dumpsJob', () => {
  it("a tick queues its fire's check for the end of the grace, with the fire's own id", async () => {
    // A fire a day ahead, so the check stays delayed (it would list S3).
    const fireAt = Math.floor(Date.now() / 60_000) * 60_000 + 86_400_000;
    const tick = await run({ kind: 'tick', job: JOB, ...base() }, { timestamp: fireAt });
    const runAt = fireAt + 30 * 60_000;
    expect(tick.returnvalue).toEqual({
      kind: 'tick',
      lines: [`${JOB}: check queued for ${new Date(runAt).toISOString()}`],
    });
    const check = await w.deps.queues.queue(DUMPS_QUEUE).getJob(`dc-${JOB}-${fireAt}`);
    expect(check?.data).toEqual({
      kind: 'check',
      jobs: [JOB],
      reason: 'scheduled',
      fireAt,
      requestId: `dc-${JOB}-${fireAt}`,
      requester: 'scheduler',
    });
    expect(await check?.getState()).toBe('delayed');
    expect((check?.timestamp ?? 0) + (check?.delay ?? 0)).toBeGreaterThanOrEqual(runAt - 5_000);
  });

  it("a cron host's report raises the day's alert, saying what it reported", async () => {
    const at = Date.now();
    const job = await run({
      kind: 'report',
      job: JOB,
      at,
      exitCode: 2,
      message: 'mysqldump: Got error 2013',
      ...base('cron-host'),
    });
    const id = (await getLastCheck(store(), JOB))?.alertId;
    expect(id).toMatch(/^da-ggh_datatransit-\d{8}$/);
    expect(job.returnvalue).toEqual({ kind: 'report', lines: [`${JOB}: reported failed (${id})`] });
    const a = await getAlert(store(), id as string);
    expect(a?.last).toMatchObject({ verdict: 'reported-failed', source: 'report', exitCode: 2, at });
    const message = w.slack.messages(ALERTS).find((m) => m.ts === a?.ts);
    expect(JSON.stringify(message?.blocks)).toContain(
      'the cron host reported a failure with exit code 2: \\"mysqldump: Got error 2013\\"',
    );
  });

  it('a refresh re-renders the alert after a click changed it', async () => {
    await run({ kind: 'report', job: JOB, at: Date.now(), ...base('cron-host') });
    const id = (await getLastCheck(store(), JOB))?.alertId as string;
    await ackAlert(store(), id, 'U0DAVE', Date.now());
    const ts = (await getAlert(store(), id))?.ts;
    const edits = w.slack.messages(ALERTS).find((m) => m.ts === ts)?.edits ?? 0;
    const job = await run({ kind: 'refresh', alertId: id, ...base('U0DAVE') });
    expect(job.returnvalue).toEqual({ kind: 'refresh', lines: [id] });
    const message = w.slack.messages(ALERTS).find((m) => m.ts === ts);
    expect(message?.edits).toBe(edits + 1);
    expect(JSON.stringify(message?.blocks)).toContain('Acknowledged by <@U0DAVE>');
  });

  it('says a job is no longer configured, and tells whoever asked for its check', async () => {
    const tick = await run({ kind: 'tick', job: 'retired', ...base() });
    expect(tick.returnvalue).toEqual({ kind: 'tick', lines: ['retired: no longer configured'] });
    const report = await run({ kind: 'report', job: 'retired', at: Date.now(), ...base('cron-host') });
    expect(report.returnvalue).toEqual({ kind: 'report', lines: ['retired: no longer configured'] });
    const check = await run({ kind: 'check', jobs: ['retired'], reason: 'manual', ...base('U0OPS') });
    expect(check.returnvalue).toEqual({ kind: 'check', lines: ['retired: no longer configured'] });
    expect(w.slack.messages('D0OPS').at(-1)?.text).toBe(
      '*Dump check*\n:grey_question: *retired* is no longer configured; not checked.',
    );
  });
});
