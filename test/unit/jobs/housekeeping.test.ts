// Housekeeping on the real Redis and BullMQ: the Home tab's viewers (recent, newest first, capped),
// one debounced refresh job per slot, the heartbeat's job scheduler, and what each job does.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../infra/logger.js';
import { readHeartbeat } from '../../../infra/metrics-heartbeat.js';
import {
  HEARTBEAT_EVERY_MS,
  HEARTBEAT_SCHEDULER,
  HOME_REFRESH_MAX_VIEWERS,
  HOME_REFRESH_MS,
  HOME_VIEWER_TTL_MS,
  HOUSEKEEPING_QUEUE,
  homeRefresher,
  homeViewers,
  housekeepingJob,
  noteHomeViewer,
  requestHomeRefresh,
  syncHeartbeatScheduler,
} from '../../../jobs/housekeeping.js';
import { createQueues } from '../../../jobs/queues.js';
import { testConfig } from '../../helpers/config.js';
import { until } from '../../helpers/wait.js';
import { startWorkerWorld, type WorkerWorld } from '../../helpers/worker-world.js';

const T0 = Math.floor(1_800_000_000_000 / HOME_REFRESH_MS) * HOME_REFRESH_MS;
let now = T0;
const clock = { now: () => now };
const published: string[][] = [];
let w: WorkerWorld;
beforeAll(async () => {
  w = await startWorkerWorld({
    clock,
    overrides: { publishHome: async (users) => void published.push([...users]) },
  });
});
afterAll(() => w.close());

const housekeeping = () => w.deps.queues.queue(HOUSEKEEPING_QUEUE);

describe('Home viewers', () => {
  it('are the people who opened Home within a day, newest first, at most a hundred', async () => {
    const p = `${w.prefix}:viewers`;
    await noteHomeViewer(w.redis, p, 'U0OLD', T0 - HOME_VIEWER_TTL_MS - 1);
    await noteHomeViewer(w.redis, p, 'U0ALICE', T0 - 60_000);
    await noteHomeViewer(w.redis, p, 'U0BOB', T0);
    expect(await homeViewers(w.redis, p, T0)).toEqual(['U0BOB', 'U0ALICE']);
    // Noting a viewer also drops those past the window, and the key lives a day after the last one.
    expect(await w.redis.zscore(`${p}:home:viewers`, 'U0OLD')).toBeNull();
    expect(await w.redis.pttl(`${p}:home:viewers`)).toBeGreaterThan(HOME_VIEWER_TTL_MS - 5_000);
    for (let i = 0; i < HOME_REFRESH_MAX_VIEWERS + 5; i++) await noteHomeViewer(w.redis, p, `U${i}`, T0 + i);
    const many = await homeViewers(w.redis, p, T0 + 200);
    expect(many).toHaveLength(HOME_REFRESH_MAX_VIEWERS);
    expect(many[0]).toBe(`U${HOME_REFRESH_MAX_VIEWERS + 4}`);
  });
});

describe('Home refreshes', () => {
  it('are one delayed job per slot, run when the slot ends, however many changes ask', async () => {
    now = T0 + 1_000;
    await Promise.all(Array.from({ length: 5 }, () => requestHomeRefresh(w.deps.queues, clock)));
    now = T0 + HOME_REFRESH_MS + 4_000;
    await requestHomeRefresh(w.deps.queues, clock);
    const jobs = await housekeeping().getJobs(['delayed', 'waiting']);
    const slot = T0 / HOME_REFRESH_MS;
    expect(jobs.map((j) => [j.name, j.id, j.opts.delay])).toHaveLength(2);
    expect(jobs.map((j) => [j.name, j.id, j.opts.delay])).toEqual(
      expect.arrayContaining([
        ['home', `home-${slot}`, HOME_REFRESH_MS - 1_000],
        ['home', `home-${slot + 1}`, HOME_REFRESH_MS - 4_000],
      ]),
    );
    await housekeeping().obliterate({ force: true });
  });

  it('are asked for once per slot by a process; the next slot asks again', async () => {
    const refresh = homeRefresher(w.deps.queues, clock, w.deps.logger);
    const slot = T0 / HOME_REFRESH_MS + 10;
    now = slot * HOME_REFRESH_MS;
    refresh();
    const first = await until('the slot job', () => housekeeping().getJob(`home-${slot}`));
    await first.remove();
    refresh();
    now += HOME_REFRESH_MS;
    refresh();
    await until('the next slot job', () => housekeeping().getJob(`home-${slot + 1}`));
    // Asked in order on one connection: a second ask in the first slot would be there by now.
    expect(await housekeeping().getJob(`home-${slot}`)).toBeUndefined();
    await housekeeping().obliterate({ force: true });
  });

  it('are asked for again after an ask that failed, which is logged and never thrown', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      enableOfflineQueue: false,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    down.on('error', () => {});
    const queues = createQueues({ connection: down, prefix: w.prefix, config: testConfig(), clock });
    const lines: string[] = [];
    const log = createLogger({ destination: { write: (s: string) => void lines.push(s) } });
    queues.queue(HOUSEKEEPING_QUEUE).on('error', () => {});
    const refresh = homeRefresher(queues, clock, log);
    refresh();
    await until('a logged failure', () => lines.length === 1);
    refresh();
    await until('a second logged failure', () => lines.length === 2);
    expect(lines.every((l) => l.includes('could not ask for a Home refresh'))).toBe(true);
    await queues.close().catch(() => undefined);
    down.disconnect();
  });
});

describe('housekeepingJob', () => {
  it('registers the heartbeat scheduler once, however many workers start', async () => {
    await housekeepingJob.onWorkerStart?.(w.deps);
    await syncHeartbeatScheduler(w.deps);
    const schedulers = await housekeeping().getJobSchedulers();
    expect(schedulers).toEqual([
      expect.objectContaining({ key: HEARTBEAT_SCHEDULER, every: HEARTBEAT_EVERY_MS, name: 'heartbeat' }),
    ]);
    await housekeeping().removeJobScheduler(HEARTBEAT_SCHEDULER);
  });

  it('records the heartbeat, and republishes the Home of recent viewers', async () => {
    w.work(housekeepingJob);
    now = T0 + 42;
    const beat = await w.finish(HOUSEKEEPING_QUEUE, {
      kind: 'heartbeat',
      requestId: 'hb',
      requester: 'scheduler',
    });
    expect(beat.returnvalue).toBe(1);
    expect(await readHeartbeat(w.redis, w.prefix)).toBe(T0 + 42);

    await noteHomeViewer(w.redis, w.prefix, 'U0ALICE', T0);
    await noteHomeViewer(w.redis, w.prefix, 'U0BOB', T0 + 1);
    const home = await w.finish(HOUSEKEEPING_QUEUE, {
      kind: 'home',
      requestId: 'h1',
      requester: 'scheduler',
    });
    expect(home.returnvalue).toBe(2);
    expect(published).toEqual([['U0BOB', 'U0ALICE']]);
    expect(await w.deps.audit.recent(10)).toEqual([]);
  });

  it('publishes nothing in a process without a Home publisher', async () => {
    const run = housekeepingJob.run(
      { data: { kind: 'home', requestId: 'h2', requester: 'scheduler' } } as never,
      { deps: { ...w.deps, publishHome: undefined } } as never,
    );
    expect(await run).toBe(0);
  });
});
