// Phase 5's AWS step: the cleanup request (`/migration check 5` with the gate open: list the test
// prefix, store the listing, post the approval card) and its run, which deletes exactly the stored
// listing in fenced batches, each checked (approvals, plan) right before it goes out.
import { DelayedError, UnrecoverableError } from 'bullmq';
import { UserError, userMessage } from '../../infra/errors.js';
import { escapeSlack } from '../../infra/slack-text.js';
import { formatBytes } from '../dumps/index.js';
import { deletionBatches } from './aws.js';
import { postFailure, refreshCard } from './card-sync.js';
import type { MigrationResult } from './data.js';
import type { MigrationDeps } from './deps.js';
import { readCleanupGate, testPrefixProblem } from './gate.js';
import { cleanupPlanOf, keysDigest, migrationConfig, requestIdFor } from './plan.js';
import { approvalsChannel, postCardAndExpiry, requestFields } from './request.js';
import { armWatchdog, checkBeforeChange, endOp, Fenced, type RunCtx, StopRun } from './runner.js';
import {
  approvedKeys,
  claim,
  createRequest,
  getRequest,
  type Owner,
  openRequest,
  readRequest,
  saveProgress,
} from './store.js';

/** The cleanup request: re-checks the gate, lists the test prefix, stores the listing, posts the card. */
export async function requestCleanup(
  md: MigrationDeps,
  d: { requestId: string; requester: string },
  ctx: RunCtx,
): Promise<MigrationResult> {
  const m = migrationConfig(md.config);
  const s = md.store;
  const now = md.clock.now();
  const approvals = approvalsChannel(md);
  const gate = await readCleanupGate(s, md.config, now);
  if (!gate.open) throw new UserError('gate_closed', `phase 5 may not start yet: ${gate.reasons.join('; ')}`);
  const unsafe = testPrefixProblem(md.config);
  if (unsafe) throw new UserError('test_prefix', unsafe);
  const id = requestIdFor(d.requestId, 'cleanup');
  const open = await openRequest(s, 'cleanup');
  if (open && open.id !== id) {
    throw new UserError(
      'request_open',
      `cleanup request \`${open.id}\` is ${open.state}: only one may be pending or running`,
    );
  }
  const where = `s3://${m.bucket}/${m.testPrefix}`;
  if (!(await readRequest(s, id))) {
    const listed = await md.aws.listObjects(d.requester, {
      account: m.account,
      bucket: m.bucket,
      prefix: m.testPrefix,
    });
    if (!listed.size) {
      await ctx.report?.(
        `:white_check_mark: Nothing to delete: \`${where}\` is empty. The AWS step of phase 5 is done.`,
      );
      return { op: 'cleanup', outcome: 'nothing to delete' };
    }
    const keys = [...listed.keys()].sort();
    deletionBatches(keys, m.testPrefix); // refuses a listing with anything outside the prefix
    const plan = cleanupPlanOf(md.config, {
      objects: keys.length,
      bytes: [...listed.values()].reduce((a, b) => a + b, 0),
      keysHash: keysDigest(keys),
    });
    const created = await createRequest(s, {
      kind: 'cleanup',
      ...requestFields(md, d, id, plan),
      expiresAt: now + m.cleanupExpiryHours * 3_600_000,
      createdAt: now,
      keys,
    });
    if (created === 'open')
      throw new UserError(
        'request_open',
        'another cleanup request was made meanwhile: only one may be pending or running',
      );
  }
  await postCardAndExpiry(md, approvals, id);
  const r = await getRequest(s, id, 'cleanup');
  await ctx.report?.(
    `:memo: Cleanup request \`${id}\` is waiting for ${r.needed} approvals in <#${approvals}>: delete ${r.plan.objects} objects (${formatBytes(r.plan.bytes)}) under \`${where}\`.`,
  );
  return { op: 'cleanup', outcome: id };
}

/**
 * Deletes the approved listing: before the first deletion the objects under the prefix must be
 * exactly the listed ones; a retried or resumed run deletes what is left of them (keys already gone
 * are fine) and stops at any key that was not listed. Each batch is checked right before it goes.
 */
export async function runCleanup(md: MigrationDeps, id: string, ctx: RunCtx): Promise<MigrationResult> {
  const s = md.store;
  const first = await getRequest(s, id, 'cleanup');
  const c = await claim(s, first, ctx.jobId, 'run', md.clock.now());
  if (c.result !== 'fresh' && c.result !== 'resume') {
    ctx.log.info({ id, state: c.state }, 'cleanup not started: not approved for this run');
    return { op: 'run', outcome: `skipped (${c.state})` };
  }
  await armWatchdog(md);
  const owner: Owner = { job: ctx.jobId, fence: c.fence, token: ctx.token };
  const r = await getRequest(s, id, 'cleanup');
  const place = { account: r.plan.account, bucket: r.plan.bucket, prefix: r.plan.prefix };
  const where = `s3://${place.bucket}/${place.prefix}`;
  try {
    const approved = new Set(await approvedKeys(s, id));
    await checkBeforeChange(md, r, owner, 0, false);
    const listed = [...(await md.aws.listObjects(r.requester, place)).keys()];
    const unlisted = listed.filter((k) => !approved.has(k));
    if (unlisted.length) {
      throw new StopRun(
        'listing',
        `${unlisted.length} objects under ${where} were not in the approved listing (e.g. ${unlisted[0]}), so nothing more is deleted: run \`/migration check 5\` again for a new listing`,
      );
    }
    const fresh = (await getRequest(s, id, 'cleanup')).deleted === 0 && !r.touched;
    if (fresh && keysDigest(listed) !== r.plan.keysHash) {
      throw new StopRun(
        'listing',
        `the objects under ${where} changed since the listing (${listed.length} now, ${r.plan.objects} approved): run \`/migration check 5\` again`,
      );
    }
    const todo = listed.sort();
    let deleted = approved.size - todo.length;
    for (const [i, batch] of deletionBatches(todo, place.prefix).entries()) {
      await checkBeforeChange(md, r, owner, 0);
      await md.aws.deleteObjects(r.requester, place, batch);
      deleted += batch.length;
      if (!(await saveProgress(s, id, owner, { deleted }))) throw new Fenced('another run owns the request');
      await md.audit.record({
        requestId: r.requestId,
        user: r.requester,
        action: 'migration.cleanup.delete',
        target: `${id} ${where}`,
        outcome: 'succeeded',
        detail: `batch ${i + 1}: ${batch.length} objects (${deleted} of ${approved.size})`,
      });
      await refreshCard(md, id);
    }
    if (!(await endOp(md, r, owner.job, owner.fence, 'done', { deleted: approved.size })))
      throw new Fenced('ended by another');
  } catch (err) {
    if (err instanceof DelayedError) throw err;
    if (err instanceof Fenced) {
      ctx.log.warn({ id, why: err.message }, 'cleanup stopped: it no longer owns the request');
      return { op: 'run', outcome: `stopped (${err.message})` };
    }
    const final = ctx.isLastAttempt() || err instanceof UserError || err instanceof UnrecoverableError;
    if (!final) throw err; // BullMQ retries; the run resumes from what is left
    const why = userMessage(err);
    const now = await readRequest(s, id);
    const unchanged = now?.kind === 'cleanup' && !now.touched && now.deleted === 0;
    const to = err instanceof StopRun && unchanged ? 'expired' : 'failed';
    const ended = await endOp(
      md,
      r,
      owner.job,
      owner.fence,
      to,
      to === 'expired' ? { reason: why } : { error: why },
    );
    if (ended) {
      await md.audit.record({
        requestId: r.requestId,
        user: r.requester,
        action: 'migration.cleanup.delete',
        target: `${id} ${where}`,
        outcome: 'failed',
        detail: why.slice(0, 300),
      });
      await refreshCard(md, id);
      await postFailure(md, id);
    }
    throw new UnrecoverableError(`cleanup ${id}: ${why}`);
  }
  await refreshCard(md, id);
  if (r.cardChannel) {
    await md.notifier
      .postOnce(
        {
          channel: r.cardChannel,
          text: `:white_check_mark: Deleted ${r.plan.objects} objects (${formatBytes(r.plan.bytes)}) under \`${escapeSlack(where)}\` (\`${id}\`).`,
          threadTs: r.cardTs,
        },
        { key: `${id}/done`, lookFirst: true },
      )
      .catch((e) => ctx.log.warn({ err: String(e) }, 'could not post the completion'));
  }
  return { op: 'run', outcome: `deleted ${r.plan.objects} objects` };
}
