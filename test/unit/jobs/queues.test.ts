// enqueue on the real Redis: "queued" only when a job was added or the job with that id is waiting,
// delayed or active; a finished id is reported as finished; dedup keys, with and without a TTL.
import { randomUUID } from 'node:crypto';
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../infra/config.js';
import { createQueues, NotConfirmedError, type Queues } from '../../../jobs/queues.js';
import { startSlowProxy } from '../../helpers/slow-proxy.js';
import { until } from '../../helpers/wait.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL);
const config = {
  jobs: { attempts: 1, backoffMs: 10, keepCompleted: 100, keepFailed: 100, lockMs: 30_000 },
} as unknown as Config;
const QUEUE = 'reset-password' as const;
const prefixes: string[] = [];
const closers: (() => Promise<unknown>)[] = [];

function queuesOn(connection: Redis = redis): { queues: Queues; prefix: string } {
  const prefix = `test-queues-${randomUUID()}`;
  prefixes.push(prefix);
  const queues = createQueues({ connection, prefix, config });
  closers.push(() => queues.close());
  return { queues, prefix };
}

/** A worker that completes jobs named `ok`, fails `fail`, and holds `hold` until released. */
function worker(prefix: string) {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const w = new Worker(
    QUEUE,
    async (job: Job) => {
      if (job.name === 'fail') throw new Error('refused on purpose');
      if (job.name === 'hold') await held;
      return 'done';
    },
    { connection: redis.duplicate({ maxRetriesPerRequest: null }), prefix },
  );
  closers.push(async () => {
    release();
    await w.close();
    await w.disconnect();
  });
  return { w, release };
}

const data = (id: string) => ({ requestId: id, requester: 'U0TEST' }) as never;

afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});
afterAll(async () => {
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}:*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
});

describe('enqueue', () => {
  it('reports a new job and an existing waiting or delayed one as queued', async () => {
    const { queues } = queuesOn();
    expect(await queues.enqueue(QUEUE, 'ok', data('a'), { jobId: 'j-a' })).toEqual({
      status: 'queued',
      id: 'j-a',
    });
    expect(await queues.enqueue(QUEUE, 'ok', data('a'), { jobId: 'j-a' })).toEqual({
      status: 'queued',
      id: 'j-a',
    });
    const later = Date.now() + 60_000;
    expect(await queues.enqueue(QUEUE, 'ok', data('b'), { jobId: 'j-b', runAt: later })).toEqual({
      status: 'queued',
      id: 'j-b',
    });
    expect(await queues.queue(QUEUE).getJobState('j-b')).toBe('delayed');
    expect(await queues.enqueue(QUEUE, 'ok', data('b'), { jobId: 'j-b', runAt: later })).toEqual({
      status: 'queued',
      id: 'j-b',
    });
    expect(await queues.queue(QUEUE).getJobCounts('waiting', 'delayed')).toEqual({ waiting: 1, delayed: 1 });
  });

  it('reports an active job as queued, and the same id once it completed or failed as finished, adding nothing', async () => {
    const { queues, prefix } = queuesOn();
    const q = queues.queue(QUEUE);
    await queues.enqueue(QUEUE, 'hold', data('h'), { jobId: 'j-hold' });
    const { release } = worker(prefix);
    await until('the job is active', async () => (await q.getJobState('j-hold')) === 'active');
    expect(await queues.enqueue(QUEUE, 'hold', data('h'), { jobId: 'j-hold' })).toEqual({
      status: 'queued',
      id: 'j-hold',
    });
    release();
    await until('the job completed', async () => (await q.getJobState('j-hold')) === 'completed');
    expect(await queues.enqueue(QUEUE, 'hold', data('h'), { jobId: 'j-hold' })).toEqual({
      status: 'finished',
      id: 'j-hold',
      existingId: 'j-hold',
      state: 'completed',
    });

    await queues.enqueue(QUEUE, 'fail', data('f'), { jobId: 'j-fail' });
    await until('the job failed', async () => (await q.getJobState('j-fail')) === 'failed');
    const again = await queues.enqueue(QUEUE, 'fail', data('f'), { jobId: 'j-fail' });
    expect(again).toEqual({ status: 'finished', id: 'j-fail', existingId: 'j-fail', state: 'failed' });
    // Nothing new was added: one run of each, and no job waits.
    expect(await q.getJobCounts('waiting', 'active', 'completed', 'failed')).toEqual({
      waiting: 0,
      active: 0,
      completed: 1,
      failed: 1,
    });
    expect((await q.getJob('j-fail'))?.attemptsMade).toBe(1);
  });

  it('answers a second job with the same dedup key as a duplicate while the first is waiting, and queues it once the first finished', async () => {
    const { queues, prefix } = queuesOn();
    const q = queues.queue(QUEUE);
    expect(await queues.enqueue(QUEUE, 'ok', data('1'), { jobId: 'd-1', dedupKey: 'alice' })).toEqual({
      status: 'queued',
      id: 'd-1',
    });
    expect(await queues.enqueue(QUEUE, 'ok', data('2'), { jobId: 'd-2', dedupKey: 'alice' })).toEqual({
      status: 'duplicate',
      id: 'd-2',
      existingId: 'd-1',
    });
    worker(prefix);
    await until('the first completed', async () => (await q.getJobState('d-1')) === 'completed');
    expect(await queues.enqueue(QUEUE, 'ok', data('3'), { jobId: 'd-3', dedupKey: 'alice' })).toEqual({
      status: 'queued',
      id: 'd-3',
    });
  });

  it('with dedupTtlMs, a repeat is a duplicate even after the first job finished, until the TTL passes', async () => {
    const { queues, prefix } = queuesOn();
    const q = queues.queue(QUEUE);
    const o = { dedupKey: 'mw-same-window', dedupTtlMs: 1_500 };
    expect((await queues.enqueue(QUEUE, 'ok', data('1'), { jobId: 't-1', ...o })).status).toBe('queued');
    worker(prefix);
    await until('the first completed', async () => (await q.getJobState('t-1')) === 'completed');
    expect(await queues.enqueue(QUEUE, 'ok', data('2'), { jobId: 't-2', ...o })).toEqual({
      status: 'duplicate',
      id: 't-2',
      existingId: 't-1',
    });
    expect(await q.getJob('t-2')).toBeUndefined();
    await until(
      'the dedup key expired',
      async () => (await redis.pttl(`${q.toKey('de')}:mw-same-window`)) === -2,
      5_000,
    );
    expect((await queues.enqueue(QUEUE, 'ok', data('3'), { jobId: 't-3', ...o })).status).toBe('queued');
  });

  it('throws NotConfirmedError when Redis does not answer by confirmBy; the job may still land', async () => {
    const port = Number(new URL(REDIS_URL).port || 6379);
    const proxy = await startSlowProxy(port);
    closers.push(() => proxy.close());
    const slow = new Redis(proxy.url('redis'), { maxRetriesPerRequest: 2 });
    closers.push(async () => slow.disconnect());
    const { queues } = queuesOn(slow);
    // Warm: the queue's first use has round trips of its own.
    expect((await queues.enqueue(QUEUE, 'ok', data('w'), { jobId: 'warm' })).status).toBe('queued');
    proxy.setDelay(800);
    const add = queues.enqueue(QUEUE, 'ok', data('s'), { jobId: 'slow', confirmBy: Date.now() + 300 });
    await expect(add).rejects.toBeInstanceOf(NotConfirmedError);
    // It was sent: it lands once the slow Redis gets it ("may still run" was the truth).
    const direct = createQueues({ connection: redis, prefix: prefixes.at(-1) as string, config });
    closers.push(() => direct.close());
    await until('the job landed', async () => (await direct.queue(QUEUE).getJobState('slow')) === 'waiting');
  });
});
