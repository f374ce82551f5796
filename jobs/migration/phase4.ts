// Phase 4 (pure): the order the seed cuts the crons over in, and when a cutover's two watches look
// for the job's next uploads.
import type { Config } from '../../infra/config.js';
import { nextFire } from '../../infra/cron.js';
import { formatLocal } from '../../infra/times.js';
import { dumpJob } from '../dumps/index.js';

/** The seed's cutover order: lowest risk first, the full dump last. */
export const CRON_ORDER = [
  'ggh_contractstatus',
  'ggh_contractstatusALL',
  'TenantsALL',
  'MovingsALL',
  'ggh_datatransit',
];

/**
 * The two watches of a cutover: at the job's next two scheduled runs plus its grace time, each
 * looks for that day's upload under the job's prefix (dumps/, where the new script now writes).
 */
export function watchTimes(
  config: Config,
  cron: string,
  from: number,
): { n: number; at: number; day: string }[] {
  const job = dumpJob(config, cron);
  if (!job) return [];
  const zone = config.timezone;
  const first = nextFire(job.cron, zone, from);
  const second = nextFire(job.cron, zone, first);
  const grace = job.graceMinutes * 60_000;
  return [first, second].map((fire, i) => ({
    n: i + 1,
    at: fire + grace,
    day: formatLocal(fire, zone).slice(0, 10),
  }));
}
