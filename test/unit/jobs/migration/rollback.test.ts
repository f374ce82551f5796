// Phase 3's rollback (jobs/migration/rollback.ts) against moto: a failed request's rollback, and
// `/migration rollback 3` with none open; each holds the instance and checks the real state first.
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { rollbackPhase3 } from '../../../../jobs/migration/rollback.js';
import {
  claim,
  endOperation,
  getRequest,
  instanceHolder,
  startRollback,
  takeInstance,
} from '../../../../jobs/migration/store.js';
import { APPROVALS, approveAll, phase3Request, runCtx, showCard, useParts, type World } from './parts.js';

const { get, world } = useParts({ moto: true });

/** A phase-3 request that failed after the instance was stopped and the profile attached; its rollback job. */
async function failedMidway(w: World, o = { changed: true }) {
  const r = await phase3Request(w);
  await showCard(get(), w, r.id);
  const job = await approveAll(w, r);
  const c = await claim(w.store, r, job, 'run', w.clock.now());
  if (c.result !== 'fresh') throw new Error(c.result);
  const t = { account: 'osio', instanceId: r.plan.instanceId };
  if (o.changed) {
    await w.md.aws.stopInstance('U0OPS', t);
    await w.md.aws.associateProfile('U0OPS', { ...t, instanceProfile: r.plan.instanceProfile });
  }
  await endOperation(w.store, r, job, c.fence, 'failed', { error: 'start refused', failedStep: 3 });
  const rb = await startRollback(w.store, await getRequest(w.store, r.id, 'phase3'), w.clock.now());
  if (rb.result !== 'ok') throw new Error(rb.result);
  w.actions.length = 0;
  return { r, job: rb.job, t };
}

describe("a failed request's rollback", () => {
  it('disassociates the profile, starts the instance, and ends rolled back with the card edited', async () => {
    const w = await world();
    const { r, job, t } = await failedMidway(w);
    const ctx = runCtx(w, job);
    expect(await rollbackPhase3(w.md, { id: r.id }, 'U0DAVE', ctx)).toEqual({
      op: 'rollback3',
      outcome: 'rolled back',
    });
    expect(w.actions.filter((a) => a.startsWith('ec2:') && !a.startsWith('ec2:Describe'))).toEqual([
      'ec2:DisassociateIamInstanceProfile',
      'ec2:StartInstances',
    ]);
    expect(await w.md.aws.associations('U0OPS', t)).toEqual([]);
    expect((await w.md.aws.describeInstance('U0OPS', t)).state).toBe('running');
    expect((await getRequest(w.store, r.id, 'phase3')).state).toBe('rolled-back');
    expect(await instanceHolder(w.store, t.instanceId)).toBeUndefined();
    expect(JSON.stringify(get().slack.messages(APPROVALS)[0]?.blocks)).toContain('Rolled back');
    expect(ctx.reports).toEqual([expect.stringContaining(`Phase 3 rolled back: \`${t.instanceId}\``)]);
  });

  it('is skipped by a job that is not its rollback', async () => {
    const w = await world();
    const { r } = await failedMidway(w);
    expect(await rollbackPhase3(w.md, { id: r.id }, 'U0DAVE', runCtx(w, 'mig-rb-other'))).toEqual({
      op: 'rollback3',
      outcome: 'skipped (rolling-back)',
    });
    expect(w.actions.filter((a) => !a.includes('Describe'))).toEqual([]);
  });

  it('fails the request again, saying why, with Retry and Roll back, when AWS refuses', async () => {
    const w = await world({ migration: { instanceId: 'i-0000000000000dead' } });
    const { r, job } = await failedMidway(w, { changed: false });
    await expect(rollbackPhase3(w.md, { id: r.id }, 'U0DAVE', runCtx(w, job))).rejects.toThrow(
      UnrecoverableError,
    );
    const after = await getRequest(w.store, r.id, 'phase3');
    expect(after).toMatchObject({
      state: 'failed',
      error: 'the rollback failed: instance i-0000000000000dead does not exist in osio',
      failures: 2,
      failPosted: 2,
    });
    expect(await instanceHolder(w.store, 'i-0000000000000dead')).toBeUndefined();
  });
});

describe('`/migration rollback 3` with no failed request open', () => {
  it('rolls back the instance the command named and frees it', async () => {
    const w = await world();
    const t = { account: 'osio', instanceId: w.instanceId };
    await w.md.aws.stopInstance('U0OPS', t);
    await w.md.aws.associateProfile('U0OPS', {
      ...t,
      instanceProfile: w.config.migration?.instanceProfile ?? '',
    });
    expect(await takeInstance(w.store, t.instanceId, 'mig-rb3-slack-1', w.clock.now())).toEqual({
      result: 'ok',
    });
    expect(await rollbackPhase3(w.md, t, 'U0OPS', runCtx(w, 'mig-rb3-slack-1'))).toEqual({
      op: 'rollback3',
      outcome: 'rolled back',
    });
    expect(await w.md.aws.associations('U0OPS', t)).toEqual([]);
    expect((await w.md.aws.describeInstance('U0OPS', t)).state).toBe('running');
    expect(await instanceHolder(w.store, t.instanceId)).toBeUndefined();
  });

  it('does nothing unless the instance is held for it, and frees it when AWS refuses', async () => {
    const w = await world();
    const t = { account: 'osio', instanceId: 'i-0000000000000dead' };
    expect(await rollbackPhase3(w.md, t, 'U0OPS', runCtx(w, 'mig-rb3-slack-2'))).toEqual({
      op: 'rollback3',
      outcome: 'skipped (the instance is not held for it)',
    });
    await takeInstance(w.store, t.instanceId, 'mig-rb3-slack-2', w.clock.now());
    await expect(rollbackPhase3(w.md, t, 'U0OPS', runCtx(w, 'mig-rb3-slack-2'))).rejects.toThrow(
      'rollback of phase 3 failed: instance i-0000000000000dead does not exist in osio',
    );
    expect(await instanceHolder(w.store, t.instanceId)).toBeUndefined();
  });
});
