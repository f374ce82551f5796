// The migration queue's processor (for the job registry only; handlers never import it): each job
// kind to its module, with the worker's deps turned into the small interfaces they use.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from 'bullmq';
import { userMessage } from '../../infra/errors.js';
import type { JobContext, JobKind, WorkerDeps } from '../common.js';
import { createMigrationAws } from './aws.js';
import { requestCleanup, runCleanup } from './cleanup.js';
import { watchUpload } from './cutover-watch.js';
import { MIGRATION_QUEUE, type MigrationData, type MigrationResult } from './data.js';
import { cardsOverNotifier, type MigrationDeps, runJobsOver } from './deps.js';
import { kindOf } from './plan.js';
import { expireRequest, type RequestData, requestPhase3 } from './request.js';
import { rollbackPhase3 } from './rollback.js';
import { runPhase3 } from './run.js';
import type { RunCtx } from './runner.js';
import { armWatchdog } from './runner.js';
import { checkPhase, updateStatus } from './status.js';
import { runWatchdog } from './watchdog.js';

export { MIGRATION_QUEUE } from './data.js';

/** A worker's deps as the migration code wants them. */
export function migrationDeps(deps: WorkerDeps, log = deps.logger): MigrationDeps {
  return {
    config: deps.config,
    clock: deps.clock,
    store: { redis: deps.redis, prefix: deps.prefix },
    audit: deps.audit,
    queues: deps.queues,
    jobs: runJobsOver(deps.queues),
    cards: cardsOverNotifier(deps.notifier),
    log,
    aws: createMigrationAws(deps),
    notifier: deps.notifier,
    sleep: (ms) => sleep(ms),
  };
}

/** Runs one migration job (the model-based tests call this with their fakes). */
export async function dispatch(
  md: MigrationDeps,
  d: MigrationData,
  ctx: RunCtx & { save(patch: Partial<RequestData>): Promise<void> },
): Promise<MigrationResult> {
  switch (d.op) {
    case 'request':
      return requestPhase3(md, d, ctx);
    case 'run':
      return kindOf(d.id) === 'cleanup' ? runCleanup(md, d.id, ctx) : runPhase3(md, d.id, ctx);
    case 'expire':
      return expireRequest(md, d.id, ctx);
    case 'rollback3':
      return rollbackPhase3(md, { id: d.id, account: d.account, instanceId: d.instanceId }, d.requester, ctx);
    case 'status':
      return updateStatus(md, d.requester);
    case 'check':
      return checkPhase(md, d.phase, d.requester, ctx);
    case 'watch':
      return watchUpload(md, d, ctx);
    case 'cleanup':
      return requestCleanup(md, d, ctx);
    case 'watchdog':
      return runWatchdog(md);
  }
}

function runCtx(
  job: Job<MigrationData, MigrationResult>,
  ctx: JobContext<MigrationData>,
): RunCtx & {
  save(patch: Partial<RequestData>): Promise<void>;
} {
  return {
    jobId: String(job.id),
    token: ctx.token,
    log: ctx.log,
    isLastAttempt: () => ctx.isLastAttempt(),
    delayUntil: (at) => ctx.delayUntil(at),
    report: (text) => ctx.report(text),
    save: (patch) => ctx.save(patch),
  };
}

export const migrationJob: JobKind<MigrationData, MigrationResult> = {
  queue: MIGRATION_QUEUE,
  action: 'migration.job',
  describe: (d) => ('id' in d && d.id ? `${d.op} ${d.id}` : d.op),
  summarize: (r) => `${r.op}: ${r.outcome}`,
  quietWhen: (r) => r.quiet === true,
  run: (job, ctx) => dispatch(migrationDeps(ctx.deps, ctx.log), job.data, runCtx(job, ctx)),
  async onFinalFailure(job, ctx, err) {
    const d = job.data;
    if (d.op === 'run' || d.op === 'watchdog' || (d.op === 'rollback3' && d.id)) return; // the card says so
    await ctx.report(`:x: /migration ${d.op} failed: ${userMessage(err)}`);
  },
  async onWorkerStart(deps) {
    // A worker that starts looks once: whatever a dead one left running is found.
    if (deps.config.migration) await armWatchdog(migrationDeps(deps));
  },
};
