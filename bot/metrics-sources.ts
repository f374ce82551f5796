// The state a metrics scrape reads from Redis (infra/metrics.ts calls these at scrape time, cached
// briefly): every queue's job counts, the worker heartbeat, each configured dump job's check times and
// open alerts, maintenance windows by state, and the migration's requests. The same on every process.
import type { Config } from '../infra/config.js';
import type { ScrapeSources } from '../infra/metrics.js';
import { readHeartbeat } from '../infra/metrics-heartbeat.js';
import type { Redis } from '../infra/redis.js';
import { dumpHealth } from '../jobs/dumps/index.js';
import { windowsEndingAfter } from '../jobs/maintenance/index.js';
import { migrationSnapshot } from '../jobs/migration/index.js';
import type { Queues } from '../jobs/queues.js';
import { ALL_QUEUE_NAMES } from '../jobs/registry.js';

export function scrapeSources(opts: {
  redis: Redis;
  prefix: string;
  config: Config;
  queues: Queues;
}): ScrapeSources {
  const store = { redis: opts.redis, prefix: opts.prefix };
  const jobNames = (opts.config.dumps?.jobs ?? []).map((j) => j.name);
  return {
    queues: ALL_QUEUE_NAMES.map((name) => opts.queues.queue(name)),
    heartbeat: () => readHeartbeat(opts.redis, opts.prefix),
    ...(jobNames.length
      ? {
          dumps: async () => {
            const jobs = await dumpHealth(store, jobNames);
            let open = 0;
            let acked = 0;
            for (const j of jobs) {
              if (j.alertState === 'open') open += 1;
              else if (j.alertState === 'acked') acked += 1;
            }
            return {
              jobs: jobs.map((j) => ({ job: j.job, lastCheckAt: j.lastCheckAt, lastPassAt: j.lastPassAt })),
              alerts: { open, acked },
            };
          },
        }
      : {}),
    maintenance: async () => {
      const counts: Record<string, number> = {};
      for (const w of await windowsEndingAfter(store, Number.NEGATIVE_INFINITY)) {
        counts[w.state] = (counts[w.state] ?? 0) + 1;
      }
      return counts;
    },
    ...(opts.config.migration ? { migration: () => migrationSnapshot(store, opts.config) } : {}),
  };
}
