// The ddb-export queue, what its jobs carry (names and ids, never a secret), and the config they read.
import type { Config } from '../../infra/config.js';
import { UserError } from '../../infra/errors.js';
import type { BaseJobData, JobContext } from '../common.js';

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

/** What a step of the job is given. */
export type DdbExportContext = JobContext<DdbExportData>;

/** What one status check saw. */
export interface RunStatus {
  outcome: 'running' | 'finished' | 'failed';
  detail: string;
}

/** Deterministic per command and table: a retried Slack request cannot queue the same export twice. */
export function ddbJobId(requestId: string, table: string): string {
  return `ddb-${requestId}-${table}`;
}

/** While one export of a table runs with an engine, another request for it is reported, not run. */
export function ddbDedupKey(engine: DdbEngine, table: string): string {
  return `ddb/${engine}/${table}`;
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
