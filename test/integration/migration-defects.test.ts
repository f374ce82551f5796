// The six defects of issue 21 on moto, real Redis and signed requests, each written so it failed
// before the redesign: a retry ran an unapproved plan; a cancelled window still ran its change; a
// run could stay "running" forever; two operations ran at once on one request; a runner that lost
// its lock went on writing; a far-future request (or a dangling pointer) blocked the feature.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  DeleteInstanceProfileCommand,
  IAMClient,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { afterEach, describe, expect } from 'vitest';
import { type ChatopsProcess, startChatopsProcess } from '../../devkit/index.js';
import type { Config } from '../../infra/config.js';
import { awsActionOf, type HttpFaultProxy, startHttpFaultProxy } from '../helpers/fault-proxy.js';
import {
  APPROVALS,
  aws,
  card,
  cardText,
  cleanupCard,
  cleanupCardText,
  clicker,
  instance,
  instanceIdOf,
  JOB,
  keysUnder,
  migrationJobState,
  PROFILE,
  ROLE,
  requestIdOf,
  requestPhase3,
  requestState,
  seedCutover,
  withMigrationWorld,
} from '../helpers/migration.js';
import { motoUrl } from '../helpers/moto-url.js';
import { it, processEnv, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const procs: ChatopsProcess[] = [];
const proxies: HttpFaultProxy[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill().catch(() => undefined);
  for (const p of proxies.splice(0)) await p.close().catch(() => undefined);
});

const cardSays = (s: Stack, re: RegExp, ms = 30_000) =>
  until(`the card matches ${re}`, () => (re.test(cardText(s)) ? true : undefined), ms).catch((err) => {
    throw new Error(`${err}\ncard: ${cardText(s)}`);
  });

async function deleteProfile(): Promise<void> {
  const iam = aws(IAMClient);
  await iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: PROFILE, RoleName: ROLE }));
  await iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: PROFILE }));
}

async function approveBoth(s: Stack, id: string, ts: string): Promise<void> {
  const click = clicker(s);
  expect(await click('U0DAVE', 'mig_approve', id, ts)).toMatch(/Counted: 1 of 2/);
  expect(await click('U0ERIN', 'mig_approve', id, ts)).toMatch(/Approved \(2 of 2\)/);
}

/** A worker of its own (the product's process) behind a proxy to moto that the test can hold. */
async function proxiedWorker(
  s: Stack,
  name: string,
): Promise<{ proc: ChatopsProcess; proxy: HttpFaultProxy }> {
  const proxy = await startHttpFaultProxy({ upstream: motoUrl(), nameOf: awsActionOf });
  proxies.push(proxy);
  const proc = await startChatopsProcess({
    name,
    role: 'worker',
    logPath: join(mkdtempSync(join(tmpdir(), 'chatops-mig-')), `${name}.log`),
    env: processEnv(s.env, { AWS_ENDPOINT_URL: proxy.url }),
  });
  procs.push(proc);
  return { proc, proxy };
}

/** Holds the first DescribeInstances after the StopInstances: the worker is then waiting for the stop. */
function holdAfterStop(proxy: HttpFaultProxy): void {
  let stopped = false;
  let held = 0;
  proxy.onForwarded = (c) => {
    if (c.name === 'StopInstances') stopped = true;
  };
  proxy.rule = (c) => {
    if (stopped && c.name === 'DescribeInstances' && held === 0) {
      held += 1;
      return 'hold';
    }
    return 'pass';
  };
}

const stepRows = async (s: Stack) =>
  (await s.auditRows()).filter((r) => r.action === 'migration.phase3.step' && r.outcome === 'succeeded');

describe('issue 21: /migration under adversarial sequences, on moto', () => {
  it('1. a Retry after the config changed runs nothing: the card says what changed, the new profile is never attached', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld({}, { topology: { bots: 1, workers: 1 } }));
    const instanceId = instanceIdOf(s);
    const { c, id } = await requestPhase3(s, '+2s 60s');
    await deleteProfile();
    await approveBoth(s, id, c.ts);
    await cardSays(s, /Failed at step 3/);
    // An instance profile the config now names exists, so an unapproved run could attach it.
    const iam = aws(IAMClient);
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'another-profile' }));
    await iam.send(
      new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'another-profile', RoleName: ROLE }),
    );
    const changed: Config = Object.freeze({
      ...s.config,
      migration: { ...(s.config.migration as object), instanceProfile: 'another-profile' },
    }) as Config;
    await s.instances[1]?.close();
    await s.startInstance('worker', { config: changed });
    // The bot still has the old config: it queues the retry; the worker's check refuses the change.
    expect(await clicker(s)('U0ERIN', 'mig_retry', id, c.ts)).toMatch(/Retrying phase 3 from step 3/);
    await cardSays(
      s,
      /Failed at step 3:\* the plan changed after approval \(instance profile `tokyobeta-prod-ec2-cron-profile` → `another-profile`\)/,
    );
    expect(cardText(s)).toMatch(/The plan changed since it was approved/);
    expect((await instance(instanceId)).associations).toHaveLength(0);
    // A bot with the new config refuses the Retry itself.
    const other = await s.startInstance('bot', { config: changed });
    expect(await clicker(s, other.port)('U0ERIN', 'mig_retry', id, c.ts)).toMatch(
      /The plan changed since the approvals \(instance profile `tokyobeta-prod-ec2-cron-profile` → `another-profile`\)/,
    );
    expect((await instance(instanceId)).associations).toHaveLength(0);
  }, 90_000);

  it('2. cancelling the window cancels the approved request: card cancelled, nothing runs at the window start', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld());
    const instanceId = instanceIdOf(s);
    const t0 = Date.now();
    const { c, id } = await requestPhase3(s, '+6s 60s');
    const windowId = /`(mw-[0-9a-f]+)`/.exec(cardText(s))?.[1] as string;
    await approveBoth(s, id, c.ts);
    expect((await s.command('U0OPS', '/maintenance', `cancel ${windowId}`)).text).toMatch(/Cancelled/);
    await cardSays(s, /Cancelled \(window `mw-[0-9a-f]+` cancelled by <@U0OPS>\)/);
    expect(cardText(s)).not.toContain('mig_retry');
    expect(await requestState(s, id)).toBe('cancelled');
    // Past the window's start: nothing was stopped or attached, no start notice in its thread.
    await until('past the window start', () => (Date.now() > t0 + 9_000 ? true : undefined), 20_000);
    expect(s.actions.has('ec2:StopInstances')).toBe(false);
    const after = await instance(instanceId);
    expect(after.state).toBe('running');
    expect(after.associations).toHaveLength(0);
    expect(s.slack.messages('C0MAINT').some((m) => /Phase 3 \(`p3-[0-9a-z]+`\) starts/.test(m.text))).toBe(
      false,
    );
    // The window's request is over: a new one can be made.
    expect((await s.command('U0OPS', '/migration', 'phase3 request +1h')).text).toMatch(/Queued/);
  }, 60_000);

  it('3. a run whose job stalls past maxStalledCount (its worker killed) is failed by the watchdog: step and error, Retry and Roll back, posted', async ({
    startStack,
  }) => {
    const s = await startStack(
      withMigrationWorld({}, { topology: { bots: 1, workers: 0 }, jobs: { lockMs: 2_000 } }),
    );
    const instanceId = instanceIdOf(s);
    const { proc, proxy } = await proxiedWorker(s, 'worker-a');
    holdAfterStop(proxy);
    const { c, id } = await requestPhase3(s, '+2s 60s');
    await approveBoth(s, id, c.ts);
    await until('the worker waits for the stop', () => (proxy.held().length > 0 ? true : undefined), 40_000);
    await proc.kill();
    // It had stalled once before: the next stall is past maxStalledCount (1) and BullMQ fails the job.
    const runJob = String(await s.redis.hget(`${s.prefix}:mig:req:${id}`, 'runJob'));
    await s.redis.hset(`${s.prefix}:migration:${runJob}`, 'stc', '1');
    await s.startInstance('worker');
    await until(
      'the job failed',
      async () => ((await migrationJobState(s, runJob)) === 'failed' ? true : undefined),
      30_000,
    );
    await cardSays(s, /Failed at step 2:\* the run stopped without finishing at this step/);
    expect(cardText(s)).toContain('mig_retry');
    expect(cardText(s)).toContain('mig_rollback');
    await until('the failure posted in the card thread', () =>
      s.slack.messages(APPROVALS).find((m) => m.thread_ts === c.ts && /failed at step 2/.test(m.text)),
    );
    // Roll back from the card: no profile, the instance running.
    expect(await clicker(s)('U0DAVE', 'mig_rollback', id, c.ts)).toMatch(/Queued: rolling back phase 3/);
    await cardSays(s, /Rolled back/);
    const after = await instance(instanceId);
    expect(after.state).toBe('running');
    expect(after.associations).toHaveLength(0);
  }, 120_000);

  it('4. one operation at a time: Retry then Roll back, and rollback 3 while a run is queued, are refused; a second Roll back after a failed one really runs', async ({
    startStack,
  }) => {
    const s = await startStack(
      withMigrationWorld({ migration: { waitTimeoutSeconds: 3 } }, { topology: { bots: 1, workers: 1 } }),
    );
    const instanceId = instanceIdOf(s);
    const { c, id } = await requestPhase3(s, '+2s 60s');
    await deleteProfile();
    await approveBoth(s, id, c.ts);
    await cardSays(s, /Failed at step 3/);
    // No worker for a moment, so the retry stays queued while the other clicks arrive.
    await s.instances[1]?.close();
    const click = clicker(s);
    expect(await click('U0ERIN', 'mig_retry', id, c.ts)).toMatch(/Retrying phase 3/);
    expect(await click('U0DAVE', 'mig_rollback', id, c.ts)).toMatch(/is approved: one operation at a time/);
    expect(await click('U0DAVE', 'mig_retry', id, c.ts)).toMatch(/This request is approved; nothing changed/);
    expect((await s.command('U0OPS', '/migration', 'rollback 3')).text).toMatch(
      /is approved: one operation at a time/,
    );
    await s.startInstance('worker');
    await until(
      'the retry fails again',
      async () => ((await migrationJobState(s, `mig-run-${id}-2`)) === 'failed' ? true : undefined),
      30_000,
    );
    await cardSays(s, /Failed at step 3/);
    // The instance is gone: a rollback cannot make it run, and fails; a second click runs again.
    await aws(EC2Client).send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    expect(await click('U0DAVE', 'mig_rollback', id, c.ts)).toMatch(/Queued: rolling back/);
    await cardSays(s, /the rollback failed/);
    expect(await click('U0DAVE', 'mig_rollback', id, c.ts)).toMatch(/Queued: rolling back/);
    await until(
      'the second rollback ran and failed',
      async () => ((await migrationJobState(s, `mig-rb-${id}-4`)) === 'failed' ? true : undefined),
      30_000,
    );
    expect(await migrationJobState(s, `mig-rb-${id}-3`)).toBe('failed');
    await until('two rollback failures posted', () =>
      s.slack.messages(APPROVALS).filter((m) => m.thread_ts === c.ts && /the rollback failed/.test(m.text))
        .length === 2
        ? true
        : undefined,
    );
  }, 120_000);

  it('5. a runner that lost its lock is fenced: another worker finishes, the first one neither acts nor writes again', async ({
    startStack,
  }) => {
    const s = await startStack(
      withMigrationWorld({}, { topology: { bots: 1, workers: 0 }, jobs: { lockMs: 2_000 } }),
    );
    const instanceId = instanceIdOf(s);
    const { proxy } = await proxiedWorker(s, 'worker-a');
    holdAfterStop(proxy);
    const { c, id } = await requestPhase3(s, '+2s 60s');
    await approveBoth(s, id, c.ts);
    await until(
      'the first runner waits for the stop',
      () => (proxy.held().length > 0 ? true : undefined),
      40_000,
    );
    // Its lock lapses (a blocked event loop, a failover): the stalled-job check hands the job out again.
    const runJob = String(await s.redis.hget(`${s.prefix}:mig:req:${id}`, 'runJob'));
    expect(await s.redis.del(`${s.prefix}:migration:${runJob}:lock`)).toBe(1);
    await s.startInstance('worker');
    await cardSays(s, /Done/, 40_000);
    // The first runner gets its answer now (the held connection drops), and must stop there.
    await proxy.down();
    await proxy.up();
    // Both runs of the job have ended (the first one too, whatever it did): each leaves its audit entry.
    const runs = async () =>
      (await s.auditRows()).filter((r) => r.action === 'migration.job' && r.target === `run ${id}`);
    await until('the first runner ends', async () => ((await runs()).length >= 2 ? true : undefined), 30_000);
    const details = (await runs()).map((r) => r.detail).sort();
    expect(details[0]).toBe('run: done');
    // The fenced runner ends without acting: stopped by the check, or skipped when it finds the
    // request owned by the other run (which of the two depends on when its answer arrives).
    expect(details[1]).toMatch(/^run: (stopped|skipped) \(/);
    // Each change once, by whichever worker made it (this process's own calls are a set: 0 or 1).
    const calls = (action: string) => proxy.forwarded(action) + (s.actions.has(`ec2:${action}`) ? 1 : 0);
    expect(['StopInstances', 'AssociateIamInstanceProfile', 'StartInstances'].map(calls)).toEqual([1, 1, 1]);
    expect((await stepRows(s)).map((r) => r.target)).toEqual(
      [1, 2, 3, 4, 5, 6].map((n) => `${id} step ${n}`),
    );
    expect(await requestState(s, id)).toBe('done');
    const after = await instance(instanceId);
    expect(after.state).toBe('running');
    expect(after.associations).toHaveLength(1);
  }, 120_000);

  it('6. a start more than migration.maxLeadDays ahead is refused; a pointer to a missing request is cleared, not trusted', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld());
    expect((await s.command('U0OPS', '/migration', 'phase3 request 9999-01-01 10:00')).text).toMatch(
      /more than 30 days ahead.*migration\.maxLeadDays/,
    );
    expect((await s.command('U0OPS', '/migration', 'phase3 request 2030-01-01T10:00+15:00')).text).toMatch(
      /offsets go from -14:00 to \+14:00/,
    );
    expect(s.slack.callsTo('chat.postMessage')).toHaveLength(0);
    // A pointer left behind by a record that is gone (expired) does not block a new request.
    await s.redis.set(`${s.prefix}:mig:current`, 'p3-gone0000');
    const { id } = await requestPhase3(s, '+1h');
    const at = await s.redis.pexpiretime(`${s.prefix}:mig:req:${id}`);
    expect(at).toBeGreaterThan(Date.now());
    expect(await s.redis.pexpiretime(`${s.prefix}:mig:current`)).toBe(at);
    expect(card(s)).toBeDefined();
  }, 60_000);

  it('7. the phase-5 cleanup by the same rules: a worker whose quorum rose after the approvals deletes nothing (expired, saying why)', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld({}, { topology: { bots: 1, workers: 1 } }));
    await seedCutover(s, JOB, 15);
    expect((await s.command('U0OPS', '/migration', 'check 5')).text).toMatch(/Phase 5 may start/);
    const c = await until('the cleanup card', () => cleanupCard(s), 30_000);
    const id = requestIdOf(c);
    const click = clicker(s);
    expect(await click('U0DAVE', 'mig_approve', id, c.ts)).toMatch(/Counted: 1 of 2/);
    const stricter: Config = Object.freeze({
      ...s.config,
      migration: { ...(s.config.migration as object), approvals: 3 },
    }) as Config;
    await s.instances[1]?.close();
    await s.startInstance('worker', { config: stricter });
    expect(await click('U0ERIN', 'mig_approve', id, c.ts)).toMatch(/Approved \(2 of 2\)/);
    await until(
      'the card says expired',
      () => (/Expired.*only 2 of the 3 approvals still count/.test(cleanupCardText(s)) ? true : undefined),
      30_000,
    );
    expect(await keysUnder('dumps-test/')).toHaveLength(8);
    expect(s.actions.has('s3:DeleteObject')).toBe(false);
  }, 60_000);
});
