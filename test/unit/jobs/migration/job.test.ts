// The migration queue's processor (jobs/migration/job.ts) on a real BullMQ worker with the real
// worker deps (test/helpers/worker-world.ts), against moto: each job kind to its module, what the
// requester is told when one fails for good, and the watchdog armed when a worker starts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedMigrationWorld } from '../../../../devkit/worlds/index.js';
import { MIGRATION_QUEUE, type MigrationData } from '../../../../jobs/migration/data.js';
import { dispatch, migrationDeps, migrationJob } from '../../../../jobs/migration/job.js';
import { useMoto } from '../../../helpers/moto.js';
import { startWorkerWorld, type WorkerWorld } from '../../../helpers/worker-world.js';
import { migConfig } from './parts.js';

useMoto();
let ww: WorkerWorld;
beforeAll(async () => {
  const host = await seedMigrationWorld({
    endpoint: process.env.AWS_ENDPOINT_URL ?? '',
    accounts: migConfig().accounts,
    account: 'osio',
  });
  ww = await startWorkerWorld({ config: migConfig({ instanceId: host.instanceId }) });
  ww.work(migrationJob);
}, 60_000);
afterAll(() => ww.close());

const asked = (d: Partial<MigrationData> & Pick<MigrationData, 'op'>) =>
  ({ requestId: `slack-${Math.random().toString(36).slice(2)}`, requester: 'U0OPS', ...d }) as MigrationData;
/** What the requester's DM says. */
const dm = () => ww.slack.messages('D0OPS').map((m) => m.text);

describe('the migration processor', () => {
  it('runs a check and reports it to the requester', async () => {
    const job = await ww.finish(MIGRATION_QUEUE, asked({ op: 'check', phase: 1 }), { attempts: 1 });
    expect(job.returnvalue).toEqual({ op: 'check 1', outcome: 'passed' });
    expect(dm().some((t) => t.startsWith(':white_check_mark: Phase 1 check passed'))).toBe(true);
    expect((await ww.deps.audit.recent(10)).find((a) => a.action === 'migration.job')).toMatchObject({
      target: 'check',
      outcome: 'succeeded',
      detail: 'check 1: passed',
    });
  });

  it('tells the requester when a command job fails for good; a run says so on its card instead', async () => {
    const before = dm().length;
    const run = await ww.finish(MIGRATION_QUEUE, asked({ op: 'run', id: 'p3-0000gone' }), { attempts: 1 });
    expect(run.failedReason).toBe('unknown_request: phase-3 request p3-0000gone does not exist (any more)');
    expect(dm()).toHaveLength(before);
    const rollback = await ww.finish(MIGRATION_QUEUE, asked({ op: 'rollback3' }), { attempts: 1 });
    expect(rollback.failedReason).toBe('rollback3 names neither a request nor an instance');
    expect(dm().at(-1)).toBe(
      ':x: /migration rollback3 failed: an internal error occurred; the operators can find details in the logs by request id',
    );
  });

  it('names each job for the audit trail and the logs', () => {
    expect(migrationJob.describe(asked({ op: 'run', id: 'p3-00000001' }))).toBe('run p3-00000001');
    expect(migrationJob.describe(asked({ op: 'watchdog' }))).toBe('watchdog');
    expect(migrationJob.summarize?.({ op: 'run', outcome: 'done' })).toBe('run: done');
  });
});

describe('dispatch', () => {
  it('sends a run to phase 3 or to the cleanup by the kind its id names', async () => {
    const md = migrationDeps(ww.deps);
    const ctx = { jobId: 'j', log: ww.deps.logger, isLastAttempt: () => true, save: async () => {} };
    await expect(dispatch(md, asked({ op: 'run', id: 'p5-0000gone' }), ctx)).rejects.toThrow(
      'cleanup request p5-0000gone does not exist (any more)',
    );
    await expect(dispatch(md, asked({ op: 'run', id: 'p3-0000gone' }), ctx)).rejects.toThrow(
      'phase-3 request p3-0000gone does not exist (any more)',
    );
    expect(await dispatch(md, asked({ op: 'expire', id: 'p3-0000gone' }), ctx)).toEqual({
      op: 'expire',
      outcome: 'gone',
    });
  });
});

describe("a worker's start", () => {
  it('arms the watchdog when the migration is configured, to find what a dead worker left running', async () => {
    const md = migrationDeps(ww.deps);
    await md.jobs.disarm();
    await migrationJob.onWorkerStart?.({ ...ww.deps, config: migConfig({}, { migration: undefined }) });
    expect(await md.jobs.armedEvery()).toBeUndefined();
    await migrationJob.onWorkerStart?.(ww.deps);
    expect(await md.jobs.armedEvery()).toBe(5_000);
    expect(md.store).toEqual({ redis: ww.deps.redis, prefix: ww.prefix });
  });
});
