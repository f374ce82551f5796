// The one registry of job kinds: queue name <-> data type <-> processor. The bot enqueues through it,
// the workers start one BullMQ worker per entry, and /chatops jobs lists these queues.
import type { JobKind } from './common.js';
import { DDB_EXPORT_QUEUE, ddbExportJob } from './ddb-export.js';
import { DUMPS_QUEUE, dumpsJob } from './dumps.js';
import { MAINTENANCE_QUEUE, maintenanceJob } from './maintenance.js';
import { MIGRATION_QUEUE, migrationJob } from './migration/job.js';
import { RESET_PASSWORD_QUEUE, resetPasswordJob } from './reset-password.js';

export const JOB_KINDS = {
  [RESET_PASSWORD_QUEUE]: resetPasswordJob,
  [DDB_EXPORT_QUEUE]: ddbExportJob,
  [MAINTENANCE_QUEUE]: maintenanceJob,
  [DUMPS_QUEUE]: dumpsJob,
  [MIGRATION_QUEUE]: migrationJob,
} as const;

export type QueueName = keyof typeof JOB_KINDS;

/** The job data type of a queue. */
export type JobDataOf<Q extends QueueName> =
  (typeof JOB_KINDS)[Q] extends JobKind<infer D, infer _R> ? D : never;

export const QUEUE_NAMES = Object.keys(JOB_KINDS) as QueueName[];

/** A kind from the registry, widened for code that handles every kind alike (workers, listings). */
export type AnyJobKind = (typeof JOB_KINDS)[QueueName];
