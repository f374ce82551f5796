// The Data Pipeline engine: find or create the table's pipeline, put the definition, activate it,
// and read a run's outcome from its instances.
import type { Job } from 'bullmq';
import { TransientError, UserError } from '../../infra/errors.js';
import { call, describeTable } from './aws.js';
import { mark } from './card.js';
import type { DdbExportConfig, DdbExportContext, DdbExportData, RunStatus } from './data.js';
import { ACTIVITY_ID, exportDefinition, outputLocation } from './definition.js';

export interface PipelineInstance {
  id: string;
  /** The pipeline object it is an instance of (TableBackupActivity, EmrClusterForBackup…). */
  component: string;
  status: string;
  error?: string;
}

const INSTANCE_FAILED = new Set(['FAILED', 'CASCADE_FAILED', 'TIMEDOUT', 'CANCELED']);
const PIPELINE_STOPPED = new Set(['FAILED', 'CANCELED', 'TIMEDOUT', 'PAUSED', 'DEACTIVATING', 'DELETING']);

/** Decides a Data Pipeline run's outcome from `@pipelineState` and the run's instances' `@status`. */
export function classifyPipelineRun(pipelineState: string, instances: PipelineInstance[]): RunStatus {
  const failed = instances.filter((i) => INSTANCE_FAILED.has(i.status));
  if (failed.length) {
    // CASCADE_FAILED objects only echo the failure upstream of them: report the root one.
    const roots = failed.filter((i) => i.status !== 'CASCADE_FAILED');
    const root = roots.find((i) => i.error) ?? roots[0] ?? failed[0];
    const why = root?.error ? `: ${root.error}` : '';
    return { outcome: 'failed', detail: `the run failed: ${root?.component} ${root?.status}${why}` };
  }
  const activity = instances.find((i) => i.component === ACTIVITY_ID);
  if (activity?.status === 'FINISHED') return { outcome: 'finished', detail: 'export finished' };
  if (PIPELINE_STOPPED.has(pipelineState)) {
    return {
      outcome: 'failed',
      detail: `the pipeline stopped (state ${pipelineState}) before the export finished`,
    };
  }
  if (!instances.length)
    return { outcome: 'running', detail: `pipeline ${pipelineState}, waiting for the run to start` };
  const parts = instances
    .map((i) => `${i.component} ${i.status}`)
    .sort()
    .join(', ');
  return { outcome: 'running', detail: parts };
}

interface FoundPipeline {
  id: string;
  state: string;
  uniqueId?: string;
}

type DataPipelineSdk = typeof import('@aws-sdk/client-data-pipeline');
type DataPipelineClient = InstanceType<DataPipelineSdk['DataPipelineClient']>;

function fieldMap(fields: { key?: string; stringValue?: string; refValue?: string }[] | undefined) {
  const m = new Map<string, string>();
  for (const f of fields ?? []) if (f.key) m.set(f.key, f.stringValue ?? f.refValue ?? '');
  return m;
}

function chunks<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

// Enough pages for thousands of pipelines; a bogus marker cannot loop forever.
const MAX_PAGES = 200;

/** The pipeline named after the table: ours (uniqueId = table) first, else one made by hand as in the runbook. */
async function findPipeline(
  dp: DataPipelineSdk,
  client: DataPipelineClient,
  table: string,
): Promise<FoundPipeline | undefined> {
  const ids: string[] = [];
  let marker: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await call('ListPipelines', client.send(new dp.ListPipelinesCommand({ marker })));
    for (const p of out.pipelineIdList ?? []) if (p.name === table && p.id) ids.push(p.id);
    marker = out.hasMoreResults ? out.marker : undefined;
    if (!marker) break;
  }
  if (!ids.length) return undefined;
  const found: FoundPipeline[] = [];
  for (const batch of chunks(ids, 25)) {
    const out = await call(
      'DescribePipelines',
      client.send(new dp.DescribePipelinesCommand({ pipelineIds: batch })),
    );
    for (const p of out.pipelineDescriptionList ?? []) {
      const f = fieldMap(p.fields);
      if (p.pipelineId && p.name === table) {
        found.push({ id: p.pipelineId, state: f.get('@pipelineState') ?? '', uniqueId: f.get('uniqueId') });
      }
    }
  }
  return found.find((p) => p.uniqueId === table) ?? found[0];
}

/** Creates (or finds), defines and activates the table's pipeline, saving each phase so a retry resumes. */
export async function startPipeline(
  job: Job<DdbExportData>,
  ctx: DdbExportContext,
  cfg: DdbExportConfig,
): Promise<void> {
  const dp = await import('@aws-sdk/client-data-pipeline');
  const client = ctx.deps.aws.client(dp.DataPipelineClient, cfg.sourceAccount, job.data.requester);
  const table = job.data.table;
  if (!job.data.phase || job.data.phase === 'start') {
    await mark(ctx, job.data, 'creating', 'checking the table and looking for its pipeline');
    await describeTable(ctx, cfg, job.data);
    const found = await findPipeline(dp, client, table);
    // A PENDING pipeline with our uniqueId was created by an earlier attempt that stopped before
    // activating it: give it the definition again. Any other existing pipeline is only activated.
    if (found && !(found.state === 'PENDING' && found.uniqueId === table)) {
      ctx.log.info({ pipelineId: found.id, state: found.state }, 'activating the existing pipeline');
      await ctx.save({ pipelineId: found.id, reused: true, phase: 'activate' });
    } else {
      let pipelineId = found?.id;
      if (!pipelineId) {
        const out = await call(
          'CreatePipeline',
          client.send(
            new dp.CreatePipelineCommand({
              name: table,
              // Data Pipeline returns the existing pipeline for a repeated uniqueId: retries never make two.
              uniqueId: table,
              description: `Export of DynamoDB table ${table} to ${outputLocation(cfg.bucket, table)} (chatops /ddb-export)`,
            }),
          ),
        );
        pipelineId = out.pipelineId;
        if (!pipelineId) throw new TransientError('no_pipeline_id', 'Data Pipeline returned no pipeline id');
        ctx.log.info({ pipelineId }, 'pipeline created');
      }
      await ctx.save({ pipelineId, phase: 'define' });
    }
  }
  const pipelineId = job.data.pipelineId as string;
  if (job.data.phase === 'define') {
    await mark(ctx, job.data, 'creating', `pipeline ${pipelineId}: putting the export definition`);
    const account = ctx.deps.aws.account(cfg.sourceAccount);
    const def = exportDefinition({
      table,
      bucket: cfg.bucket,
      region: account.region,
      readThroughputRatio: cfg.readThroughputRatio,
    });
    const out = await call(
      'PutPipelineDefinition',
      client.send(new dp.PutPipelineDefinitionCommand({ pipelineId, ...def })),
    );
    const errors = (out.validationErrors ?? []).flatMap((e) => (e.errors ?? []).map((m) => `${e.id}: ${m}`));
    const warnings = (out.validationWarnings ?? []).flatMap((w) =>
      (w.warnings ?? []).map((m) => `${w.id}: ${m}`),
    );
    if (out.errored || errors.length) {
      throw new UserError(
        'pipeline_invalid',
        `Data Pipeline refused the definition of pipeline ${pipelineId}: ${errors.join('; ') || 'no reason given'}`,
      );
    }
    // Expected: the bucket is in another account, so Data Pipeline cannot validate it.
    if (warnings.length) ctx.log.info({ pipelineId, warnings }, 'accepted the validation warnings');
    await ctx.save({ phase: 'activate', warnings: warnings.length });
  }
  if (job.data.phase === 'activate') {
    const n = job.data.warnings ?? 0;
    await mark(
      ctx,
      job.data,
      'activating',
      job.data.reused
        ? `existing pipeline ${pipelineId}`
        : `pipeline ${pipelineId}${n ? ` (${n} validation warning${n > 1 ? 's' : ''} about the cross-account bucket, as expected)` : ''}`,
    );
    await call('ActivatePipeline', client.send(new dp.ActivatePipelineCommand({ pipelineId })));
    ctx.log.info({ pipelineId }, 'pipeline activated');
    await ctx.save({ phase: 'watch', runStartedAt: ctx.deps.clock.now(), polls: 0, pollErrors: 0 });
  }
}

/** One status check of the run: the pipeline's state and this run's instances. */
export async function pipelineStatus(
  ctx: DdbExportContext,
  cfg: DdbExportConfig,
  d: DdbExportData,
): Promise<RunStatus> {
  const dp = await import('@aws-sdk/client-data-pipeline');
  const client = ctx.deps.aws.client(dp.DataPipelineClient, cfg.sourceAccount, d.requester);
  const pipelineId = d.pipelineId as string;
  const desc = await call(
    'DescribePipelines',
    client.send(new dp.DescribePipelinesCommand({ pipelineIds: [pipelineId] })),
  );
  const pipeline = desc.pipelineDescriptionList?.[0];
  if (!pipeline) throw new UserError('pipeline_gone', `pipeline ${pipelineId} no longer exists`);
  const state = fieldMap(pipeline.fields).get('@pipelineState') ?? 'UNKNOWN';
  // Only this run's instances: an activated pipeline may keep those of earlier runs.
  const since = new Date((d.runStartedAt ?? ctx.deps.clock.now()) - 5 * 60_000).toISOString().slice(0, 19);
  const ids: string[] = [];
  let marker: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await call(
      'QueryObjects',
      client.send(
        new dp.QueryObjectsCommand({
          pipelineId,
          sphere: 'INSTANCE',
          query: {
            selectors: [{ fieldName: '@scheduledStartTime', operator: { type: 'GE', values: [since] } }],
          },
          marker,
          limit: 100,
        }),
      ),
    );
    ids.push(...(out.ids ?? []));
    marker = out.hasMoreResults ? out.marker : undefined;
    if (!marker) break;
  }
  const instances: PipelineInstance[] = [];
  for (const batch of chunks(ids, 25)) {
    const out = await call(
      'DescribeObjects',
      client.send(
        new dp.DescribeObjectsCommand({ pipelineId, objectIds: batch, evaluateExpressions: false }),
      ),
    );
    for (const o of out.pipelineObjects ?? []) {
      const f = fieldMap(o.fields);
      instances.push({
        id: o.id ?? '',
        component: f.get('@componentParent') ?? o.name ?? '',
        status: f.get('@status') ?? 'UNKNOWN',
        error: f.get('errorMessage'),
      });
    }
  }
  const status = classifyPipelineRun(state, instances);
  return { ...status, detail: `pipeline ${pipelineId}: ${status.detail}` };
}
