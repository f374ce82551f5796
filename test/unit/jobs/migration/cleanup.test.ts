// Phase 5's AWS step (jobs/migration/cleanup.ts) against moto: the cleanup request (the gate, the
// listing, the card and its expiry) and its run, which deletes exactly the approved listing.
import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { ensureBucket, putDump } from '../../../../devkit/worlds/index.js';
import { listObjects } from '../../../../jobs/migration/aws.js';
import { requestCleanup, runCleanup } from '../../../../jobs/migration/cleanup.js';
import { expireJobId } from '../../../../jobs/migration/data.js';
import { requestIdFor } from '../../../../jobs/migration/plan.js';
import { getRequest, recordCutover } from '../../../../jobs/migration/store.js';
import { APPROVALS, approveAll, DUMP_JOB, runCtx, useParts, type World } from './parts.js';

const { get, target, world } = useParts({ moto: true });
const BUCKET = 'jram-gghouse';
const DAY = 86_400_000;

/** A world whose test prefix is its own, with the gate open (every cron cut over 15 days ago) and `n` objects to delete. */
async function gateOpen(n: number, o: { cutoverDaysAgo?: number } = {}) {
  const prefix = `dumps-test/${randomUUID()}/`;
  const w = await world({ migration: { instanceId: 'i-0123456789abcdef0', testPrefix: prefix } });
  await ensureBucket(target(), 'osio', BUCKET);
  for (let i = 0; i < n; i++)
    await putDump({ ...target(), account: 'osio', bucket: BUCKET, key: `${prefix}k${i}`, bytes: 100 });
  const at = w.clock.now() - (o.cutoverDaysAgo ?? 15) * DAY;
  const entry = { id: 'e1', at, kind: 'status' as const, requestId: 'r', requester: 'U0OPS' };
  await recordCutover(w.store, { cron: DUMP_JOB, at, by: 'U0OPS', forced: false }, entry);
  return { w, prefix, place: { account: 'osio', bucket: BUCKET, prefix } };
}

const asked = { requestId: 'slack-check5', requester: 'U0OPS' };

/** The cleanup request made by `/migration check 5`, approved; its id and run job. */
async function approvedCleanup(w: World) {
  await requestCleanup(w.md, asked, runCtx(w, 'mig-cleanup'));
  const r = await getRequest(w.store, requestIdFor(asked.requestId, 'cleanup'), 'cleanup');
  return { r, runJob: await approveAll(w, r) };
}

describe('the cleanup request', () => {
  it('lists the test prefix, stores the listing, queues its expiry and posts the approval card once', async () => {
    const { w, prefix } = await gateOpen(3);
    const ctx = runCtx(w, 'mig-cleanup');
    const id = requestIdFor(asked.requestId, 'cleanup');
    expect(await requestCleanup(w.md, asked, ctx)).toEqual({ op: 'cleanup', outcome: id });
    const r = await getRequest(w.store, id, 'cleanup');
    expect(r.plan).toMatchObject({ bucket: BUCKET, prefix, objects: 3, bytes: 300 });
    expect(r.expiresAt).toBe(w.clock.now() + 24 * 3_600_000);
    expect(await w.md.jobs.state(expireJobId(id))).toBe('delayed');
    expect(ctx.reports).toEqual([
      expect.stringContaining(`Cleanup request \`${id}\` is waiting for 2 approvals`),
    ]);
    // A retried job makes the same request and posts no second card.
    await requestCleanup(w.md, asked, ctx);
    const cards = get().slack.messages(APPROVALS);
    expect(cards).toHaveLength(1);
    expect(JSON.stringify(cards[0]?.blocks)).toContain('Phase 5: delete the parallel-test dumps');
  });

  it('refuses while the gate is closed, and while another cleanup request is open', async () => {
    const closed = await gateOpen(1, { cutoverDaysAgo: 3 });
    await expect(requestCleanup(closed.w.md, asked, runCtx(closed.w, 'j'))).rejects.toThrow(
      /^phase 5 may not start yet: 3 of 14 days since the last cutover/,
    );
    const { w } = await gateOpen(1);
    await requestCleanup(w.md, asked, runCtx(w, 'j'));
    await expect(
      requestCleanup(w.md, { ...asked, requestId: 'slack-again' }, runCtx(w, 'j')),
    ).rejects.toThrow(/only one may be pending or running/);
  });

  it('says there is nothing to delete for an empty prefix, and makes no request', async () => {
    const { w, prefix } = await gateOpen(0);
    const ctx = runCtx(w, 'j');
    expect(await requestCleanup(w.md, asked, ctx)).toEqual({ op: 'cleanup', outcome: 'nothing to delete' });
    expect(ctx.reports).toEqual([
      `:white_check_mark: Nothing to delete: \`s3://${BUCKET}/${prefix}\` is empty. The AWS step of phase 5 is done.`,
    ]);
    expect(get().slack.messages(APPROVALS)).toEqual([]);
  });

  it('refuses a test prefix that overlaps the dumps', async () => {
    const w = await world({ migration: { instanceId: 'i-0123456789abcdef0', testPrefix: 'dumps/' } });
    const at = w.clock.now() - 15 * DAY;
    const entry = { id: 'e1', at, kind: 'status' as const, requestId: 'r', requester: 'U0OPS' };
    await recordCutover(w.store, { cron: DUMP_JOB, at, by: 'U0OPS', forced: false }, entry);
    await expect(requestCleanup(w.md, asked, runCtx(w, 'j'))).rejects.toThrow(
      /overlaps the prefix "dumps\/"/,
    );
  });
});

describe('the cleanup run', () => {
  it('deletes exactly the approved listing, audited per batch, and ends done with the completion posted', async () => {
    const { w, place } = await gateOpen(3);
    const { r, runJob } = await approvedCleanup(w);
    expect(await runCleanup(w.md, r.id, runCtx(w, runJob))).toEqual({
      op: 'run',
      outcome: 'deleted 3 objects',
    });
    expect((await listObjects(w.aws, 'U0OPS', place)).size).toBe(0);
    expect(await getRequest(w.store, r.id, 'cleanup')).toMatchObject({ state: 'done', deleted: 3 });
    const deletes = (await w.audits()).filter((a) => a.action === 'migration.cleanup.delete');
    expect(deletes.map((a) => a.detail)).toEqual(['batch 1: 3 objects (3 of 3)']);
    expect(
      get()
        .slack.messages(APPROVALS)
        .some((m) => m.text.startsWith(':white_check_mark: Deleted 3 objects')),
    ).toBe(true);
    expect(await w.md.jobs.state(expireJobId(r.id))).toBe('missing');
  });

  it('deletes nothing when the prefix holds an object that was not listed: the request expires, saying why', async () => {
    const { w, place, prefix } = await gateOpen(2);
    const { r, runJob } = await approvedCleanup(w);
    await putDump({ ...target(), ...place, key: `${prefix}late`, bytes: 5 });
    await expect(runCleanup(w.md, r.id, runCtx(w, runJob))).rejects.toThrow(UnrecoverableError);
    expect((await listObjects(w.aws, 'U0OPS', place)).size).toBe(3);
    const after = await getRequest(w.store, r.id, 'cleanup');
    expect(after.state).toBe('expired');
    expect(after.reason).toMatch(/^1 objects under s3:\/\/jram-gghouse\/.* were not in the approved listing/);
  });

  it('does not start for a job it was not approved for', async () => {
    const { w, place } = await gateOpen(1);
    const { r } = await approvedCleanup(w);
    expect(await runCleanup(w.md, r.id, runCtx(w, 'mig-run-other'))).toEqual({
      op: 'run',
      outcome: 'skipped (approved)',
    });
    expect((await listObjects(w.aws, 'U0OPS', place)).size).toBe(1);
  });
});
