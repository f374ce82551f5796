// When dump checks run (jobs/dumps/schedule.ts), on the real Redis with BullMQ's own queue: the job
// schedulers follow the config, a tick stands for its fire time, and a timed check is queued once.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../../../infra/config.js';
import type { WorkerDeps } from '../../../../jobs/common.js';
import { DUMPS_QUEUE } from '../../../../jobs/dumps/data.js';
import { fireTimeOf, queueCheckAt, syncDumpSchedulers } from '../../../../jobs/dumps/schedule.js';
import { createQueues } from '../../../../jobs/queues.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const BASE = `test-dumps-schedule-${randomUUID()}`;
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
  const keys = await redis.keys(`${BASE}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const T0 = 1_800_000_000_000;
const clock = { now: () => T0 };

function config(jobs: { name: string; cron: string }[], timezone = 'Asia/Tokyo'): Config {
  return parseConfig(
    {
      timezone,
      accounts: { gghouse: { id: '343881458651', region: 'ap-northeast-1' } },
      dumps: {
        account: 'gghouse',
        bucket: 'jram-gghouse',
        jobs: jobs.map((j) => ({ ...j, prefix: 'dumps/' })),
      },
    },
    '/tmp',
  );
}

/** Worker deps with a queue set of their own (what the schedule uses: config, queues, clock). */
function depsFor(cfg: Config): WorkerDeps {
  const queues = createQueues({ connection: redis, prefix: `${BASE}-${randomUUID()}`, config: cfg, clock });
  closers.push(() => queues.close());
  return { config: cfg, queues, clock } as unknown as WorkerDeps;
}

describe('dump check schedulers', () => {
  it('one per dump job with its cron in the zone; unchanged ones kept, changed ones upserted, gone ones removed', async () => {
    const deps = depsFor(
      config([
        { name: 'ggh_datatransit', cron: '30 5 * * *' },
        { name: 'TenantsALL', cron: '0 6 * * *' },
      ]),
    );
    const q = deps.queues.queue(DUMPS_QUEUE);
    // Someone else's scheduler in the same queue is not ours to remove.
    await q.upsertJobScheduler('other-report', { pattern: '0 7 * * *' }, { name: 'tick' });

    expect(await syncDumpSchedulers(deps)).toEqual({
      upserted: ['dump-ggh_datatransit', 'dump-TenantsALL'],
      removed: [],
    });
    const first = await q.getJobSchedulers(0, -1, true);
    expect(first.find((s) => s.key === 'dump-ggh_datatransit')).toMatchObject({
      name: 'tick',
      pattern: '30 5 * * *',
      tz: 'Asia/Tokyo',
      template: {
        data: {
          kind: 'tick',
          job: 'ggh_datatransit',
          requestId: 'dump-ggh_datatransit',
          requester: 'scheduler',
        },
      },
    });
    expect(await syncDumpSchedulers(deps)).toEqual({ upserted: [], removed: [] });

    const changed = { ...deps, config: config([{ name: 'ggh_datatransit', cron: '45 5 * * *' }]) };
    expect(await syncDumpSchedulers(changed)).toEqual({
      upserted: ['dump-ggh_datatransit'],
      removed: ['dump-TenantsALL'],
    });
    const now = await q.getJobSchedulers(0, -1, true);
    expect(now.map((s) => [s.key, s.pattern]).sort()).toEqual([
      ['dump-ggh_datatransit', '45 5 * * *'],
      ['other-report', '0 7 * * *'],
    ]);

    const moved = { ...deps, config: config([{ name: 'ggh_datatransit', cron: '45 5 * * *' }], 'Etc/UTC') };
    expect(await syncDumpSchedulers(moved)).toEqual({ upserted: ['dump-ggh_datatransit'], removed: [] });
  });

  it("a tick stands for its fire: the time in BullMQ's scheduler job id, else prevMillis, else when it was made", () => {
    expect(fireTimeOf({ id: 'repeat:dump-ggh_datatransit:1800000000000', timestamp: 5, opts: {} })).toBe(
      1_800_000_000_000,
    );
    expect(fireTimeOf({ id: 'manual', timestamp: 5, opts: { prevMillis: 7 } as never })).toBe(7);
    expect(fireTimeOf({ id: undefined, timestamp: 5, opts: {} })).toBe(5);
  });
});

describe('a timed check', () => {
  it('is queued once per id, delayed to its time, as the scheduler', async () => {
    const deps = depsFor(config([{ name: 'ggh_datatransit', cron: '30 5 * * *' }]));
    const check = {
      job: 'ggh_datatransit',
      reason: 'window-end' as const,
      fireAt: T0 - 1000,
      runAt: T0 + 60_000,
    };
    await queueCheckAt(deps, 'dwe-x', check);
    await queueCheckAt(deps, 'dwe-x', { ...check, runAt: T0 + 120_000 });
    const q = deps.queues.queue(DUMPS_QUEUE);
    const jobs = await q.getJobs(['delayed', 'waiting']);
    expect(jobs.map((j) => [j.id, j.name, j.data, j.delay])).toEqual([
      [
        'dwe-x',
        'dwe-x',
        {
          kind: 'check',
          jobs: ['ggh_datatransit'],
          reason: 'window-end',
          fireAt: T0 - 1000,
          requestId: 'dwe-x',
          requester: 'scheduler',
        },
        60_000,
      ],
    ]);
  });
});
