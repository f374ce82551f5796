// The small interfaces /migration's code uses, over the real parts: the run jobs over BullMQ (states as
// the flows read them, the watchdog's job scheduler), and the card sinks over the fake Slack.
import { WebClient } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { MIGRATION_QUEUE, type MigrationData } from '../../../../jobs/migration/data.js';
import { cardsOverNotifier, cardsOverWebClient } from '../../../../jobs/migration/deps.js';
import { APPROVALS, finishJobs, MIN, useParts } from './parts.js';

const { get, world } = useParts();
const data = (id: string): MigrationData => ({ requestId: 'r1', requester: 'U0OPS', op: 'run', id });

describe('run jobs over BullMQ', () => {
  it('adds a job under its id once, delayed until runAt, and reads its state as the flows need it', async () => {
    const w = await world();
    expect(await w.md.jobs.state('mig-run-p3-00000000-1')).toBe('missing');
    expect(await w.md.jobs.add('mig-run-p3-00000000-1', data('p3-00000000'))).toBe('queued');
    expect(await w.md.jobs.add('mig-run-p3-00000000-1', data('p3-00000000'))).toBe('queued');
    expect(await w.md.jobs.state('mig-run-p3-00000000-1')).toBe('waiting');
    await w.md.jobs.add('mig-expire-p3-00000000', data('p3-00000000'), { runAt: w.clock.now() + 5 * MIN });
    expect(await w.md.jobs.state('mig-expire-p3-00000000')).toBe('delayed');
    await w.md.jobs.add('mig-run-p3-00000000-2', data('p3-00000000'), { attempts: 1 });
    const job = await w.md.queues.queue(MIGRATION_QUEUE).getJob('mig-run-p3-00000000-2');
    expect(job?.opts.attempts).toBe(1);
  });

  it("answers 'finished' for an id that already ran to its end, completed or failed", async () => {
    const w = await world();
    await w.md.jobs.add('done-1', data('p3-00000001'), { attempts: 1 });
    await w.md.jobs.add('fail-1', data('p3-00000001'), { attempts: 1 });
    await finishJobs(w, ['done-1', 'fail-1']);
    expect(await w.md.jobs.state('done-1')).toBe('completed');
    expect(await w.md.jobs.state('fail-1')).toBe('failed');
    expect(await w.md.jobs.add('done-1', data('p3-00000001'))).toBe('finished');
    expect(await w.md.jobs.add('fail-1', data('p3-00000001'))).toBe('finished');
  });

  it('removes a job that has not started', async () => {
    const w = await world();
    await w.md.jobs.add('mig-run-p3-00000002-1', data('p3-00000002'), { runAt: w.clock.now() + MIN });
    await w.md.jobs.remove('mig-run-p3-00000002-1');
    expect(await w.md.jobs.state('mig-run-p3-00000002-1')).toBe('missing');
    await expect(w.md.jobs.remove('never-added')).resolves.toBeUndefined();
  });

  it("arms the watchdog's job scheduler at a pace, re-arms it at another, and disarms it", async () => {
    const w = await world();
    expect(await w.md.jobs.armedEvery()).toBeUndefined();
    await w.md.jobs.arm(30_000);
    expect(await w.md.jobs.armedEvery()).toBe(30_000);
    await w.md.jobs.arm(600_000);
    expect(await w.md.jobs.armedEvery()).toBe(600_000);
    const scheduled = await w.md.queues.queue(MIGRATION_QUEUE).getJobSchedulers();
    expect(scheduled.map((s) => s.key)).toEqual(['mig-watchdog']);
    await w.md.jobs.disarm();
    expect(await w.md.jobs.armedEvery()).toBeUndefined();
  });
});

describe('card sinks', () => {
  it("a click edits through the bot's Web API client; without one it edits nothing", async () => {
    await world();
    const { slack, notifier } = get();
    const ref = await notifier.post(APPROVALS, 'before');
    const web = new WebClient('xoxb-test', { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
    await cardsOverWebClient(web).update(ref, 'after', [
      { type: 'section', text: { type: 'mrkdwn', text: 'x' } },
    ]);
    expect(slack.messages(APPROVALS)[0]).toMatchObject({ text: 'after', edits: 1 });
    await cardsOverWebClient(undefined).update(ref, 'again');
    expect(slack.messages(APPROVALS)[0]?.text).toBe('after');
    expect(cardsOverWebClient(web).postOnce).toBeUndefined();
  });

  it('a worker edits and posts once through its Notifier', async () => {
    await world();
    const { slack, notifier } = get();
    const cards = cardsOverNotifier(notifier);
    const once = { key: 'p3-00000003/failed-1', lookFirst: true };
    const first = await cards.postOnce?.({ channel: APPROVALS, text: 'failed' }, once);
    const again = await cards.postOnce?.({ channel: APPROVALS, text: 'failed' }, once);
    expect(again?.ts).toBe(first?.ts);
    expect(slack.messages(APPROVALS)).toHaveLength(1);
    await cards.update({ channel: APPROVALS, ts: first?.ts ?? '' }, 'edited');
    expect(slack.messages(APPROVALS)[0]?.text).toBe('edited');
  });
});
