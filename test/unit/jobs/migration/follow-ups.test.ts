// A state and its follow-up written together (issue 20, item 4): a cutover or its rollback is
// recorded in one step with what must follow it (its watches, the status card); if the process dies
// right after the write, the watchdog queues them. And /migration status asks AWS as the person who
// asked (item 9).
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../infra/config.js';
import { updateStatus } from '../../../../jobs/migration/status.js';
import { outbox, recordCutover, removeCutover } from '../../../../jobs/migration/store.js';
import { configOf, INITIAL, World } from './model-world.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const worlds: World[] = [];
afterAll(async () => {
  for (const w of worlds) await w.tearDown();
  redis.disconnect();
});

const CRON = 'ggh_contractstatus';
const t0 = Math.floor(Date.now() / 60_000) * 60_000;

async function world(): Promise<World> {
  const w = new World(redis, t0);
  worlds.push(w);
  await w.setUp();
  const base = configOf(INITIAL);
  w.config = parseConfig(
    {
      timezone: base.timezone,
      accounts: base.accounts,
      channels: base.channels,
      roles: base.roles,
      migration: base.migration,
      jobs: base.jobs,
      dumps: {
        account: 'gghouse',
        bucket: 'jram-gghouse',
        jobs: [{ name: CRON, cron: '1 6 * * *', prefix: 'dumps/' }],
      },
    },
    '/tmp',
  );
  return w;
}

describe('a cutover and its follow-ups', () => {
  it('are written in one step: a process that dies right after the write leaves them to the watchdog', async () => {
    const w = await world();
    await w.jobs.arm(30_000); // as cutoverWithFollowUps does before it writes
    const at = w.now;
    const entry = {
      id: 'e1',
      at,
      kind: 'cutover' as const,
      cron: CRON,
      cutoverAt: at,
      requestId: 'r1',
      requester: 'U0OPS',
    };
    expect(await recordCutover(w.md.store, { cron: CRON, at, by: 'U0OPS', forced: false }, entry)).toBe(true);
    // The process dies here: nothing is queued yet, the follow-up waits in the outbox.
    expect([...w.jobs.jobs.keys()]).toEqual([]);
    await w.pass(90_000);
    expect([...w.jobs.jobs.keys()].sort()).toEqual([
      `mig-status-e1`,
      `mig-watch-${CRON}-${at}-1`,
      `mig-watch-${CRON}-${at}-2`,
    ]);
    expect(await outbox(w.md.store)).toEqual([]);
  });

  it('rollback 4 likewise: the removal and its status card', async () => {
    const w = await world();
    const at = w.now;
    await recordCutover(
      w.md.store,
      { cron: CRON, at, by: 'U0OPS', forced: false },
      { id: 'e1', at, kind: 'status', requestId: 'r1', requester: 'U0OPS' },
    );
    await w.jobs.arm(30_000);
    expect(
      await removeCutover(w.md.store, CRON, {
        id: 'e2',
        at,
        kind: 'status',
        requestId: 'r2',
        requester: 'U0DAVE',
      }),
    ).toBe(true);
    await w.pass(90_000);
    expect([...w.jobs.jobs.keys()].sort()).toEqual(['mig-status-e1', 'mig-status-e2']);
    expect(w.jobs.jobs.get('mig-status-e2')?.data).toMatchObject({ op: 'status', requester: 'U0DAVE' });
  });
});

describe('/migration status', () => {
  it('asks AWS as the person who asked, not the first admin', async () => {
    const w = await world();
    await updateStatus(w.md, 'U0DAVE');
    expect(w.aws.askedAs.length).toBeGreaterThan(0);
    expect(new Set(w.aws.askedAs)).toEqual(new Set(['U0DAVE']));
    expect(w.slack.posts.some((p) => p.msg.channel === 'C0APPROVE')).toBe(true);
  });
});
