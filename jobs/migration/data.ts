// The migration queue and what its jobs carry (ids and names only, never a secret).
import type { BaseJobData } from '../common.js';

export const MIGRATION_QUEUE = 'migration';

/** The job scheduler of the watchdog (jobs/migration/watchdog.ts). */
export const WATCHDOG_ID = 'mig-watchdog';

export type MigrationData = BaseJobData &
  (
    | { op: 'request'; start: number; end: number; windowId?: string; windowCreated?: boolean }
    | { op: 'run'; id: string }
    | { op: 'expire'; id: string }
    /** A failed request's rollback (`id`), or one no request owns: the instance the command named. */
    | { op: 'rollback3'; id?: string; account?: string; instanceId?: string }
    | { op: 'status' }
    | { op: 'check'; phase: 1 | 2 }
    | { op: 'watch'; cron: string; cutoverAt: number; n: number; day: string }
    | { op: 'cleanup' }
    | { op: 'watchdog' }
  );

export interface MigrationResult {
  op: string;
  outcome: string;
  /** A watchdog pass that found nothing to do: no audit row (JobKind.quietWhen). */
  quiet?: boolean;
}

/** The deterministic id of a request's expiry job. */
export const expireJobId = (id: string) => `mig-expire-${id}`;
