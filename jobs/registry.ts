// The one registry of job kinds: queue name <-> data type <-> processor. The bot enqueues through it,
// the workers start one BullMQ worker per entry, and /chatops jobs lists the queues of JOB_KINDS.
import type { JobKind } from './common.js';
import { DDB_EXPORT_QUEUE, ddbExportJob } from './ddb-export/index.js';
import { DUMPS_QUEUE, dumpsJob } from './dumps/job.js';
import { HOUSEKEEPING_QUEUE, housekeepingJob } from './housekeeping.js';
import { MAINTENANCE_QUEUE, maintenanceJob } from './maintenance/job.js';
import { MIGRATION_QUEUE, migrationJob } from './migration/job.js';
import { RESET_PASSWORD_QUEUE, resetPasswordJob } from './reset-password/index.js';

/** The kinds people ask for (listed by /chatops jobs). */
export const JOB_KINDS = {
  [RESET_PASSWORD_QUEUE]: resetPasswordJob,
  [DDB_EXPORT_QUEUE]: ddbExportJob,
  [MAINTENANCE_QUEUE]: maintenanceJob,
  [DUMPS_QUEUE]: dumpsJob,
  [MIGRATION_QUEUE]: migrationJob,
} as const;

/** Every kind a worker runs: the above and housekeeping (heartbeat, Home refreshes), which nobody asks for. */
export const WORKER_KINDS = { ...JOB_KINDS, [HOUSEKEEPING_QUEUE]: housekeepingJob } as const;

export type QueueName = keyof typeof WORKER_KINDS;

/** The job data type of a queue. */
export type JobDataOf<Q extends QueueName> =
  (typeof WORKER_KINDS)[Q] extends JobKind<infer D, infer _R> ? D : never;

/** The queues of the kinds people ask for (what /chatops jobs and the playground list). */
export const QUEUE_NAMES = Object.keys(JOB_KINDS) as (keyof typeof JOB_KINDS)[];
/** Every queue (what the metrics count). */
export const ALL_QUEUE_NAMES = Object.keys(WORKER_KINDS) as QueueName[];

/** A kind from the registry, widened for code that handles every kind alike (workers, listings). */
export type AnyJobKind = (typeof WORKER_KINDS)[QueueName];
