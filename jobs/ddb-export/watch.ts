// Watching a started export: one status check per run of the job, which parks itself (a delayed
// job) until the next one, with the gap doubling up to pollMaxSeconds.
import type { Job } from 'bullmq';
import { UserError } from '../../infra/errors.js';
import { formatDuration } from '../progress-card.js';
import { mark } from './card.js';
import {
  type DdbExportConfig,
  type DdbExportContext,
  type DdbExportData,
  pollDelayMs,
  type RunStatus,
} from './data.js';
import { pipelineStatus } from './datapipeline.js';
import { nativeStatus } from './native.js';

const MAX_POLL_ERRORS = 5;

/** One status check; unless the run ended, the job parks itself until the next one. */
export async function watch(
  job: Job<DdbExportData>,
  ctx: DdbExportContext,
  cfg: DdbExportConfig,
): Promise<RunStatus> {
  const d = job.data;
  const polls = d.polls ?? 0;
  let status: RunStatus;
  try {
    status = d.engine === 'native' ? await nativeStatus(ctx, cfg, d) : await pipelineStatus(ctx, cfg, d);
  } catch (err) {
    if (err instanceof UserError) throw err;
    // A failed check does not end a watch of hours: check again later, unless it keeps failing.
    const pollErrors = (d.pollErrors ?? 0) + 1;
    if (pollErrors >= MAX_POLL_ERRORS) throw err;
    ctx.log.warn(
      { err: err instanceof Error ? err.message : String(err), pollErrors },
      'status check failed',
    );
    await ctx.save({ pollErrors });
    return ctx.delayUntil(ctx.deps.clock.now() + pollDelayMs(cfg, polls));
  }
  if (status.outcome !== 'running') return status;
  const timeoutMs = cfg.watchTimeoutMinutes * 60_000;
  const runFor = ctx.deps.clock.now() - (d.runStartedAt ?? ctx.deps.clock.now());
  if (runFor >= timeoutMs) {
    throw new UserError(
      'watch_timeout',
      `still not finished after ${formatDuration(runFor)} (${status.detail}); the bot stopped watching and left it running`,
    );
  }
  await mark(ctx, d, 'running', status.detail);
  await ctx.save({ polls: polls + 1, pollErrors: 0 });
  const delay = Math.min(pollDelayMs(cfg, polls + 1), timeoutMs - runFor + 10);
  return ctx.delayUntil(ctx.deps.clock.now() + delay);
}
