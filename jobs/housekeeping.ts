// Housekeeping jobs, with nobody behind them: the worker heartbeat (a job scheduler every minute whose
// job records the time in Redis, exported by every process as chatops_worker_heartbeat_timestamp_seconds)
// and the App Home refresh (debounced: every change in one slot of HOME_REFRESH_MS asks for the same
// delayed job, which republishes the Home tab of the people who opened it lately once the slot is over).
// Not listed by /chatops jobs; no audit entries.
import type { Job } from 'bullmq';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import { touchHeartbeat } from '../infra/metrics-heartbeat.js';
import type { Redis } from '../infra/redis.js';
import type { BaseJobData, JobKind, WorkerDeps } from './common.js';
import type { Queues } from './queues.js';

export const HOUSEKEEPING_QUEUE = 'housekeeping';
export const HEARTBEAT_SCHEDULER = 'heartbeat';
/** How often a worker proves it takes jobs. */
export const HEARTBEAT_EVERY_MS = 60_000;
/** Home tab refreshes are at most this often; a change is shown at most this long (plus a job's run) later. */
export const HOME_REFRESH_MS = 5_000;
/** The Home tabs of people who opened theirs this recently are refreshed on a change (others on their next open). */
export const HOME_VIEWER_TTL_MS = 24 * 3_600_000;
/** At most this many Home tabs are republished per refresh (the most recently opened). */
export const HOME_REFRESH_MAX_VIEWERS = 100;

export type HousekeepingData = BaseJobData & { kind: 'heartbeat' | 'home' };

const viewersKey = (prefix: string) => `${prefix}:home:viewers`;

/** Records that `user` opened their Home tab at `now` (so changes refresh it for a while). */
export async function noteHomeViewer(redis: Redis, prefix: string, user: string, now: number): Promise<void> {
  await redis
    .multi()
    .zadd(viewersKey(prefix), now, user)
    .zremrangebyscore(viewersKey(prefix), '-inf', now - HOME_VIEWER_TTL_MS)
    .pexpire(viewersKey(prefix), HOME_VIEWER_TTL_MS)
    .exec();
}

/** The people whose Home tab a refresh republishes: opened within HOME_VIEWER_TTL_MS, newest first. */
export async function homeViewers(redis: Redis, prefix: string, now: number): Promise<string[]> {
  return redis.zrevrangebyscore(
    viewersKey(prefix),
    '+inf',
    now - HOME_VIEWER_TTL_MS,
    'LIMIT',
    0,
    HOME_REFRESH_MAX_VIEWERS,
  );
}

/**
 * Asks for the Home refresh of the current slot: one delayed job per slot (its id is the slot), run
 * when the slot ends, so it reads every change made in it. Adding an id that exists adds nothing.
 */
export async function requestHomeRefresh(queues: Queues, clock: Clock): Promise<void> {
  const now = clock.now();
  const slot = Math.floor(now / HOME_REFRESH_MS);
  const id = `home-${slot}`;
  const delay = Math.max(0, (slot + 1) * HOME_REFRESH_MS - now);
  await queues
    .queue(HOUSEKEEPING_QUEUE)
    .add(
      'home',
      { kind: 'home', requestId: id, requester: 'scheduler' },
      { jobId: id, delay, attempts: 1, removeOnComplete: true, removeOnFail: 10 },
    );
}

/**
 * `homeChanged` for a process: asks for the current slot's refresh at most once per slot from this
 * process (the job's id already makes a second ask a no-op in Redis; this saves the round trip on
 * every command and job). Never throws: a failed ask is logged and asked again on the next change.
 */
export function homeRefresher(queues: Queues, clock: Clock, log: Logger): () => void {
  let asked = -1;
  return () => {
    const slot = Math.floor(clock.now() / HOME_REFRESH_MS);
    if (slot === asked) return;
    asked = slot;
    requestHomeRefresh(queues, clock).catch((err: unknown) => {
      if (asked === slot) asked = -1;
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not ask for a Home refresh');
    });
  };
}

/** Registers (or keeps) the heartbeat's job scheduler: every HEARTBEAT_EVERY_MS, first at once. */
export async function syncHeartbeatScheduler(deps: WorkerDeps): Promise<void> {
  await deps.queues.queue(HOUSEKEEPING_QUEUE).upsertJobScheduler(
    HEARTBEAT_SCHEDULER,
    { every: HEARTBEAT_EVERY_MS },
    {
      name: 'heartbeat',
      data: { kind: 'heartbeat', requestId: HEARTBEAT_SCHEDULER, requester: 'scheduler' },
      opts: { attempts: 1, removeOnComplete: true, removeOnFail: 10 },
    },
  );
}

export const housekeepingJob: JobKind<HousekeepingData, number> = {
  queue: HOUSEKEEPING_QUEUE,
  action: 'housekeeping',
  housekeeping: true,
  describe: (d) => d.kind,
  async onWorkerStart(deps) {
    await syncHeartbeatScheduler(deps);
  },
  async run(job: Job<HousekeepingData, number>, ctx) {
    const { deps } = ctx;
    if (job.data.kind === 'heartbeat') {
      await touchHeartbeat(deps.redis, deps.prefix, deps.clock);
      return 1;
    }
    if (!deps.publishHome) return 0;
    const users = await homeViewers(deps.redis, deps.prefix, deps.clock.now());
    if (users.length) await deps.publishHome(users);
    return users.length;
  },
};
