// The dumps queue and what its jobs carry (job names, times and alert ids; never a secret), and the
// deterministic ids that make each fire, report and click run once.
import type { BaseJobData } from '../common.js';

export const DUMPS_QUEUE = 'dumps';
/** Job scheduler ids are `dump-<job name>`; others in the queue are not ours to remove. */
export const SCHEDULER_PREFIX = 'dump-';
/** Who scheduled work is attributed to in the audit trail and in AWS session names. */
export const SCHEDULER_USER = 'scheduler';

export type CheckReason = 'scheduled' | 'manual' | 'recheck' | 'report-ok' | 'window-end';

export type DumpsData =
  | (BaseJobData & { kind: 'tick'; job: string })
  | (BaseJobData & { kind: 'check'; jobs: string[]; reason: CheckReason; fireAt?: number })
  | (BaseJobData & { kind: 'report'; job: string; exitCode?: number; message?: string; at: number })
  | (BaseJobData & { kind: 'refresh'; alertId: string });

export interface DumpsResult {
  kind: DumpsData['kind'];
  /** One short line per dump job (no secrets: names, verdicts, sizes). */
  lines: string[];
}

export function schedulerId(job: string): string {
  return `${SCHEDULER_PREFIX}${job}`;
}

/** The job id of the check of one fire: the same from every tick of that fire. */
export function scheduledCheckId(job: string, fireAt: number): string {
  return `dc-${job}-${fireAt}`;
}
