// makeProcessor on a real BullMQ worker with the worker's real adapters: every job's status message
// (posted once, then edited), its audit entry and metrics, retries by attempts, a refusal that ends
// the job at once, parking (delayUntil, retryLater) that uses no attempt, and housekeeping kept quiet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatopsError, UserError } from '../../../infra/errors.js';
import { createLogger } from '../../../infra/logger.js';
import { type BaseJobData, errorSummary, type JobKind, whileRenewing } from '../../../jobs/common.js';
import { until } from '../../helpers/wait.js';
import { startWorkerWorld, type WorkerWorld } from '../../helpers/worker-world.js';

type Script = 'ok' | 'refuse' | 'flaky' | 'broken' | 'park' | 'later' | 'quiet';
type Data = BaseJobData & { script: Script; parked?: true };

const QUEUE = 'ddb-export';
const finals: [string, unknown][] = [];
let homeChanges = 0;
let w: WorkerWorld;

/** A job kind that does what its data's script says. */
const scripted: JobKind<Data, string> = {
  queue: QUEUE,
  action: 'unit-script',
  describe: (d) => `target-${d.requestId}`,
  summarize: (r) => `did ${r}`,
  async run(job, ctx) {
    await ctx.report(`working on ${job.data.requestId}`);
    switch (job.data.script) {
      case 'ok':
        await ctx.report(`done ${job.data.requestId}`);
        return 'ok';
      case 'refuse':
        throw new UserError('no_key', 'alice has no GPG key');
      case 'flaky':
        if (job.attemptsMade === 0) throw new Error('socket hang up');
        return 'second try';
      case 'broken':
        throw new TypeError('x is not a function');
      case 'park':
        if (job.data.parked) return 'woke up';
        await ctx.save({ parked: true });
        return ctx.delayUntil(w.deps.clock.now() + 30);
      case 'later':
        if ((job.data.retries ?? 0) < 2) return ctx.retryLater(new Error('Slack is down'), 15);
        return `after ${job.data.retries} parks`;
      default:
        return 'quiet';
    }
  },
  async onFinalFailure(job, _ctx, err) {
    finals.push([job.data.requestId, err]);
  },
};

beforeAll(async () => {
  w = await startWorkerWorld({ overrides: { homeChanged: () => void homeChanges++ } });
  w.work(scripted);
  w.work({ ...scripted, queue: 'housekeeping', housekeeping: true });
  w.work({ ...scripted, queue: 'unit-quiet-when', quietWhen: (r) => r === 'quiet' });
});
afterAll(() => w.close());

let n = 0;
const data = (script: Script): Data => ({ requestId: `r${++n}-${script}`, requester: 'U0ALICE', script });
const auditOf = async (requestId: string) =>
  (await w.deps.audit.recent(1_000)).filter((e) => e.requestId === requestId).map((e) => e.outcome);
async function jobCount(queue: string, outcome: string): Promise<number> {
  const series = `chatops_job_duration_seconds_count{queue="${queue}",outcome="${outcome}"} `;
  const line = (await w.deps.metrics.render()).split('\n').find((l) => l.startsWith(series));
  return Number(line?.slice(series.length) ?? 0);
}

describe('makeProcessor', () => {
  it('posts the status message once and edits it, audits the success with its summary, and counts it', async () => {
    const before = { done: await jobCount(QUEUE, 'completed'), home: homeChanges };
    const job = await w.finish(QUEUE, data('ok'));
    expect(job.returnvalue).toBe('ok');
    const dm = w.slack.messages('D0ALICE').filter((m) => m.text.endsWith(job.data.requestId));
    expect(dm).toEqual([expect.objectContaining({ text: `done ${job.data.requestId}`, edits: 1 })]);
    expect(job.data.report).toEqual({ channel: 'D0ALICE', ts: dm[0]?.ts });
    const [entry] = await w.deps.audit.recent(1, 'actions');
    expect(entry).toMatchObject({
      requestId: job.data.requestId,
      user: 'U0ALICE',
      action: 'unit-script',
      target: `target-${job.data.requestId}`,
      outcome: 'succeeded',
      detail: 'did ok',
    });
    expect(await jobCount(QUEUE, 'completed')).toBe(before.done + 1);
    expect(homeChanges).toBe(before.home + 1);
  });

  it('ends a job at its first UserError: audited with the code, the final-failure hook once, no retry', async () => {
    const job = await w.finish(QUEUE, data('refuse'), { attempts: 3 });
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('no_key: alice has no GPG key');
    expect(await auditOf(job.data.requestId)).toEqual(['failed']);
    expect((await w.deps.audit.recent(1, 'actions'))[0]?.detail).toBe('no_key');
    expect(finals.filter(([id]) => id === job.data.requestId)).toEqual([
      [job.data.requestId, expect.any(UserError)],
    ]);
  });

  it('retries another failure while attempts remain: logged, counted as retrying, not audited', async () => {
    const retrying = await jobCount(QUEUE, 'retrying');
    const job = await w.finish(QUEUE, data('flaky'));
    expect(job.returnvalue).toBe('second try');
    expect(await auditOf(job.data.requestId)).toEqual(['succeeded']);
    expect(await jobCount(QUEUE, 'retrying')).toBe(retrying + 1);
    const line = w.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.jobId === job.id && l.msg === 'job attempt failed');
    expect(line).toMatchObject({
      final: false,
      attempt: 1,
      err: { name: 'Error', message: 'socket hang up' },
    });
  });

  it('fails for good on the last attempt, audited with the error name', async () => {
    const job = await w.finish(QUEUE, data('broken'));
    expect(job.attemptsMade).toBe(2);
    expect(job.failedReason).toBe('x is not a function');
    expect(await auditOf(job.data.requestId)).toEqual(['failed']);
    expect((await w.deps.audit.recent(1, 'actions'))[0]?.detail).toBe('TypeError');
    expect(finals.filter(([id]) => id === job.data.requestId)).toHaveLength(1);
  });

  it('keeps the work going when Slack refuses the status message', async () => {
    w.slack.failNext('chat.postMessage', 'channel_not_found');
    const job = await w.finish(QUEUE, data('ok'));
    expect(job.returnvalue).toBe('ok');
    expect(
      w.logs.some((l) => l.includes(job.id as string) && l.includes('could not post the status message')),
    ).toBe(true);
  });

  it('parks a job until a time without using an attempt, then runs it again from its saved data', async () => {
    const parked = await jobCount(QUEUE, 'parked');
    const job = await w.finish(QUEUE, data('park'), { attempts: 1 });
    expect(job.returnvalue).toBe('woke up');
    expect(await jobCount(QUEUE, 'parked')).toBe(parked + 1);
    expect(await auditOf(job.data.requestId)).toEqual(['succeeded']);
  });

  it('retryLater parks the job after a failure, its delay doubling per retry up to the cap', async () => {
    const job = await w.finish(QUEUE, data('later'), { attempts: 1 });
    expect(job.returnvalue).toBe('after 2 parks');
    const parks = w.logs
      .map((l) => JSON.parse(l))
      .filter((l) => l.jobId === job.id && l.parked === true)
      .map((l) => [l.retry, l.delayMs]);
    // jobs.backoffMs is 10: 10 ms, then 20 ms capped at 15.
    expect(parks).toEqual([
      [1, 10],
      [2, 15],
    ]);
    expect(await auditOf(job.data.requestId)).toEqual(['succeeded']);
  });

  it('keeps housekeeping quiet: no audit entry, no start line, no Home refresh', async () => {
    const home = homeChanges;
    const job = await w.finish('housekeeping', data('quiet'));
    expect(job.returnvalue).toBe('quiet');
    expect(await auditOf(job.data.requestId)).toEqual([]);
    expect(w.logs.some((l) => l.includes(job.data.requestId) && l.includes('job started'))).toBe(false);
    expect(homeChanges).toBe(home);
  });

  it('leaves no audit entry for a success its kind calls quiet (quietWhen), and audits the others', async () => {
    const home = homeChanges;
    const quiet = await w.finish('unit-quiet-when', data('quiet'));
    expect(quiet.returnvalue).toBe('quiet');
    expect(await auditOf(quiet.data.requestId)).toEqual([]);
    expect(homeChanges).toBe(home);
    const done = await w.finish('unit-quiet-when', data('ok'));
    expect(done.returnvalue).toBe('ok');
    expect(await auditOf(done.data.requestId)).toEqual(['succeeded']);
    const failed = await w.finish('unit-quiet-when', data('refuse'));
    expect(await auditOf(failed.data.requestId)).toEqual(['failed']);
  });
});

describe('errorSummary', () => {
  it('keeps name, code and message, and nothing else of the error', () => {
    const coded = Object.assign(new ChatopsError('smtp_down', 'mail is down'), {
      request: { password: 'x' },
    });
    expect(errorSummary(coded)).toEqual({ name: 'ChatopsError', code: 'smtp_down', message: 'mail is down' });
    expect(errorSummary(new RangeError('too far'))).toEqual({ name: 'RangeError', message: 'too far' });
    expect(errorSummary(42)).toEqual({ name: 'unknown', message: '42' });
  });
});

describe('whileRenewing', () => {
  it('renews while the work runs, logs a failed renewal, and stops once the work is done', async () => {
    const lines: string[] = [];
    const log = createLogger({ destination: { write: (s: string) => void lines.push(s) } });
    let renewals = 0;
    const result = await whileRenewing(
      async () => {
        renewals++;
        if (renewals === 1) throw new Error('lease lost');
      },
      5,
      () => until('two renewals', () => renewals >= 2, 2_000, 5).then(() => 'done'),
      log,
    );
    expect(result).toBe('done');
    expect(lines.some((l) => l.includes('could not renew a claim') && l.includes('lease lost'))).toBe(true);
    const after = renewals;
    // Another renewal loop's three ticks: the first one's timer would have fired meanwhile.
    let other = 0;
    await whileRenewing(
      async () => void other++,
      5,
      () => until('three ticks', () => other >= 3, 2_000, 5),
    );
    expect(renewals).toBe(after);
  });
});
