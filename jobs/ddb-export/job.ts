// The ddb-export processor: one job per table, resumable by phase (start, define, activate, watch);
// the follow-up once every table of the command is done, and an alert when one fails for good.
import { ChatopsError, UserError, userMessage } from '../../infra/errors.js';
import type { JobKind } from '../common.js';
import { slackSafe, waitReady } from '../progress-card.js';
import { mark, store } from './card.js';
import {
  DDB_EXPORT_QUEUE,
  type DdbExportConfig,
  type DdbExportData,
  type DdbExportResult,
  ddbExportConfig,
  engineName,
  pollDelayMs,
} from './data.js';
import { startPipeline } from './datapipeline.js';
import { assertSafeNames, logLocation, outputLocation } from './definition.js';
import { followUpWhenAllDone } from './follow-up.js';
import { startNativeExport } from './native.js';
import { watch } from './watch.js';

/** Where to look when a table's export failed. */
function logsOf(cfg: DdbExportConfig, d: DdbExportData): string {
  if (d.engine === 'datapipeline' && d.pipelineId) {
    return `${logLocation(cfg.bucket)}/${d.pipelineId}/ (and pipeline ${d.pipelineId} in the Data Pipeline console of ${cfg.sourceAccount})`;
  }
  if (d.engine === 'native' && d.exportArn) {
    return `the DynamoDB console of ${cfg.sourceAccount}, Exports to S3: ${d.exportArn}`;
  }
  return `nothing ran in AWS; the bot's logs, request ${d.requestId}`;
}

export const ddbExportJob: JobKind<DdbExportData, DdbExportResult> = {
  queue: DDB_EXPORT_QUEUE,
  action: 'ddb-export',
  describe: (d) => `${d.table} (${d.engine})`,
  summarize: (r) =>
    `exported to ${r.location}${r.pipelineId ? ` by pipeline ${r.pipelineId}` : ''}${r.exportArn ? ` by ${r.exportArn}` : ''}`,
  async run(job, ctx) {
    const cfg = ddbExportConfig(ctx.deps.config);
    try {
      assertSafeNames(job.data.table, cfg.bucket);
    } catch (err) {
      throw new UserError('unsafe_name', (err as Error).message);
    }
    if (!job.data.startedAt) {
      await ctx.save({ startedAt: ctx.deps.clock.now(), phase: job.data.phase ?? 'start' });
      await waitReady(store(ctx), job.data.requestId);
    }
    if (job.data.phase !== 'watch') {
      if (job.data.engine === 'native') await startNativeExport(job, ctx, cfg);
      else await startPipeline(job, ctx, cfg);
      const started = job.data.pipelineId ? `pipeline ${job.data.pipelineId} activated` : 'export requested';
      await mark(ctx, job.data, 'running', started);
      return ctx.delayUntil(ctx.deps.clock.now() + pollDelayMs(cfg, 0));
    }
    const status = await watch(job, ctx, cfg);
    if (status.outcome === 'failed') throw new UserError('export_failed', status.detail);
    const d = job.data;
    const location = `${outputLocation(cfg.bucket, d.table)}/`;
    await mark(ctx, d, 'finished', `${status.detail}: ${location}`);
    await followUpWhenAllDone(ctx, d, cfg);
    return {
      table: d.table,
      engine: d.engine,
      location,
      pipelineId: d.pipelineId,
      exportArn: d.exportArn,
      seconds: Math.round((ctx.deps.clock.now() - (d.startedAt ?? ctx.deps.clock.now())) / 1000),
    };
  },
  async onFinalFailure(job, ctx, err) {
    const d = job.data;
    const why = userMessage(err);
    await mark(ctx, d, 'failed', why);
    const cfg = ctx.deps.config.ddbExport;
    if (cfg) await followUpWhenAllDone(ctx, d, cfg);
    const alerts = ctx.deps.config.channels.alerts;
    if (!alerts) return;
    const from = cfg ? ` from ${cfg.sourceAccount}` : '';
    const logs = cfg ? logsOf(cfg, d) : `the bot's logs, request ${d.requestId}`;
    const code = err instanceof ChatopsError ? ` [${err.code}]` : '';
    await ctx.deps.notifier
      .post(
        alerts,
        `:rotating_light: DynamoDB export of \`${d.table}\`${from} (${engineName(d.engine)}) failed${code}: ${slackSafe(why)}\n` +
          `Logs: ${logs}\nRequested by <@${d.requester}>, request ${d.requestId}`,
      )
      .catch((e) => ctx.log.warn({ err: String(e) }, 'could not post the alert'));
  },
};
