// Making a phase-3 request (jobs/migration/request.ts) against moto: the prerequisites, the window
// (an existing one or a new one with its notices), the stored plan, the card and its expiry; and the
// expiry job, which reads the window as it is when it fires.
import { DelayedError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { extendWindow, getWindow } from '../../../../jobs/maintenance/store.js';
import { expireJobId } from '../../../../jobs/migration/data.js';
import { planHash, planOf, requestIdFor } from '../../../../jobs/migration/plan.js';
import {
  approvalsChannel,
  expireRequest,
  type RequestData,
  requestFields,
  requestPhase3,
} from '../../../../jobs/migration/request.js';
import { getRequest, readRequest, transition } from '../../../../jobs/migration/store.js';
import {
  APPROVALS,
  MIN,
  migConfig,
  phase3Request,
  runCtx,
  showCard,
  useParts,
  type World,
  windowIn,
} from './parts.js';

const { get, world } = useParts({ moto: true, dumpDays: 8 });

const ask = (w: World, startIn = 60, minutes = 30): RequestData => ({
  requestId: `slack-${w.store.prefix}`,
  requester: 'U0OPS',
  op: 'request',
  start: w.clock.now() + startIn * MIN,
  end: w.clock.now() + (startIn + minutes) * MIN,
});

describe('a phase-3 request', () => {
  it('schedules a window with its notices, stores the plan for it, queues the expiry and posts the card', async () => {
    const w = await world();
    const d = ask(w);
    const ctx = runCtx(w, 'mig-req-1');
    const id = requestIdFor(d.requestId);
    expect(await requestPhase3(w.md, d, ctx)).toEqual({ op: 'request', outcome: id });
    const windowId = ctx.saved.windowId ?? '';
    expect(ctx.saved.windowCreated).toBe(true);
    const window = await getWindow(w.store, windowId);
    expect(window).toMatchObject({ start: d.start, end: d.end, state: 'scheduled' });
    const r = await getRequest(w.store, id, 'phase3');
    expect(r).toMatchObject({
      state: 'pending',
      windowId,
      windowCreated: true,
      instanceName: w.store.prefix,
      streak: 8,
      expiresAt: d.end - 10 * MIN,
      planHash: planHash(planOf(w.config, { id: windowId, start: d.start, end: d.end })),
    });
    expect(await w.md.jobs.state(expireJobId(id))).toBe('delayed');
    expect(r.cardChannel).toBe(APPROVALS);
    expect(ctx.reports).toEqual([expect.stringContaining('(scheduled, with its notices)')]);
    // The job retried: the request is there, no second window, no second card.
    expect(await requestPhase3(w.md, { ...d, ...ctx.saved }, runCtx(w, 'mig-req-1'))).toEqual({
      op: 'request',
      outcome: id,
    });
    const cards = get()
      .slack.messages(APPROVALS)
      .filter((m) => !m.thread_ts && m.text.startsWith('Phase 3'));
    expect(cards).toHaveLength(1);
  });

  it('uses a scheduled window that covers the period instead of making one', async () => {
    const w = await world();
    const covering = await windowIn(w, 50, 100);
    const ctx = runCtx(w, 'mig-req-2');
    await requestPhase3(w.md, ask(w), ctx);
    expect(ctx.saved).toEqual({ windowId: covering.id, windowCreated: false });
    expect(ctx.reports).toEqual([expect.stringContaining('(the existing window that covers it)')]);
  });

  it('refuses, changing nothing, a start too far ahead, a window too short, or a second open request', async () => {
    const w = await world();
    const refused = (d: RequestData) => requestPhase3(w.md, d, runCtx(w, 'j')).catch((e: Error) => e.message);
    expect(await refused(ask(w, 31 * 24 * 60))).toMatch(
      /is more than 30 days ahead: give a start within 30 days/,
    );
    expect(await refused(ask(w, 60, 9))).toBe(
      'the window is shorter than the 10 minutes the run needs (migration.runMinutes)',
    );
    const open = await phase3Request(w);
    expect(await refused(ask(w))).toBe(
      `phase-3 request \`${open.id}\` is pending: only one may be open (pending, approved, running or failed)`,
    );
    expect(get().slack.messages(APPROVALS)).toEqual([]);
  });

  it('refuses while phase 1 is incomplete or the streak is short, naming what is missing', async () => {
    const w = await world({ migration: { secretId: 'no/such/secret' } });
    await expect(requestPhase3(w.md, ask(w), runCtx(w, 'j'))).rejects.toThrow(
      'phase 1 is not complete: secret no/such/secret does not exist',
    );
    const v = await world({ migration: { streakDays: 10 } });
    await expect(requestPhase3(v.md, ask(v), runCtx(v, 'j'))).rejects.toThrow(
      /^parallel testing has 8 good days in a row, phase 3 needs 10: \d{4}-\d\d-\d\d: ggh_contractstatus: no dumps\/ object$/,
    );
  });

  it('refuses when the instance already runs with the profile: phase 3 is done', async () => {
    const w = await world();
    const profile = w.config.migration?.instanceProfile ?? '';
    await w.md.aws.associateProfile('U0OPS', {
      account: 'osio',
      instanceId: w.instanceId,
      instanceProfile: profile,
    });
    await expect(requestPhase3(w.md, ask(w), runCtx(w, 'j'))).rejects.toThrow(
      `${w.instanceId} already runs with ${profile}: phase 3 is done (\`/migration rollback 3\` undoes it)`,
    );
  });

  it('needs the approvals channel, and says how to configure it', async () => {
    const w = await world({ migration: { instanceId: 'i-0123456789abcdef0' } });
    expect(approvalsChannel(w.md)).toBe(APPROVALS);
    expect(() => approvalsChannel({ config: migConfig({}, { channels: {} }) })).toThrow(
      "no approvals channel is configured: add channels.approvals to the bot's config",
    );
  });

  it("stores who asked and the plan's hash with the quorum configured now", async () => {
    const w = await world({ migration: { instanceId: 'i-0123456789abcdef0', approvals: 3 } });
    const plan = planOf(w.config, { id: 'mw-1', start: 0, end: 1 });
    expect(requestFields(w.md, { requestId: 'slack-1', requester: 'U0OPS' }, 'p3-00000001', plan)).toEqual({
      id: 'p3-00000001',
      requester: 'U0OPS',
      requestId: 'slack-1',
      plan,
      planHash: planHash(plan),
      needed: 3,
    });
  });
});

describe('the expiry job', () => {
  it('expires a request once its window can no longer hold the run, edits the card and cancels the window it made', async () => {
    const w = await world({ migration: { instanceId: 'i-0123456789abcdef0' } });
    const r = await phase3Request(w);
    await showCard(get(), w, r.id);
    w.clock.t = r.plan.windowEnd - 10 * MIN;
    expect(await expireRequest(w.md, r.id, runCtx(w, expireJobId(r.id)))).toEqual({
      op: 'expire',
      outcome: 'expired',
    });
    expect(await readRequest(w.store, r.id)).toMatchObject({
      state: 'expired',
      reason: 'the run can no longer finish in its window',
    });
    expect((await getWindow(w.store, r.windowId))?.state).toBe('cancelled');
    expect(JSON.stringify(get().slack.messages(APPROVALS)[0]?.blocks)).toContain('Expired');
  });

  it('moves to the new time when the window was extended, and does nothing for a request that is gone or over', async () => {
    const w = await world({ migration: { instanceId: 'i-0123456789abcdef0' } });
    const r = await phase3Request(w);
    const end = r.plan.windowEnd;
    await extendWindow(w.store, r.windowId, { from: end, to: end + 60 * MIN, at: w.clock.now() });
    w.clock.t = end - 10 * MIN;
    const ctx = runCtx(w, expireJobId(r.id));
    await expect(expireRequest(w.md, r.id, ctx)).rejects.toThrow(DelayedError);
    expect(ctx.delayedUntil).toBe(end + 50 * MIN);
    expect((await readRequest(w.store, r.id))?.state).toBe('pending');
    expect(await expireRequest(w.md, 'p3-gone0000', ctx)).toEqual({ op: 'expire', outcome: 'gone' });
    await transition(w.store, r.id, ['pending'], 'rejected');
    w.clock.t = end + 50 * MIN;
    expect(await expireRequest(w.md, r.id, ctx)).toEqual({ op: 'expire', outcome: 'not expired (rejected)' });
  });
});
