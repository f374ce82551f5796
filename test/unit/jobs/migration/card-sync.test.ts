// Keeping Slack in step with a request (jobs/migration/card-sync.ts): the approval card re-rendered
// from the stored state on the fake Slack, and each failure posted once in its thread.
import { describe, expect, it } from 'vitest';
import { failureText, postFailure, refreshCard } from '../../../../jobs/migration/card-sync.js';
import {
  endOperation,
  getRequest,
  type Owner,
  type Phase3Request,
  readRequest,
  transition,
} from '../../../../jobs/migration/store.js';
import {
  APPROVALS,
  cleanupRequest,
  phase3Request,
  runningRequest,
  showCard,
  useParts,
  type World,
} from './parts.js';

const { get, world } = useParts();

/** A phase-3 request whose card is on the fake Slack. */
async function withCard(w: World) {
  const r = await phase3Request(w);
  return { r, ref: await showCard(get(), w, r.id) };
}

/** A running request fails at step 3 with `error`. */
async function fail(w: World, x: { r: Phase3Request; owner: Owner }, error: string) {
  await endOperation(w.store, x.r, x.owner.job, x.owner.fence, 'failed', { error, failedStep: 2 });
  return getRequest(w.store, x.r.id, 'phase3');
}

describe('the approval card', () => {
  it('is edited to the stored state and marked with the version it shows', async () => {
    const w = await world();
    const { r, ref } = await withCard(w);
    await transition(w.store, r.id, ['pending'], 'rejected', { rejectedBy: 'U0DAVE', reason: 'not today' });
    expect(await refreshCard(w.md, r.id)).toBe(true);
    const shown = get()
      .slack.messages(APPROVALS)
      .find((m) => m.ts === ref.ts);
    expect(shown?.edits).toBe(1);
    expect(JSON.stringify(shown?.blocks)).toContain('Rejected by <@U0DAVE>: not today');
    const after = await getRequest(w.store, r.id, 'phase3');
    expect(after.cardVersion).toBe(after.version);
  });

  it('is not touched while the request has none yet', async () => {
    const w = await world();
    const r = await phase3Request(w);
    expect(await refreshCard(w.md, r.id)).toBe(true);
    expect(get().slack.callsTo('chat.update')).toEqual([]);
    expect((await getRequest(w.store, r.id, 'phase3')).cardVersion).toBe(-1);
  });

  it('when Slack does not take the edit: false, logged, and the version it shows stays behind', async () => {
    const w = await world();
    const { r } = await withCard(w);
    get().slack.failNext('chat.update', 'internal_error');
    expect(await refreshCard(w.md, r.id)).toBe(false);
    expect(w.logs.some((l) => l.includes('could not edit the approval card'))).toBe(true);
    const after = await getRequest(w.store, r.id, 'phase3');
    expect(after.cardVersion).toBeLessThan(after.version);
  });
});

describe('a failure', () => {
  it('says where it failed and why, escaped, with what to do next', async () => {
    const w = await world();
    const r = await fail(w, await runningRequest(w), 'AWS refused <!channel>');
    expect(failureText(r)).toBe(
      `:x: Phase 3 (\`${r.id}\`) failed at step 3 (associate the instance profile): AWS refused &lt;!channel&gt;. Retry or Roll back from the card.`,
    );
    const c = await cleanupRequest(w, ['dumps-test/a']);
    expect(failureText({ ...c, state: 'failed', error: 'AccessDenied' })).toBe(
      `:x: The deletion under \`s3://jram-gghouse/dumps-test/\` (\`${c.id}\`) stopped: AccessDenied`,
    );
  });

  it("is posted once in the card's thread, and not for a request that has not failed", async () => {
    const w = await world();
    const x = await runningRequest(w);
    const ref = await showCard(get(), w, x.r.id);
    const r = x.r;
    expect(await postFailure(w.md, r.id)).toBe(true);
    expect(get().slack.messages(APPROVALS)).toHaveLength(1);
    await fail(w, x, 'lost');
    expect(await postFailure(w.md, r.id)).toBe(true);
    expect(await postFailure(w.md, r.id)).toBe(true);
    const replies = get()
      .slack.messages(APPROVALS)
      .filter((m) => m.thread_ts === ref.ts);
    expect(replies.map((m) => m.text)).toEqual([expect.stringContaining('failed at step 3')]);
    expect((await readRequest(w.store, r.id))?.failPosted).toBe(1);
  });

  it('goes to the approvals channel when the card was never posted; Slack away: false and posted later', async () => {
    const w = await world();
    const r = await fail(w, await runningRequest(w), 'lost');
    get().slack.failNext('chat.postMessage', 'internal_error', 5);
    expect(await postFailure(w.md, r.id)).toBe(false);
    expect((await readRequest(w.store, r.id))?.failPosted).toBe(0);
    get().slack.reset();
    expect(await postFailure(w.md, r.id)).toBe(true);
    expect(
      get()
        .slack.messages(APPROVALS)
        .map((m) => m.thread_ts),
    ).toEqual([undefined]);
  });
});
