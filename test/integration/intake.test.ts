// The intake between the bot and the queues: commands taken by a worker that died are moved by
// another, unreadable entries do not block the rest, and a command Redis did not take is reported.
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisAuditLog } from '../../infra/audit.js';
import { createLogger } from '../../infra/logger.js';
import type { Notifier } from '../../infra/notifier.js';
import type { WorkerDeps } from '../../jobs/common.js';
import { entryFields, INTAKE_GROUP, intakeKey } from '../../jobs/intake.js';
import { type IntakeMover, startIntakeMover } from '../../jobs/intake-mover.js';
import { RESET_PASSWORD_QUEUE, resetPasswordJob } from '../../jobs/reset-password.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

let stack: Stack | undefined;
let mover: IntakeMover | undefined;

afterEach(async () => {
  await mover?.close();
  mover = undefined;
  await stack?.close();
  stack = undefined;
});

function entry(requestId: string, iamUser = 'alice') {
  return entryFields({
    queue: RESET_PASSWORD_QUEUE,
    name: `${iamUser}@osio-dev`,
    jobId: `rp-${requestId}`,
    dedupKey: `osio-dev/${iamUser}`,
    data: { requestId, requester: 'U0ALICE', person: 'U0ALICE', account: 'osio-dev', iamUser },
    at: Date.now(),
  });
}

/** A mover alone (no BullMQ worker), so moved jobs stay waiting where the test can see them. */
function moverOnly(s: Stack, claimIdleMs: number): { mover: IntakeMover; posts: string[] } {
  const posts: string[] = [];
  const notifier: Notifier = {
    post: async (_channel, text) => {
      posts.push(text);
      return { channel: 'D0', ts: '1' };
    },
    update: async () => undefined,
  };
  const logger = createLogger({ level: 'silent' });
  const deps = {
    config: s.config,
    redis: s.redis,
    notifier,
    logger,
    audit: createRedisAuditLog(s.redis, `${s.prefix}:audit`, 1000, logger),
  } as unknown as WorkerDeps;
  const m = startIntakeMover({
    deps,
    redisUrl: `redis://127.0.0.1:${s.redis.options.port}`,
    prefix: s.prefix,
    kinds: [resetPasswordJob],
    logger,
    claimIdleMs,
    blockMs: 200,
  });
  return { mover: m, posts };
}

describe('intake', () => {
  it('moves the commands a dead worker had taken, once each', async () => {
    stack = await startStack({ topology: { bots: 1, workers: 0 } });
    const s = stack;
    const key = intakeKey(s.prefix);
    await s.redis.xgroup('CREATE', key, INTAKE_GROUP, '0', 'MKSTREAM');
    await s.redis.xadd(key, '*', ...entry('r-dead-1', 'alice'));
    await s.redis.xadd(key, '*', ...entry('r-dead-2', 'bob'));
    // A worker takes both and dies before moving them.
    const taken = await s.redis.xreadgroup(
      'GROUP',
      INTAKE_GROUP,
      'dead-worker',
      'COUNT',
      10,
      'STREAMS',
      key,
      '>',
    );
    expect((taken as [string, unknown[]][])[0]?.[1]).toHaveLength(2);

    const m = moverOnly(s, 300);
    mover = m.mover;
    const queue = new Queue(RESET_PASSWORD_QUEUE, { connection: s.redis, prefix: s.prefix });
    try {
      await until(
        'both moved',
        async () => ((await queue.getWaitingCount()) === 2 ? true : undefined),
        10_000,
      );
      const ids = (await queue.getWaiting()).map((j) => j.id).sort();
      expect(ids).toEqual(['rp-r-dead-1', 'rp-r-dead-2']);
      await until('the intake is empty', async () => ((await s.redis.xlen(key)) === 0 ? true : undefined));
      expect(m.posts).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('drops an unreadable entry and still moves the ones after it', async () => {
    stack = await startStack({ topology: { bots: 1, workers: 0 } });
    const s = stack;
    const key = intakeKey(s.prefix);
    await s.redis.xadd(key, '*', 'queue', RESET_PASSWORD_QUEUE, 'jobId', 'rp-x', 'data', '{not json');
    await s.redis.xadd(key, '*', ...entry('r-good', 'alice'));
    await s.redis.xadd(key, '*', ...entry('r-dup', 'alice'));
    const m = moverOnly(s, 30_000);
    mover = m.mover;
    const queue = new Queue(RESET_PASSWORD_QUEUE, { connection: s.redis, prefix: s.prefix });
    try {
      await until('the intake is empty', async () => ((await s.redis.xlen(key)) === 0 ? true : undefined));
      expect((await queue.getWaiting()).map((j) => j.id)).toEqual(['rp-r-good']);
      // The third is the same reset while the second waits: not queued, and the requester is told.
      expect(m.posts).toHaveLength(1);
      expect(m.posts[0]).toMatch(
        /Not started twice: alice@osio-dev is already queued or running \(job rp-r-good\)/,
      );
    } finally {
      await queue.close();
    }
  });

  it('tells the requester when Redis did not take the command in time', async () => {
    stack = await startStack({ topology: { bots: 1, workers: 0 } });
    const s = stack;
    // Writes from every client wait for 3 s: the bot's 2 s limit passes first.
    await s.redis.client('PAUSE', 3000, 'WRITE');
    const ack = await s.command('U0ALICE', '/reset-password');
    expect(ack.text).toMatch(/Resetting/);
    const follow = await s.slack.waitFor(
      (c) => c.method === 'response_url' && String(c.args.text).includes('could not queue'),
      10_000,
    );
    expect(String(follow.args.text)).toMatch(/writing to Redis timed out after 2000 ms.*\/chatops jobs/);
    await until('the pause is over', async () =>
      (await s.redis.xlen(intakeKey(s.prefix))) === 1 ? true : undefined,
    );
    const rows = await s.auditRows();
    expect(rows.map((r) => r.outcome)).toEqual(['queued', 'failed']);
    expect(rows[1]?.detail).toMatch(/^not queued: /);
  });
});
