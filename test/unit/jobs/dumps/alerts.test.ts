// The Slack side of a dump alert (jobs/dumps/alerts.ts) with a worker's real adapters: the fake Slack
// and the real Redis. One message per job per day, edited as it changes; the mention once; "resolved"
// once in its thread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raise, resolve } from '../../../../jobs/dumps/alerts.js';
import { dumpJob } from '../../../../jobs/dumps/check.js';
import { type DumpStore, type Finding, getAlert, getLastCheck } from '../../../../jobs/dumps/store.js';
import type { WorkerWorld } from '../../../helpers/worker-world.js';
import { ALERTS, contextOf, dumpsWorld, JOB } from './world.js';

let w: WorkerWorld;
let bare: WorkerWorld;
beforeAll(async () => {
  [w, bare] = await Promise.all([dumpsWorld(), dumpsWorld({ channels: {} })]);
});
afterAll(async () => {
  await Promise.all([w.close(), bare.close()]);
});

const store = (x: WorkerWorld): DumpStore => ({ redis: x.redis, prefix: x.prefix });
let day = 10;
/** A day of its own for each test: its 05:30 JST fire time and the alert's id. */
function nextDay() {
  day += 1;
  const fireAt = Date.UTC(2027, 0, day - 1, 20, 30);
  return { day: `2027-01-${day}`, fireAt, id: `da-${JOB}-202701${day}` };
}
const missing = (at: number): Finding => ({
  verdict: 'missing',
  at,
  source: 'check',
  expectedKey: `dumps/${JOB}_20270111`,
  dueAt: at,
});
const ok: Finding = { ...missing(0), verdict: 'ok', seenKey: `dumps/${JOB}_20270111.sql.gz`, seenSize: 2048 };

describe('raise', () => {
  it('posts the alert in the alerts channel with the mention, once; a later failure edits it', async () => {
    const d = nextDay();
    const cfg = dumpJob(w.config, JOB);
    if (!cfg) throw new Error('no job');
    expect(await raise(contextOf(w), cfg, d.fireAt, missing(d.fireAt), 'c1')).toBe(d.id);
    const posted = w.slack.messages(ALERTS).filter((m) => m.text.includes(d.day));
    expect(posted).toHaveLength(1);
    expect(posted[0]?.text).toBe(`<!here> Dump alert: ${JOB} for ${d.day}: missing (1 failure)`);
    expect(await getAlert(store(w), d.id)).toMatchObject({
      channel: ALERTS,
      ts: posted[0]?.ts,
      mentioned: true,
    });
    expect((await getLastCheck(store(w), JOB))?.alertId).toBe(d.id);

    await raise(contextOf(w), cfg, d.fireAt, missing(d.fireAt + 1), 'c2');
    const after = w.slack.messages(ALERTS).filter((m) => m.text.includes(d.day));
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({
      text: `<!here> Dump alert: ${JOB} for ${d.day}: missing (2 failures)`,
      edits: 1,
    });
  });

  it('without an alerts channel posts nothing, logs why, and leaves no claim behind', async () => {
    const d = nextDay();
    const cfg = dumpJob(bare.config, JOB);
    if (!cfg) throw new Error('no job');
    await raise(contextOf(bare), cfg, d.fireAt, missing(d.fireAt), 'c1');
    expect(bare.slack.callsTo('chat.postMessage')).toHaveLength(0);
    expect(bare.logs.join('')).toContain('channels.alerts is not configured');
    expect(await bare.redis.hget(`${bare.prefix}:dump:alert:${d.id}`, 'posting')).toBeNull();
  });
});

describe('resolve', () => {
  it('edits the message and says "resolved" in its thread once; a failure after it tells the thread again', async () => {
    const d = nextDay();
    const cfg = dumpJob(w.config, JOB);
    if (!cfg) throw new Error('no job');
    await raise(contextOf(w), cfg, d.fireAt, missing(d.fireAt), 'c1');
    const ts = (await getAlert(store(w), d.id))?.ts;
    expect(await resolve(contextOf(w), cfg, d.day, { ...ok, at: d.fireAt + 5 })).toBe(true);
    expect(await resolve(contextOf(w), cfg, d.day, { ...ok, at: d.fireAt + 6 })).toBe(false);
    const thread = () => w.slack.messages(ALERTS).filter((m) => m.thread_ts === ts);
    expect(thread().map((m) => m.text)).toEqual([
      expect.stringMatching(/^:white_check_mark: resolved: `dumps\/ggh_datatransit_20270111.sql.gz` 2.0 KiB/),
    ]);
    const message = w.slack.messages(ALERTS).find((m) => m.ts === ts);
    expect(message?.text).toBe(`Resolved: dump ${JOB} for ${d.day}`);
    expect((await getLastCheck(store(w), JOB))?.alertId).toBeUndefined();

    // Reopened: the message is edited back and the thread hears of it, broadcast, with the mention.
    await raise(contextOf(w), cfg, d.fireAt, missing(d.fireAt + 10), 'c2');
    expect(thread()).toHaveLength(2);
    expect(thread()[1]?.text).toMatch(
      /^<!here> :rotating_light: Dump \*ggh_datatransit\* for .* is still failing \(2 failures\)/,
    );
    expect(w.slack.callsTo('chat.postMessage').at(-1)?.args.reply_broadcast).toBe('true'); // a form field, as Slack's client sends it
    expect(await getAlert(store(w), d.id)).toMatchObject({ state: 'open', mentioned: true });
  });

  it('of an alert that was never raised changes nothing and tells no one', async () => {
    const d = nextDay();
    const cfg = dumpJob(w.config, JOB);
    if (!cfg) throw new Error('no job');
    const calls = w.slack.calls.length;
    expect(await resolve(contextOf(w), cfg, d.day, ok)).toBe(false);
    expect(w.slack.calls.length).toBe(calls);
  });
});
