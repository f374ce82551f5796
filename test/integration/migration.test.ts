// /migration on moto (EC2, IAM, Secrets Manager, S3) with real Redis, signed requests and the fake
// Slack API: phase 3 in short real windows (approvals, the run and its guarantees), the status card,
// checks and cutovers, and phase 5's gate and the approval-gated deletion of dumps-test/.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteInstanceProfileCommand,
  IAMClient,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, onTestFinished } from 'vitest';
import { createSlackClient, type FakeSlackMessage, startChatopsProcess } from '../../devkit/index.js';
import type { Config } from '../../infra/config.js';
import { postDumpReport } from '../helpers/dumps.js';
import {
  APPROVALS,
  aws,
  BUCKET,
  card,
  cardText,
  cleanupCard,
  cleanupCardText,
  clicker,
  instance,
  JOB,
  keysUnder,
  migrationJobState,
  PROFILE,
  ROLE,
  SECRET_VALUE,
  seedCutover,
  withMigrationWorld,
} from '../helpers/migration.js';
import { motoUrl } from '../helpers/moto-url.js';
import { dumpRedis, it, processEnv, SIGNING_SECRET, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

async function request(s: Stack, args: string): Promise<FakeSlackMessage> {
  const ack = await s.command('U0OPS', '/migration', `phase3 request ${args}`);
  expect(ack.text).toMatch(/Queued: checking the phase-3 prerequisites/);
  return until('the approval card', () => card(s), 30_000);
}

const requestIdOf = (m: FakeSlackMessage) =>
  /`(p[35]-[0-9a-z]+)`/.exec(JSON.stringify(m.blocks))?.[1] as string;

/** Submits the reject modal (`mig_reject_submit`) for request `id` as `user`, with a reason. */
async function submitReject(s: Stack, user: string, id: string, reason: string): Promise<void> {
  const payload = {
    type: 'view_submission',
    team: { id: 'T0DEVKIT', domain: 'devkit' },
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0DEVKIT' },
    api_app_id: 'A0DEVKIT',
    token: 'devkit-verification-token',
    trigger_id: '1.2.3',
    view: {
      id: 'V0REJECT',
      team_id: 'T0DEVKIT',
      type: 'modal',
      callback_id: 'mig_reject_submit',
      private_metadata: id,
      hash: 'h',
      state: { values: { reason: { value: { type: 'plain_text_input', value: reason } } } },
      blocks: [],
      title: { type: 'plain_text', text: 'Reject' },
    },
  };
  const client = createSlackClient({
    url: `http://127.0.0.1:${s.instances[0]?.port}/slack/events`,
    signingSecret: SIGNING_SECRET,
  });
  expect(
    (await client.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString())).status,
  ).toBe(200);
}

describe('/migration phase 3', () => {
  it('runs only after two distinct approvers (not the requester, not a non-approver), at once inside the window; notices in the window thread; audited', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld());
    const instanceId = (s.config.migration as { instanceId: string }).instanceId;
    const t0 = Date.now();
    const c = await request(s, '+15s 60s');
    const id = requestIdOf(c);
    expect(await migrationJobState(s, `mig-expire-${id}`)).toBe('delayed');
    expect(cardText(s)).toMatch(/streak 8 of 7/);
    expect(cardText(s)).toContain(instanceId);
    expect(cardText(s)).toContain('JRAM-GGH-EC2');
    const click = clicker(s);
    expect(await click('U0OPS', 'mig_approve', id, c.ts)).toMatch(/You requested this/);
    expect(await click('U0ALICE', 'mig_approve', id, c.ts)).toMatch(/not allowed/);
    expect(await click('U0DAVE', 'mig_approve', id, c.ts)).toMatch(/1 of 2/);
    expect(await click('U0DAVE', 'mig_approve', id, c.ts)).toMatch(/already approved/);
    await until('the card says 1 of 2', () => (/Approvals:\* 1 of 2/.test(cardText(s)) ? true : undefined));
    // The window starts; with one approval nothing happens.
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + 17_000 - Date.now())));
    expect((await instance(instanceId)).state).toBe('running');
    expect(s.actions.has('ec2:StopInstances')).toBe(false);
    expect(await click('U0ERIN', 'mig_approve', id, c.ts)).toMatch(/Approved \(2 of 2\)/);
    await until('the card says done', () => (/Done/.test(cardText(s)) ? true : undefined), 40_000);
    const after = await instance(instanceId);
    expect(after.state).toBe('running');
    expect(after.associations).toHaveLength(1);
    expect(after.associations[0]?.IamInstanceProfile?.Arn).toContain(PROFILE);
    // The request is over: its expiry job does not linger in the queue.
    expect(await migrationJobState(s, `mig-expire-${id}`)).toBeUndefined();
    const maint = s.slack.messages('C0MAINT');
    expect(maint.some((m) => /Phase 3 \(`p3-[0-9a-z]+`\) starts/.test(m.text) && m.thread_ts)).toBe(true);
    expect(maint.some((m) => /Phase 3 \(`p3-[0-9a-z]+`\) is done/.test(m.text) && m.thread_ts)).toBe(true);
    const audit = await s.auditRows();
    const clicks = audit.filter((r) => r.action === 'migration.approve').map((r) => `${r.user} ${r.outcome}`);
    expect(clicks).toEqual([
      'U0OPS denied',
      'U0ALICE denied',
      'U0DAVE succeeded',
      'U0DAVE invalid',
      'U0ERIN succeeded',
    ]);
    expect(
      audit.filter((r) => r.action === 'migration.phase3.step' && r.outcome === 'succeeded'),
    ).toHaveLength(6);
    // The workload's secret is described, never read, and its value is nowhere.
    expect(s.actions.has('secretsmanager:DescribeSecret')).toBe(true);
    expect(s.actions.has('secretsmanager:GetSecretValue')).toBe(false);
    expect(await dumpRedis(s.redis)).not.toContain(SECRET_VALUE);
    expect(s.logs.join('')).not.toContain(SECRET_VALUE);
    expect(JSON.stringify(s.slack.calls)).not.toContain(SECRET_VALUE);
    // A second request once phase 3 is done is refused: nothing would restart the host for nothing.
    await s.command('U0OPS', '/migration', 'phase3 request +1h');
    await until(
      'the refusal',
      () => s.slack.messages('D0OPS').find((m) => /phase 3 is done/.test(m.text)),
      30_000,
    );
    // Roll back phase 3: the association found is removed; the instance keeps running.
    expect((await s.command('U0OPS', '/migration', 'rollback 3')).text).toMatch(
      /Queued: rolling back phase 3/,
    );
    await until(
      'the rollback report',
      () => s.slack.messages('D0OPS').find((m) => /Phase 3 rolled back/.test(m.text)),
      30_000,
    );
    const rolled = await instance(instanceId);
    expect(rolled.state).toBe('running');
    expect(rolled.associations).toHaveLength(0);
  }, 120_000);

  it('Reject (with a reason, through the modal): rejected card, its window cancelled, nothing runs, a new request is possible', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld());
    const c = await request(s, '+4s 20s');
    const id = requestIdOf(c);
    const click = clicker(s);
    expect(await click('U0DAVE', 'mig_reject', id, c.ts)).toMatch(/reason/);
    const open = await until('the modal', () => s.slack.callsTo('views.open')[0]);
    expect(JSON.stringify(open.args.view)).toContain('mig_reject_submit');
    expect(await migrationJobState(s, `mig-expire-${id}`)).toBe('delayed');
    await submitReject(s, 'U0DAVE', id, 'not on a Friday');
    await until('the card says rejected', () =>
      /Rejected.*by <@U0DAVE>: not on a Friday/.test(cardText(s)) ? true : undefined,
    );
    // Rejected is final: the expiry job is gone from the queue, not left delayed.
    expect(await migrationJobState(s, `mig-expire-${id}`)).toBeUndefined();
    await until('the window cancelled', () =>
      s.slack.messages('C0MAINT').find((m) => /is cancelled/.test(m.text)),
    );
    await new Promise((r) => setTimeout(r, 5_000)); // past the window start
    expect(s.actions.has('ec2:StopInstances')).toBe(false);
    const again = await s.command('U0OPS', '/migration', 'phase3 request +1h');
    expect(again.text).toMatch(/Queued/);
    await until(
      'a second card',
      () =>
        s.slack
          .messages(APPROVALS)
          .filter((m) => !m.thread_ts && /Phase 3: attach/.test(JSON.stringify(m.blocks))).length === 2
          ? true
          : undefined,
      30_000,
    );
  }, 60_000);

  it('expires with one approval when the run can no longer fit; EC2 unchanged', async ({ startStack }) => {
    const s = await startStack(withMigrationWorld());
    const c = await request(s, '+3s 10s');
    expect(await clicker(s)('U0DAVE', 'mig_approve', requestIdOf(c), c.ts)).toMatch(/1 of 2/);
    await until('the card says expired', () => (/Expired/.test(cardText(s)) ? true : undefined), 20_000);
    expect(s.actions.has('ec2:StopInstances')).toBe(false);
    expect(
      (await instance((s.config.migration as { instanceId: string }).instanceId)).associations,
    ).toHaveLength(0);
  }, 40_000);

  it('refuses an approver removed from the role between the post and the click', async ({ startStack }) => {
    const s = await startStack(withMigrationWorld());
    const c = await request(s, '+1h');
    const demoted: Config = Object.freeze({ ...s.config, roles: { admin: ['U0OPS'], approver: ['U0ERIN'] } });
    const other = await s.startInstance('bot', { config: demoted });
    expect(await clicker(s, other.port)('U0DAVE', 'mig_approve', requestIdOf(c), c.ts)).toMatch(
      /not allowed/,
    );
    expect(cardText(s)).toMatch(/Approvals:\* 0 of 2/);
  });

  it('refuses the run when the plan changed after the approvals (a worker with another instanceProfile)', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld({}, { topology: { bots: 1, workers: 1 } }));
    const c = await request(s, '+8s 60s');
    const id = requestIdOf(c);
    // From now on the only worker runs a config whose plan differs.
    await s.instances[1]?.close();
    const changed: Config = Object.freeze({
      ...s.config,
      migration: { ...(s.config.migration as object), instanceProfile: 'another-profile' },
    }) as Config;
    await s.startInstance('worker', { config: changed });
    const click = clicker(s);
    await click('U0DAVE', 'mig_approve', id, c.ts);
    expect(await click('U0ERIN', 'mig_approve', id, c.ts)).toMatch(/Approved/);
    await until(
      'the card says the plan changed',
      () => (/plan changed after approval/.test(cardText(s)) ? true : undefined),
      30_000,
    );
    expect(s.actions.has('ec2:StopInstances')).toBe(false);
  }, 60_000);

  it('refuses the request when one day of the last week had a test dump 8 % smaller (the streak breaks there)', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld({ shrink: { daysAgo: 3, pct: 8 } }));
    const ack = await s.command('U0OPS', '/migration', 'phase3 request +1h');
    expect(ack.text).toMatch(/Queued/);
    const dm = await until(
      'the refusal',
      () => s.slack.messages('D0OPS').find((m) => /failed/.test(m.text)),
      30_000,
    );
    expect(dm.text).toMatch(
      /parallel testing has 3 good days in a row, phase 3 needs 7: .*sizes differ by 8 %/,
    );
    expect(card(s)).toBeUndefined();
  });

  it('fails on a deleted profile with Retry and Roll back; rollback leaves no association and the instance running', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld());
    const instanceId = (s.config.migration as { instanceId: string }).instanceId;
    const c = await request(s, '+2s 60s');
    const id = requestIdOf(c);
    const iam = aws(IAMClient);
    await iam.send(
      new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: PROFILE, RoleName: ROLE }),
    );
    await iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: PROFILE }));
    const click = clicker(s);
    await click('U0DAVE', 'mig_approve', id, c.ts);
    await click('U0ERIN', 'mig_approve', id, c.ts);
    await until(
      'the card says failed at step 3',
      () => (/Failed at step 3/.test(cardText(s)) ? true : undefined),
      30_000,
    );
    expect(cardText(s)).toContain('mig_retry');
    expect(cardText(s)).toContain('mig_rollback');
    await until('the failure in the card thread', () =>
      s.slack.messages(APPROVALS).find((m) => m.thread_ts === c.ts && /failed at step 3/.test(m.text)),
    );
    // Retry fails again the same way (the profile is still gone), from the failed step: no second stop.
    await click('U0ERIN', 'mig_retry', id, c.ts);
    await until(
      'the second failure',
      () => (s.logs.filter((l) => l.includes('phase 3 failed at step 3')).length >= 2 ? true : undefined),
      30_000,
    );
    expect(await click('U0DAVE', 'mig_rollback', id, c.ts)).toMatch(/rolling back/);
    await until(
      'the card says rolled back',
      () => (/Rolled back/.test(cardText(s)) ? true : undefined),
      30_000,
    );
    const after = await instance(instanceId);
    expect(after.state).toBe('running');
    expect(after.associations).toHaveLength(0);
  }, 90_000);

  it('a worker SIGKILLed right after StopInstances: another resumes, does not stop again, one association', async ({
    startStack,
  }) => {
    const s = await startStack(
      withMigrationWorld({}, { topology: { bots: 1, workers: 0 }, jobs: { lockMs: 2_000 } }),
    );
    const instanceId = (s.config.migration as { instanceId: string }).instanceId;
    const worker = await startChatopsProcess({
      name: 'worker',
      role: 'worker',
      logPath: join(mkdtempSync(join(tmpdir(), 'chatops-mig-')), 'worker.log'),
      env: processEnv(s.env, { AWS_ENDPOINT_URL: motoUrl() }),
      readyTimeoutMs: 30_000,
    });
    onTestFinished(() => worker.kill());
    const c = await request(s, '+2s 60s');
    const id = requestIdOf(c);
    const click = clicker(s);
    await click('U0DAVE', 'mig_approve', id, c.ts);
    await click('U0ERIN', 'mig_approve', id, c.ts);
    await until(
      'the instance stops',
      async () => ((await instance(instanceId)).state !== 'running' ? true : undefined),
      30_000,
      10,
    ).catch((err) => {
      throw new Error(`${err}\n${worker.output().slice(-4000)}`);
    });
    await worker.kill();
    // Killed mid-run: the steps saved so far stop short of the end.
    expect(Number(await s.redis.hget(`${s.prefix}:mig:req:${id}`, 'step'))).toBeLessThan(5);
    await s.startInstance('worker');
    await until('the card says done', () => (/Done/.test(cardText(s)) ? true : undefined), 40_000);
    expect(s.actions.has('ec2:StopInstances')).toBe(false); // the in-test worker never stopped it again
    const after = await instance(instanceId);
    expect(after.state).toBe('running');
    expect(after.associations).toHaveLength(1);
  }, 90_000);
});

describe('/migration status, checks and cutover', () => {
  it('keeps one status card, edited in place; check 1 and 2 report in the DM', async ({ startStack }) => {
    const s = await startStack(withMigrationWorld());
    expect((await s.command('U0OPS', '/migration', 'status')).text).toMatch(
      /Queued: updating the migration status card/,
    );
    const first = await until(
      'the status card',
      () =>
        s.slack
          .messages(APPROVALS)
          .find((m) => /EC2 cron-host migration: status/.test(JSON.stringify(m.blocks))),
      30_000,
    );
    expect(JSON.stringify(first.blocks)).toMatch(/streak 8 of 7/);
    expect(JSON.stringify(first.blocks)).toMatch(/Phase 3, instance profile:\* not associated/);
    await s.command('U0OPS', '/migration', 'status');
    await until('an edit', () => (s.slack.callsTo('chat.update').length >= 1 ? true : undefined), 30_000);
    expect(
      s.slack.messages(APPROVALS).filter((m) => /migration: status/.test(JSON.stringify(m.blocks))),
    ).toHaveLength(1);
    await s.command('U0OPS', '/migration', 'check 1');
    await until(
      'check 1',
      () => s.slack.messages('D0OPS').find((m) => /Phase 1 check passed/.test(m.text)),
      30_000,
    );
    await s.command('U0OPS', '/migration', 'check 2');
    await until(
      'check 2',
      () => s.slack.messages('D0OPS').find((m) => /Phase 2: streak 8 of 7/.test(m.text)),
      30_000,
    );
    expect((await s.command('U0ALICE', '/migration', 'status')).text).toMatch(/not allowed/);
  });

  it('cuts over one cron a day in the runbook order; out of order or a second one is refused unless --force (audited); rollback 4 records the reverse', async ({
    startStack,
  }) => {
    const s = await startStack(
      withMigrationWorld({ jobs: [JOB, 'ggh_contractstatusALL', 'ggh_datatransit'] }),
    );
    const cut = async (args: string) => (await s.command('U0OPS', '/migration', `cutover ${args}`)).text;
    expect(await cut('TenantsALL')).toMatch(/not a configured dump job/);
    expect(await cut('ggh_datatransit')).toMatch(/the runbook's order says ggh_contractstatus comes next/);
    expect(await cut(JOB)).toMatch(/Recorded: `ggh_contractstatus` now runs the new script/);
    expect(await cut(JOB)).toMatch(/already cut over/);
    expect(await cut('ggh_contractstatusALL')).toMatch(/one cron was already cut over today/);
    expect(await cut('ggh_contractstatusALL --force')).toMatch(
      /forced past: one cron was already cut over today/,
    );
    expect((await s.command('U0OPS', '/migration', 'rollback 4 ggh_contractstatusALL')).text).toMatch(
      /runs the old script again/,
    );
    expect((await s.command('U0OPS', '/migration', 'rollback 4 ggh_contractstatusALL')).text).toMatch(
      /is not cut over/,
    );
    const forced = (await s.auditRows()).filter(
      (r) => r.action === 'migration' && r.detail?.startsWith('forced'),
    );
    expect(forced.map((r) => `${r.user} ${r.target}`)).toEqual(['U0OPS ggh_contractstatusALL']);
    expect((await s.command('U0OPS', '/migration', 'check 5')).text).toMatch(
      /Phase 5 may not start yet: not cut over: ggh_contractstatusALL, ggh_datatransit/,
    );
  });

  it("watches the cut-over job's next two uploads under dumps/ and shows them on the status card", async ({
    startStack,
  }) => {
    // A seconds-field cron (test-only extension) so both watches fire within seconds.
    const s = await startStack(withMigrationWorld({ cron: '*/3 * * * * *' }));
    expect((await s.command('U0OPS', '/migration', `cutover ${JOB}`)).text).toMatch(
      /next two uploads under dumps\/ are watched/,
    );
    const statusText = () =>
      JSON.stringify(
        s.slack.messages(APPROVALS).find((m) => /migration: status/.test(JSON.stringify(m.blocks)))?.blocks ??
          '',
      );
    await until(
      'both uploads seen on the status card',
      () =>
        /ggh_contractstatus since [0-9-]+: uploads [0-9-]+ :white_check_mark:, [0-9-]+ :white_check_mark:/.test(
          statusText(),
        )
          ? true
          : undefined,
      20_000,
    ).catch((err) => {
      throw new Error(`${err}\n${statusText()}`);
    });
  }, 40_000);

  it('refuses bad arguments with usage and changes nothing', async ({ startStack }) => {
    const s = await startStack(withMigrationWorld());
    for (const [text, re] of [
      ['phase3 request 2020-01-01 10:00', /in the past/],
      ['phase3 request +1h 0m', /more than zero/],
      ['phase3', /phase3 request <start>/],
      ['check 7', /check takes a phase/],
      ['rollback 9', /rollback 3/],
      ['launch', /unknown subcommand/],
    ] as const) {
      expect((await s.command('U0OPS', '/migration', text)).text, text).toMatch(re);
    }
    expect(s.slack.callsTo('chat.postMessage')).toHaveLength(0);
  });
});

describe('/migration check 5: the cleanup gate and the approval-gated deletion of dumps-test/', () => {
  const WEBHOOK_SECRET = 'dump-webhook-secret-mig5-not-real';
  const DUMPS_TEST = 'dumps-test/';
  const ALL_TEST_KEYS = 8; // seedWorld: 8 days of both dumps, 1000..1007 bytes

  async function gateAnswer(s: Stack): Promise<string> {
    return (await s.command('U0OPS', '/migration', 'check 5')).text;
  }

  /** `check 5` with the gate open, and the approval card it leads to. */
  async function requestCleanup(s: Stack): Promise<{ c: FakeSlackMessage; id: string }> {
    await seedCutover(s, JOB, 15);
    expect(await gateAnswer(s)).toMatch(/Phase 5 may start/);
    const c = await until('the cleanup card', () => cleanupCard(s), 30_000);
    return { c, id: requestIdOf(c) };
  }

  it('stays closed, with the reason and nothing posted: a cron not cut over, 13 of 14 days, a failed dump check after the last cutover', async ({
    startStack,
  }) => {
    const s = await startStack(
      withMigrationWorld(
        { jobs: [JOB, 'ggh_datatransit'] },
        { env: { DUMP_WEBHOOK_SECRET: WEBHOOK_SECRET } },
      ),
    );
    await seedCutover(s, JOB, 20);
    expect(await gateAnswer(s)).toMatch(/Phase 5 may not start yet: not cut over: ggh_datatransit\./);
    await seedCutover(s, 'ggh_datatransit', 13.5);
    expect(await gateAnswer(s)).toMatch(
      /Phase 5 may not start yet: 13 of 14 days since the last cutover \(ggh_datatransit, [0-9-]+ [0-9:]+ JST\); the earliest is /,
    );
    // Cut over 15 days ago instead: open, until the cron host reports a failed dump.
    await s.redis.hdel(`${s.prefix}:mig:cutovers`, 'ggh_datatransit');
    await seedCutover(s, 'ggh_datatransit', 15);
    const body = JSON.stringify({
      job: JOB,
      status: 'failed',
      exitCode: 2,
      message: 'mysqldump: lost connection',
    });
    const res = await postDumpReport(s, body, { secret: WEBHOOK_SECRET });
    expect(res.status).toBe(202);
    const alert = await until('the dump alert', () =>
      s.slack.messages('C0ALERTS').find((m) => JSON.stringify(m.blocks ?? '').includes(`da-${JOB}-`)),
    );
    const [, y, mo, d] =
      /da-ggh_contractstatus-(\d{4})(\d{2})(\d{2})/.exec(JSON.stringify(alert.blocks)) ?? [];
    expect(await gateAnswer(s)).toMatch(
      new RegExp(
        `Phase 5 may not start yet: the dump check of ${JOB} for ${y}-${mo}-${d} failed \\(reported-failed\\) at .*, after the last cutover \\(ggh_datatransit, `,
      ),
    );
    // Closed every time: no card, no listing, no deletion, and the test dumps are all there.
    expect(s.slack.messages(APPROVALS)).toHaveLength(0);
    expect(s.actions.has('s3:ListBucket')).toBe(false);
    expect(s.actions.has('s3:DeleteObject')).toBe(false);
    expect(await keysUnder(DUMPS_TEST)).toHaveLength(ALL_TEST_KEYS);
    const checks = (await s.auditRows()).filter((r) => r.action === 'migration').map((r) => r.detail);
    expect(checks).toEqual(['gate closed', 'gate closed', 'gate closed']);
  });

  it('open: one card with the exact plan; the requester and a non-approver are refused; two approvers delete dumps-test/ and nothing under dumps/; audited', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld());
    await seedCutover(s, JOB, 15);
    const ack = await gateAnswer(s);
    expect(ack).toMatch(/Phase 5 may start: every cron is cut over, 15 days since the last cutover/);
    for (const step of ['~/cron_scripts/', '~/.aws/credentials', '~/.aws/config', 'update the documentation'])
      expect(ack).toContain(step);
    expect(ack).toContain(`s3://${BUCKET}/${DUMPS_TEST}`);
    const c = await until('the cleanup card', () => cleanupCard(s), 30_000);
    const id = requestIdOf(c);
    expect(id).toMatch(/^p5-/);
    const text = cleanupCardText(s);
    expect(text).toContain('in account osio (386414299200, us-east-1)');
    expect(text).toContain(`s3://${BUCKET}/${DUMPS_TEST}`);
    expect(text).toContain('8 objects, 7.8 KiB (8,028 bytes)');
    expect(text).toMatch(/Approvals:\* 0 of 2/);
    expect(text).toMatch(/Expires:\* <!date\^\d+/);
    const blocks = (c.blocks ?? []) as { type: string; elements?: Record<string, unknown>[] }[];
    const buttons = blocks.find((b) => b.type === 'actions')?.elements ?? [];
    expect(buttons.map((e) => [e.action_id, e.value, Boolean(e.confirm)])).toEqual([
      ['mig_approve', id, true],
      ['mig_reject', id, true],
    ]);
    expect(await migrationJobState(s, `mig-expire-${id}`)).toBe('delayed');
    await until('the requester is told', () =>
      s.slack
        .messages('D0OPS')
        .find((m) => m.text.includes(`Cleanup request \`${id}\` is waiting for 2 approvals`)),
    );
    // A second check 5 names the open request and posts nothing new.
    expect(await gateAnswer(s)).toContain(`The deletion is already requested: \`${id}\` is pending`);

    const click = clicker(s);
    expect(await click('U0OPS', 'mig_approve', id, c.ts)).toMatch(/You requested this/);
    expect(await click('U0ALICE', 'mig_approve', id, c.ts)).toMatch(/not allowed/);
    expect(await click('U0DAVE', 'mig_approve', id, c.ts)).toMatch(/Counted: 1 of 2/);
    await until('the card says 1 of 2', () =>
      /Approvals:\* 1 of 2: <@U0DAVE>/.test(cleanupCardText(s)) ? true : undefined,
    );
    expect(await keysUnder(DUMPS_TEST)).toHaveLength(ALL_TEST_KEYS);
    expect(await click('U0ERIN', 'mig_approve', id, c.ts)).toMatch(
      /Approved \(2 of 2\): deleting the 8 objects under `s3:\/\/jram-gghouse\/dumps-test\/` now/,
    );
    await until('the card says done', () => (/Done/.test(cleanupCardText(s)) ? true : undefined), 30_000);
    expect(cleanupCardText(s)).toContain('8 of 8 objects deleted');
    expect(cleanupCardText(s)).not.toContain('mig_approve');
    await until('the completion in the card thread', () =>
      s.slack.messages(APPROVALS).find((m) => m.thread_ts === c.ts && /Deleted 8 objects/.test(m.text)),
    );
    expect(await keysUnder(DUMPS_TEST)).toEqual([]);
    expect(await keysUnder('dumps/')).toHaveLength(8);
    expect(
      s.slack.messages(APPROVALS).filter((m) => !m.thread_ts && /Phase 5/.test(JSON.stringify(m.blocks))),
    ).toHaveLength(1);
    expect(s.actions.has('s3:DeleteObject')).toBe(true);
    expect(await migrationJobState(s, `mig-expire-${id}`)).toBeUndefined();
    const audit = await s.auditRows();
    expect(
      audit.filter((r) => r.action === 'migration.approve').map((r) => `${r.user} ${r.outcome}`),
    ).toEqual(['U0OPS denied', 'U0ALICE denied', 'U0DAVE succeeded', 'U0ERIN succeeded']);
    expect(
      audit
        .filter((r) => r.action === 'migration.cleanup.delete')
        .map((r) => `${r.user} ${r.outcome} ${r.detail}`),
    ).toEqual(['U0OPS succeeded batch 1: 8 objects (8 of 8)']);
  });

  it('Reject (through the modal): the card says rejected with the reason, nothing is deleted, the expiry is gone', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld());
    const { c, id } = await requestCleanup(s);
    const click = clicker(s);
    expect(await click('U0DAVE', 'mig_approve', id, c.ts)).toMatch(/Counted: 1 of 2/);
    expect(await click('U0ERIN', 'mig_reject', id, c.ts)).toMatch(/reason/);
    const open = await until('the modal', () => s.slack.callsTo('views.open')[0]);
    expect(JSON.stringify(open.args.view)).toContain('Reject the cleanup');
    await submitReject(s, 'U0ERIN', id, 'keep them one more week');
    await until('the card says rejected', () =>
      /Rejected.*by <@U0ERIN>: keep them one more week/.test(cleanupCardText(s)) ? true : undefined,
    );
    expect(cleanupCardText(s)).not.toContain('mig_approve');
    // A later approval changes nothing.
    expect(await click('U0OPS', 'mig_approve', id, c.ts)).toMatch(
      /This request is rejected; nothing changed/,
    );
    expect(await keysUnder(DUMPS_TEST)).toHaveLength(ALL_TEST_KEYS);
    expect(s.actions.has('s3:DeleteObject')).toBe(false);
    expect(await migrationJobState(s, `mig-expire-${id}`)).toBeUndefined();
  });

  it('refuses to delete when dumps-test/ changed after the listing: the card expires, nothing is deleted', async ({
    startStack,
  }) => {
    const s = await startStack(withMigrationWorld());
    const { c, id } = await requestCleanup(s);
    await aws(S3Client).send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `${DUMPS_TEST}late-upload`, Body: 'x' }),
    );
    const click = clicker(s);
    await click('U0DAVE', 'mig_approve', id, c.ts);
    expect(await click('U0ERIN', 'mig_approve', id, c.ts)).toMatch(/Approved/);
    await until(
      'the card says expired',
      () => (/Expired.*not in the approved listing/.test(cleanupCardText(s)) ? true : undefined),
      30_000,
    );
    expect(await keysUnder(DUMPS_TEST)).toHaveLength(ALL_TEST_KEYS + 1);
    expect(s.actions.has('s3:DeleteObject')).toBe(false);
  });
});
