// The dump alert's Acknowledge and Re-check buttons (handlers/dumps/buttons.ts) on the real Redis and
// BullMQ queues: what a click changes, what it queues, and what it answers.
import { afterAll, describe, expect, it } from 'vitest';
import { acknowledge, recheck } from '../../../../handlers/dumps/buttons.js';
import { UserError } from '../../../../infra/errors.js';
import { getAlert } from '../../../../jobs/dumps/index.js';
import { raiseAlert, resolveAlert } from '../../../../jobs/dumps/store.js';
import { dumpsWorld, T0 } from './world.js';

const w = dumpsWorld(2, 'buttons');
afterAll(() => w.close());

const finding = {
  verdict: 'missing' as const,
  at: T0,
  source: 'check' as const,
  expectedKey: 'k',
  dueAt: T0,
};
let day = 0;
/** A fresh open alert of `job` (a day of its own). */
async function openAlert(job = 'job0') {
  day += 1;
  const d = `2027-01-${String(day).padStart(2, '0')}`;
  const a = { id: `da-${job}-${d.replace(/-/g, '')}`, job, day: d, fireAt: T0 - day * 1000 };
  await raiseAlert(w.store, a, finding, undefined, T0, `c-${day}`);
  return a;
}

describe('Acknowledge', () => {
  it('records who and queues the refresh of the message; a second click is told who did', async () => {
    const a = await openAlert();
    const req = w.request('U0DAVE');
    const r = await acknowledge(a.id, req, w.deps);
    expect(r).toMatchObject({ outcome: 'succeeded', target: a.id });
    expect(await getAlert(w.store, a.id)).toMatchObject({ state: 'acked', ackedBy: 'U0DAVE', ackedAt: T0 });
    expect(await w.queued()).toContainEqual([
      `dref-${a.id}-${req.requestId}`,
      { kind: 'refresh', alertId: a.id, requestId: req.requestId, requester: 'U0DAVE' },
    ]);
    const again = await acknowledge(a.id, w.request('U0ERIN'), w.deps);
    expect(again).toMatchObject({ outcome: 'invalid', detail: 'already acknowledged' });
    expect(again.reply.text).toContain('already acknowledged by <@U0DAVE>');
    expect((await getAlert(w.store, a.id))?.ackedBy).toBe('U0DAVE');
  });

  it('changes nothing on a resolved or vanished alert, and queues nothing', async () => {
    const a = await openAlert();
    await resolveAlert(w.store, a.id, { ...finding, verdict: 'ok' }, T0);
    const before = (await w.queued()).length;
    const resolved = await acknowledge(a.id, w.request(), w.deps);
    expect(resolved).toMatchObject({ outcome: 'invalid', detail: 'resolved' });
    expect(resolved.reply.text).toContain('is already resolved');
    const gone = await acknowledge('da-job0-20261231', w.request(), w.deps);
    expect(gone).toMatchObject({ outcome: 'invalid', detail: 'gone' });
    expect(await w.queued()).toHaveLength(before);
  });

  it('refuses a value that does not name a dump alert', async () => {
    await expect(acknowledge('mw-1234', w.request(), w.deps)).rejects.toThrow(UserError);
    await expect(recheck('da-x', w.request(), w.deps)).rejects.toThrow(/does not name a dump alert/);
  });
});

describe('Re-check', () => {
  it("queues the alert's own check (its fire time) once while one is queued", async () => {
    const a = await openAlert('job1');
    const req = w.request('U0ERIN');
    const r = await recheck(a.id, req, w.deps);
    expect(r).toMatchObject({ outcome: 'queued', target: a.id });
    expect(await w.queued()).toContainEqual([
      `drc-${a.id}-${req.requestId}`,
      {
        kind: 'check',
        jobs: ['job1'],
        reason: 'recheck',
        fireAt: a.fireAt,
        requestId: req.requestId,
        requester: 'U0ERIN',
      },
    ]);
    const again = await recheck(a.id, w.request('U0FRED'), w.deps);
    expect(again).toMatchObject({ outcome: 'invalid', detail: 'duplicate' });
    expect(again.reply.text).toContain('already queued or running');
  });

  it('checks nothing for a vanished alert, and refuses one whose job is no longer configured', async () => {
    const gone = await recheck('da-job0-20261230', w.request(), w.deps);
    expect(gone).toMatchObject({ outcome: 'invalid', detail: 'gone' });
    const orphan = await openAlert('retired');
    await expect(recheck(orphan.id, w.request(), w.deps)).rejects.toThrow(
      'the dump job "retired" is no longer configured',
    );
  });
});
