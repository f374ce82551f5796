// startWorkers on the real Redis: one BullMQ worker per named kind (other queues are left to other
// processes), start hooks in the background, and a close that waits for active jobs up to its timeout,
// then releases them, and closes every connection it opened.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../../infra/redis.js';
import { HEARTBEAT_SCHEDULER, HOUSEKEEPING_QUEUE, noteHomeViewer } from '../../../jobs/housekeeping.js';
import { startWorkers } from '../../../jobs/workers.js';
import { REDIS_URL } from '../../helpers/test-redis.js';
import { until } from '../../helpers/wait.js';
import { startWorkerWorld, type WorkerWorld } from '../../helpers/worker-world.js';

let release: () => void = () => {};
let w: WorkerWorld;
beforeAll(async () => {
  w = await startWorkerWorld({
    overrides: {
      // The Home refresh job holds until the test lets it go: an active job at close.
      publishHome: () => new Promise<void>((r) => (release = r)),
    },
  });
});
afterAll(() => w.close());

function start() {
  const conns: Redis[] = [];
  const workers = startWorkers({
    deps: w.deps,
    connect: () => {
      const c = createRedis(REDIS_URL, { blocking: true });
      conns.push(c);
      return c;
    },
    prefix: w.prefix,
    queues: [HOUSEKEEPING_QUEUE],
    logger: w.deps.logger,
  });
  return { workers, conns };
}

const housekeeping = () => w.deps.queues.queue(HOUSEKEEPING_QUEUE);

describe('startWorkers', () => {
  it('works the named queues only, runs their start hooks, and closes its connections', async () => {
    const { workers, conns } = start();
    // Housekeeping's start hook registers the heartbeat, whose first job runs at once.
    await until(
      'the heartbeat scheduler',
      async () => (await housekeeping().getJobSchedulers()).length === 1,
    );
    expect((await housekeeping().getJobSchedulers())[0]?.key).toBe(HEARTBEAT_SCHEDULER);
    const beat = await w.finish(HOUSEKEEPING_QUEUE, {
      kind: 'heartbeat',
      requestId: 'hb-1',
      requester: 'scheduler',
    });
    expect(beat.returnvalue).toBe(1);
    await w.deps.queues.queue('reset-password').add('nobody-works-me', { requestId: 'x', requester: 'U0' });
    expect(await w.deps.queues.queue('reset-password').getJobCounts('waiting', 'active')).toEqual({
      waiting: 1,
      active: 0,
    });
    expect(conns).toHaveLength(1);
    await workers.close(1_000);
    await until('its connection to end', () => conns.every((c) => c.status === 'end'));
  });

  it('waits for an active job to finish before it closes', async () => {
    await noteHomeViewer(w.redis, w.prefix, 'U0ALICE', w.deps.clock.now());
    const { workers } = start();
    const job = await housekeeping().add('home', { kind: 'home', requestId: 'h-1', requester: 'scheduler' });
    await until('the refresh to be active', async () => (await job.getState()) === 'active');
    let closed = false;
    const closing = workers.close(10_000).then(() => (closed = true));
    // Past the start hooks, close pauses the worker, which waits for the job the test still holds.
    await until('the start hooks', async () => (await housekeeping().getJobSchedulers()).length === 1);
    expect(closed).toBe(false);
    release();
    await closing;
    expect(await job.getState()).toBe('completed');
  });

  it('releases an active job that outlasts the timeout, and says so', async () => {
    const { workers } = start();
    const job = await housekeeping().add('home', { kind: 'home', requestId: 'h-2', requester: 'scheduler' });
    await until('the refresh to be active', async () => (await job.getState()) === 'active');
    await workers.close(50);
    expect(w.logs.some((l) => l.includes('active jobs did not finish in time; releasing them'))).toBe(true);
    // Nobody finished it: its lock lapses and another worker's stalled check will hand it out.
    expect(await job.getState()).toBe('active');
    release();
  });
});
