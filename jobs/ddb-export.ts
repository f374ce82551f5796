import { createHash } from 'node:crypto';
import type { Job } from 'bullmq';
import { awsErrorName, awsFailure } from '../infra/aws-errors.js';
import type { Config } from '../infra/config.js';
import { ChatopsError, TransientError, UserError, userMessage } from '../infra/errors.js';
import type { BaseJobData, JobContext, JobKind } from './common.js';
import {
  ACTIVITY_ID,
  assertSafeNames,
  exportDefinition,
  logLocation,
  outputLocation,
} from './ddb-export-definition.js';
import {
  allTerminal,
  cardKey,
  formatDuration,
  type ItemState,
  readCard,
  refreshCard,
  setItem,
  slackSafe,
  waitReady,
} from './progress-card.js';

export const DDB_EXPORT_QUEUE = 'ddb-export';

export type DdbEngine = 'datapipeline' | 'native';

/** Job data: names and ids only. `phase` and the ids saved along the way let a retry or a restart resume. */
export interface DdbExportData extends BaseJobData {
  table: string;
  engine: DdbEngine;
  /** start: nothing done; define/activate: the pipeline exists; watch: the run was started. */
  phase?: 'start' | 'define' | 'activate' | 'watch';
  pipelineId?: string;
  /** The pipeline existed before this job and was only activated. */
  reused?: boolean;
  exportArn?: string;
  /** Validation warnings accepted when the definition was put (the cross-account bucket). */
  warnings?: number;
  /** When this job first ran, and when the export run was started (epoch ms). */
  startedAt?: number;
  runStartedAt?: number;
  /** Status checks done, and failed checks in a row. */
  polls?: number;
  pollErrors?: number;
}

export interface DdbExportResult {
  table: string;
  engine: DdbEngine;
  location: string;
  pipelineId?: string;
  exportArn?: string;
  seconds: number;
}

export type DdbExportConfig = NonNullable<Config['ddbExport']>;

/** Deterministic per command and table: a retried Slack request cannot queue the same export twice. */
export function ddbJobId(requestId: string, table: string): string {
  return `ddb-${requestId}-${table}`;
}

/** While one export of a table runs with an engine, another request for it is reported, not run. */
export function ddbDedupKey(engine: DdbEngine, table: string): string {
  return `ddb/${engine}/${table}`;
}

/** The native export's idempotency token: the same request and table always ask for the same export. */
export function exportClientToken(requestId: string, table: string): string {
  return createHash('sha256').update(`${requestId}/${table}`).digest('hex').slice(0, 40);
}

/** The ddbExport section, or a UserError saying how to add it. */
export function ddbExportConfig(config: Config): DdbExportConfig {
  if (!config.ddbExport) {
    throw new UserError(
      'not_configured',
      "DynamoDB exports are not configured: add ddbExport (sourceAccount, targetAccount, bucket) to the bot's config",
    );
  }
  return config.ddbExport;
}

export function engineName(engine: DdbEngine): string {
  return engine === 'native' ? 'DynamoDB export to S3' : 'Data Pipeline';
}

/** How long the card's state is kept: the longest watch plus two days to read it. */
export function cardTtlSeconds(cfg: DdbExportConfig): number {
  return Math.ceil(cfg.watchTimeoutMinutes * 60) + 2 * 86_400;
}

/** Gap before status check number `polls` (0 = the first): doubling from pollStartSeconds up to pollMaxSeconds. */
export function pollDelayMs(cfg: DdbExportConfig, polls: number): number {
  const s = Math.min(cfg.pollStartSeconds * 2 ** Math.min(polls, 30), cfg.pollMaxSeconds);
  return Math.max(10, Math.round(s * 1000));
}

const DEFAULT_MANUAL: Record<DdbEngine, string> = {
  datapipeline:
    'https://docs.aws.amazon.com/datapipeline/latest/DeveloperGuide/dp-importexport-ddb-part1.html',
  native: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataImport.HowItWorks.html',
};

/** The runbook's follow-up for the person who asked for the backup (seed 003, "Follow up"). */
export function followUpText(
  cfg: DdbExportConfig,
  engine: DdbEngine,
  done: string[],
  failed: string[],
): string {
  const list = done.map((t) => `\`${t}\``).join(', ');
  const how = engine === 'native' ? "used DynamoDB's export to S3" : 'used a Data Pipeline';
  const which = failed.length
    ? `of the tables ${list} (${failed.map((t) => `\`${t}\``).join(', ')} could not be exported: see the progress card)`
    : `of all the requested tables (${list})`;
  const text = [
    `I have created a backup ${which} and ${how} to have that backup created in the "${cfg.targetAccount}" account.`,
    '',
    'In order to restore the data to your tables, follow this manual:',
    '',
    cfg.restoreManualUrl ?? DEFAULT_MANUAL[engine],
    '',
    `The bucket name which holds all the backups is called "${cfg.bucket}" (you should have read access to it). ` +
      `Each table's backup is under backups/<table>/ in it, one folder per export.`,
    '',
    'Good luck!',
  ];
  return `:white_check_mark: Export done. The follow-up for whoever asked for the backup:\n${text.map((l) => `>${l}`).join('\n')}`;
}

/** What one status check saw. */
export interface RunStatus {
  outcome: 'running' | 'finished' | 'failed';
  detail: string;
}

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

// Errors worth another try: throttling (awsFailure), and AWS's own 5xx answers.
function awsError(err: unknown, what: string): Error {
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  if (awsErrorName(err) && status !== undefined && status >= 500) {
    return new TransientError(
      `aws_${awsErrorName(err)}`,
      `AWS failed ${what}: ${awsErrorName(err)} (will retry)`,
    );
  }
  return awsFailure(err, what);
}

async function call<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw awsError(err, what);
  }
}

type Ctx = JobContext<DdbExportData>;
/** What updating the progress card needs. */
type CardCtx = Pick<Ctx, 'deps' | 'log'>;

function store(ctx: CardCtx) {
  return { redis: ctx.deps.redis, prefix: ctx.deps.prefix };
}

/** Moves this table on the card and re-renders it; a Redis or Slack hiccup here never fails the export. */
async function mark(ctx: CardCtx, d: DdbExportData, state: ItemState, detail?: string): Promise<void> {
  try {
    await setItem(store(ctx), d.requestId, d.table, { state, detail, startedAt: d.startedAt });
    await refreshCard({ ...store(ctx), notifier: ctx.deps.notifier, log: ctx.log }, d.requestId);
  } catch (err) {
    ctx.log.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'could not update the progress card',
    );
  }
}

/** Once every table of the command is done and at least one succeeded, the requester gets the follow-up, once. */
async function followUpWhenAllDone(ctx: CardCtx, d: DdbExportData, cfg: DdbExportConfig): Promise<void> {
  try {
    const card = await readCard(store(ctx), d.requestId);
    if (!card || !allTerminal(card)) return;
    const names = card.meta.items;
    const done = names.filter((n) => card.items.get(n)?.state === 'finished');
    const failed = names.filter((n) => card.items.get(n)?.state === 'failed');
    if (!done.length) return;
    if (!(await ctx.deps.redis.hsetnx(cardKey(ctx.deps.prefix, d.requestId), 'followup', '1'))) return;
    await ctx.deps.notifier.post(d.requester, followUpText(cfg, d.engine, done, failed));
  } catch (err) {
    ctx.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not send the follow-up');
  }
}

async function describeTable(ctx: Ctx, cfg: DdbExportConfig, d: DdbExportData): Promise<string> {
  const ddb = await import('@aws-sdk/client-dynamodb');
  const client = ctx.deps.aws.client(ddb.DynamoDBClient, cfg.sourceAccount, d.requester);
  try {
    const out = await client.send(new ddb.DescribeTableCommand({ TableName: d.table }));
    return out.Table?.TableArn ?? '';
  } catch (err) {
    const name = awsErrorName(err);
    if (name === 'ResourceNotFoundException' || name === 'TableNotFoundException') {
      const a = ctx.deps.aws.account(cfg.sourceAccount);
      throw new UserError(
        'table_not_found',
        `table ${d.table} does not exist in ${cfg.sourceAccount} (${a.id}, ${a.region}): check the name`,
      );
    }
    throw awsError(err, `DescribeTable ${d.table}`);
  }
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

async function startPipeline(job: Job<DdbExportData>, ctx: Ctx, cfg: DdbExportConfig): Promise<void> {
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
    await ctx.save({ phase: 'watch', runStartedAt: Date.now(), polls: 0, pollErrors: 0 });
  }
}

function pitrOff(cfg: DdbExportConfig, table: string): UserError {
  return new UserError(
    'pitr_disabled',
    `point-in-time recovery is off for table ${table} in ${cfg.sourceAccount}, and a native export needs it. ` +
      'Nothing was changed. Turn it on (DynamoDB console: the table, Backups, Point-in-time recovery, Edit; or ' +
      `aws dynamodb update-continuous-backups --table-name ${table} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true) ` +
      'and run the command again, or export without --native to use Data Pipeline.',
  );
}

async function startNativeExport(job: Job<DdbExportData>, ctx: Ctx, cfg: DdbExportConfig): Promise<void> {
  const d = job.data;
  const ddb = await import('@aws-sdk/client-dynamodb');
  const client = ctx.deps.aws.client(ddb.DynamoDBClient, cfg.sourceAccount, d.requester);
  await mark(ctx, d, 'activating', 'checking the table and its point-in-time recovery');
  const tableArn = await describeTable(ctx, cfg, d);
  const backups = await call(
    'DescribeContinuousBackups',
    client.send(new ddb.DescribeContinuousBackupsCommand({ TableName: d.table })),
  );
  const pitr =
    backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus;
  if (pitr !== 'ENABLED') throw pitrOff(cfg, d.table);
  await mark(ctx, d, 'activating', 'requesting the export');
  const owner = ctx.deps.aws.account(cfg.targetAccount).id;
  let exportArn: string | undefined;
  try {
    const out = await client.send(
      new ddb.ExportTableToPointInTimeCommand({
        TableArn: tableArn,
        S3Bucket: cfg.bucket,
        S3BucketOwner: owner,
        S3Prefix: `backups/${d.table}`,
        ExportFormat: 'DYNAMODB_JSON',
        ClientToken: exportClientToken(d.requestId, d.table),
      }),
    );
    exportArn = out.ExportDescription?.ExportArn;
  } catch (err) {
    const name = awsErrorName(err);
    if (name === 'PointInTimeRecoveryUnavailableException') throw pitrOff(cfg, d.table);
    if (name === 'ExportConflictException') {
      throw new UserError('export_conflict', `an export of ${d.table} to the same place is already running`);
    }
    throw awsError(err, `ExportTableToPointInTime ${d.table}`);
  }
  if (!exportArn) throw new TransientError('no_export_arn', 'DynamoDB returned no export ARN');
  ctx.log.info({ exportArn, owner }, 'export requested');
  await ctx.save({ exportArn, phase: 'watch', runStartedAt: Date.now(), polls: 0, pollErrors: 0 });
}

async function pipelineStatus(ctx: Ctx, cfg: DdbExportConfig, d: DdbExportData): Promise<RunStatus> {
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
  const since = new Date((d.runStartedAt ?? Date.now()) - 5 * 60_000).toISOString().slice(0, 19);
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

async function nativeStatus(ctx: Ctx, cfg: DdbExportConfig, d: DdbExportData): Promise<RunStatus> {
  const ddb = await import('@aws-sdk/client-dynamodb');
  const client = ctx.deps.aws.client(ddb.DynamoDBClient, cfg.sourceAccount, d.requester);
  const out = await call(
    'DescribeExport',
    client.send(new ddb.DescribeExportCommand({ ExportArn: d.exportArn as string })),
  );
  const e = out.ExportDescription;
  if (e?.ExportStatus === 'COMPLETED') {
    return { outcome: 'finished', detail: `export finished (${e.ItemCount ?? '?'} items)` };
  }
  if (e?.ExportStatus === 'FAILED') {
    return {
      outcome: 'failed',
      detail: `the export failed: ${e.FailureCode ?? 'no code'}: ${e.FailureMessage ?? 'no message'}`,
    };
  }
  return { outcome: 'running', detail: `export ${e?.ExportStatus ?? 'IN_PROGRESS'}` };
}

const MAX_POLL_ERRORS = 5;

/** One status check; unless the run ended, the job parks itself until the next one. */
async function watch(job: Job<DdbExportData>, ctx: Ctx, cfg: DdbExportConfig): Promise<RunStatus> {
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
    return ctx.delayUntil(Date.now() + pollDelayMs(cfg, polls));
  }
  if (status.outcome !== 'running') return status;
  const timeoutMs = cfg.watchTimeoutMinutes * 60_000;
  const runFor = Date.now() - (d.runStartedAt ?? Date.now());
  if (runFor >= timeoutMs) {
    throw new UserError(
      'watch_timeout',
      `still not finished after ${formatDuration(runFor)} (${status.detail}); the bot stopped watching and left it running`,
    );
  }
  await mark(ctx, d, 'running', status.detail);
  await ctx.save({ polls: polls + 1, pollErrors: 0 });
  const delay = Math.min(pollDelayMs(cfg, polls + 1), timeoutMs - runFor + 10);
  return ctx.delayUntil(Date.now() + delay);
}

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
      await ctx.save({ startedAt: Date.now(), phase: job.data.phase ?? 'start' });
      await waitReady(store(ctx), job.data.requestId);
    }
    if (job.data.phase !== 'watch') {
      if (job.data.engine === 'native') await startNativeExport(job, ctx, cfg);
      else await startPipeline(job, ctx, cfg);
      const started = job.data.pipelineId ? `pipeline ${job.data.pipelineId} activated` : 'export requested';
      await mark(ctx, job.data, 'running', started);
      return ctx.delayUntil(Date.now() + pollDelayMs(cfg, 0));
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
      seconds: Math.round((Date.now() - (d.startedAt ?? Date.now())) / 1000),
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
