// The dumps worker's world for its unit tests: the real adapters of a worker (fake Slack, real Redis)
// with one dump job configured and no AWS: what needs S3 (a check) runs against moto in
// test/integration/dumps.test.ts.
import type { JobContext } from '../../../../jobs/common.js';
import type { DumpsData } from '../../../../jobs/dumps/data.js';
import { testConfig } from '../../../helpers/config.js';
import { startWorkerWorld, type WorkerWorld } from '../../../helpers/worker-world.js';

export const JOB = 'ggh_datatransit';
export const ALERTS = 'C0ALERTS';

export function dumpsWorld(extra: Record<string, unknown> = {}): Promise<WorkerWorld> {
  return startWorkerWorld({
    config: testConfig({
      dumps: {
        account: 'osio',
        bucket: 'jram-gghouse',
        mention: '@here',
        jobs: [{ name: JOB, cron: '30 5 * * *', prefix: 'dumps/' }],
      },
      ...extra,
    }),
  });
}

/** What the alert functions use of a job's context: its deps and its logger. */
export function contextOf(w: WorkerWorld): JobContext<DumpsData> {
  return { deps: w.deps, log: w.deps.logger } as unknown as JobContext<DumpsData>;
}
