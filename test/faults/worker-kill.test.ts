// Fault 1: SIGKILL of a worker process in the middle of each job kind. Two workers run as their own
// processes, each behind its own proxies; the test holds the request that marks the moment on
// whichever worker took the job, kills that worker, and watches the other finish the job once.
// jobs.lockMs is 2 s, so a dead worker's job is taken over within seconds.

import {
  DataPipelineClient,
  DescribePipelinesCommand,
  ListPipelinesCommand,
} from '@aws-sdk/client-data-pipeline';
import { describe, expect } from 'vitest';
import { type CapturedMail, createGpgHome, type FakeSlackMessage } from '../../devkit/index.js';
import { seedTable } from '../../devkit/worlds/index.js';
import { createAwsClients } from '../../infra/aws.js';
import { seedMissingTodaysDump } from '../helpers/dumps.js';
import {
  cardText,
  instance,
  instanceIdOf,
  requestAndApprove,
  withMigrationWorld,
} from '../helpers/migration.js';
import { ACCOUNTS, type Stack, type StackFixtures, seedIamUser } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { faultLine, it, jobsIn, type Lane, type Lanes, queueIdle, sleep } from './harness.js';

type Fixtures = { startStack: StackFixtures['startStack']; lanes: Lanes };

const LOCK_MS = 2_000;
const DEV = ACCOUNTS['osio-dev'].id;

async function decrypt(mail: CapturedMail, privateKey: string): Promise<string> {
  const armored = /-----BEGIN PGP MESSAGE-----[\s\S]+?-----END PGP MESSAGE-----/.exec(mail.text)?.[0];
  if (!armored) throw new Error('the mail carries no armored PGP message');
  const gpg = await createGpgHome();
  try {
    await gpg.importKey(privateKey);
    return await gpg.decrypt(armored);
  } finally {
    await gpg.close();
  }
}

const passwordIn = (plaintext: string) => /^Password:\s+(\S+)$/m.exec(plaintext)?.[1];

/** Kills the lane's worker and resets every lane's rules, so the others work normally. */
async function killVictim(lanes: Lanes, victim: Lane): Promise<number> {
  for (const l of lanes.all) {
    l.moto.rule = () => 'pass';
    l.slack.rule = () => 'pass';
    l.moto.onForwarded = () => {};
    await l.smtp.setMode('pass');
  }
  const at = Date.now();
  await victim.proc.kill();
  return at;
}

describe('SIGKILL of a worker in the middle of a job', () => {
  async function resetStack({ startStack, lanes }: Fixtures) {
    const stack = await startStack({ topology: { bots: 1, workers: 0 }, jobs: { lockMs: LOCK_MS } });
    await seedIamUser(stack.iam('osio-dev'), 'alice');
    await lanes.startMany(['worker-a', 'worker-b'], 'worker');
    return stack;
  }

  /** `reapplied`: UpdateLoginProfile calls that set the same password again (not a second change). */
  async function resetOutcome(lanes: Lanes, s: Stack, killedAt: number, fault: string, reapplied = 0) {
    const mail = await s.smtp.waitForMessage((m) => m.to.includes('alice@example.com'), 30_000);
    const recoveryMs = mail.receivedAt.getTime() - killedAt;
    await queueIdle(s, 'reset-password');
    await sleep(1_000); // a second mail or change would be here by now
    const mails = s.smtp.messages.length;
    const changes = lanes.awsCalls('UpdateLoginProfile');
    faultLine({
      fault,
      lost: mails === 0 ? 1 : 0,
      doubled: Math.max(0, mails - 1) + Math.max(0, changes - reapplied - 1),
      recoveryMs,
      note: `${changes} UpdateLoginProfile call(s)${reapplied ? `, ${reapplied} of them setting the same password again` : ''}, ${mails} mail(s)`,
    });
    expect(mails).toBe(1);
    const password = passwordIn(await decrypt(mail, s.keys.alice?.privateKey as string));
    expect(await s.motoPassword(DEV, 'alice')).toBe(password);
    return changes;
  }

  it('a reset killed after the IAM change and its saved progress, while the mail is being sent: the other worker only mails, once', async ({
    startStack,
    lanes,
  }) => {
    const s = await resetStack({ startStack, lanes });
    // From the moment a worker changes the password, its SMTP connections hang: it is killed sending.
    for (const l of lanes.all) {
      l.moto.onForwarded = (c) => {
        if (c.name === 'UpdateLoginProfile') void l.smtp.setMode('hang');
      };
    }
    expect((await s.command('U0ALICE', '/reset-password')).text).toMatch(/Queued: resetting/);
    const victim = await lanes.waitForLane('a worker sending the mail', (l) => l.smtp.hanging() > 0);
    const [job] = await jobsIn(s, 'reset-password', ['active']);
    expect(job?.data.pending, 'the change is saved before the mail').toBeTruthy();
    const killedAt = await killVictim(lanes, victim);
    const changes = await resetOutcome(
      lanes,
      s,
      killedAt,
      'worker SIGKILL in a reset, after the IAM change (saved), during the mail',
    );
    expect(changes).toBe(1);
  });

  // IAM cannot tell whether a change it never answered was applied: the next worker re-derives the
  // same password from the saved nonce and CHATOPS_STATE_KEY and sets it again, so the password
  // changes once (to the value mailed), though IAM is asked twice.
  it('a reset killed right after IAM applied the new password, before the worker saw the answer: the same password is set again, not a second one; one mail', async ({
    startStack,
    lanes,
  }) => {
    const s = await resetStack({ startStack, lanes });
    // IAM applies the change; the answer never reaches that worker.
    for (const l of lanes.all)
      l.moto.rule = (c) => (c.name === 'UpdateLoginProfile' ? 'hold-answer' : 'pass');
    expect((await s.command('U0ALICE', '/reset-password')).text).toMatch(/Queued: resetting/);
    const victim = await lanes.waitForLane('IAM to have applied the change', (l) => l.moto.held().length > 0);
    const first = await s.motoPassword(DEV, 'alice');
    expect(first).not.toBe('Initial-Passw0rd!');
    const killedAt = await killVictim(lanes, victim);
    const changes = await resetOutcome(
      lanes,
      s,
      killedAt,
      'worker SIGKILL in a reset, right after IAM applied the change (not yet saved)',
      1,
    );
    expect(changes, 'UpdateLoginProfile calls: the first answer was never seen').toBe(2);
    // resetOutcome checked that the mailed password is the one IAM has: it is still the first one.
    expect(await s.motoPassword(DEV, 'alice')).toBe(first);
  });

  it('an export killed between creating its pipeline and activating it: the other worker defines and activates the same pipeline once', async ({
    startStack,
    lanes,
  }) => {
    const s = await startStack({
      topology: { bots: 1, workers: 0 },
      jobs: { lockMs: LOCK_MS },
      extraConfig: {
        ddbExport: {
          sourceAccount: 'osio',
          targetAccount: 'osio-dev',
          bucket: 'dynamodb-migration-backups-osio',
          // Moto never finishes a pipeline: the watch's first check is out of the test's reach.
          pollStartSeconds: 3600,
        },
      },
    });
    const seed = createAwsClients(s.config);
    await seedTable(s.world, 'osio', { name: 'prod_txlog' });
    const dp = seed.client(DataPipelineClient, 'osio', 'test-seed');
    const pipelines = async () => (await dp.send(new ListPipelinesCommand({}))).pipelineIdList ?? [];
    await lanes.startMany(['worker-a', 'worker-b'], 'worker');
    for (const l of lanes.all) l.moto.rule = (c) => (c.name === 'PutPipelineDefinition' ? 'hold' : 'pass');
    expect((await s.command('U0CAROL', '/ddb-export', 'prod_txlog')).text).toMatch(/Queued: exporting/);
    const victim = await lanes.waitForLane('a worker defining the pipeline', (l) => l.moto.held().length > 0);
    expect(await pipelines()).toHaveLength(1);
    const killedAt = await killVictim(lanes, victim);
    const activated = await until(
      'the pipeline activated',
      () => lanes.all.flatMap((l) => l.moto.calls).find((c) => c.name === 'ActivatePipeline'),
      30_000,
    );
    await until('the export job watching', async () =>
      (await jobsIn(s, 'ddb-export', ['delayed'])).some((j) => j.data.phase === 'watch') ? true : undefined,
    );
    await sleep(1_000);
    const list = await pipelines();
    const creates = lanes.awsCalls('CreatePipeline');
    const activations = lanes.awsCalls('ActivatePipeline');
    const cards = s.slack.messages('D0CAROL').filter((m) => m.text.includes('DynamoDB export'));
    faultLine({
      fault: 'worker SIGKILL in an export, between CreatePipeline and ActivatePipeline',
      lost: activations === 0 ? 1 : 0,
      doubled: Math.max(0, list.length - 1) + Math.max(0, creates - 1) + Math.max(0, activations - 1),
      recoveryMs: activated.at - killedAt,
      note: `${list.length} pipeline(s), ${creates} CreatePipeline, ${activations} ActivatePipeline`,
    });
    expect(list).toHaveLength(1);
    expect(creates).toBe(1);
    expect(activations).toBe(1);
    const fields = (await dp.send(new DescribePipelinesCommand({ pipelineIds: [list[0]?.id as string] })))
      .pipelineDescriptionList?.[0]?.fields;
    expect(fields?.find((f) => f.key === '@pipelineState')?.stringValue).toBe('SCHEDULED');
    expect(cards).toHaveLength(1);
  });

  it('a phase-3 run killed after StopInstances, while it waits for the stop: the other worker resumes without a second stop', async ({
    startStack,
    lanes,
  }) => {
    const stack = await startStack(
      withMigrationWorld({}, { topology: { bots: 1, workers: 0 }, jobs: { lockMs: LOCK_MS } }),
    );
    const s = stack;
    const instanceId = instanceIdOf(s);
    await lanes.startMany(['worker-a', 'worker-b'], 'worker');
    for (const l of lanes.all) {
      let stopped = false;
      l.moto.onForwarded = (c) => {
        if (c.name === 'StopInstances') stopped = true;
      };
      l.moto.rule = (c) => (stopped && c.name === 'DescribeInstances' ? 'hold' : 'pass');
    }
    await requestAndApprove(s, '+2s 60s');
    const victim = await lanes.waitForLane(
      'a worker waiting for the stop',
      (l) => l.moto.held().length > 0,
      40_000,
    );
    expect((await instance(instanceId)).state).not.toBe('running');
    const killedAt = await killVictim(lanes, victim);
    await until('the card says done', () => (/Done/.test(cardText(s)) ? true : undefined), 40_000);
    const doneAt = Date.now();
    await sleep(1_000);
    const after = await instance(instanceId);
    const stops = lanes.awsCalls('StopInstances');
    const associates = lanes.awsCalls('AssociateIamInstanceProfile');
    const starts = lanes.awsCalls('StartInstances');
    const maint = s.slack.messages('C0MAINT').map((m) => m.text);
    const starting = maint.filter((t) => /Phase 3 \(`p3-[0-9a-z]+`\) starts/.test(t)).length;
    const done = maint.filter((t) => /Phase 3 \(`p3-[0-9a-z]+`\) is done/.test(t)).length;
    faultLine({
      fault: 'worker SIGKILL in a phase-3 run, after StopInstances (waiting for the stop)',
      lost: after.state === 'running' && after.associations.length === 1 && done === 1 ? 0 : 1,
      doubled:
        Math.max(0, stops - 1) +
        Math.max(0, associates - 1) +
        Math.max(0, starts - 1) +
        Math.max(0, starting - 1),
      recoveryMs: doneAt - killedAt,
      note: `${stops} StopInstances, ${associates} AssociateIamInstanceProfile, ${starts} StartInstances`,
    });
    expect(stops).toBe(1);
    expect(associates).toBe(1);
    expect(starts).toBe(1);
    expect(after.state).toBe('running');
    expect(after.associations).toHaveLength(1);
    expect([starting, done]).toEqual([1, 1]);
  });

  describe('a maintenance notice being posted', () => {
    const CHANNEL = 'C0MAINT';
    const announcement = (s: Stack, id: string) =>
      s.slack.messages(CHANNEL).find((m) => !m.thread_ts && JSON.stringify(m.blocks ?? '').includes(id));
    const replies = (s: Stack, ts: string): FakeSlackMessage[] =>
      s.slack.messages(CHANNEL).filter((m) => m.thread_ts === ts);

    async function noticeKill({ startStack, lanes }: Fixtures, how: 'hold' | 'hold-answer', fault: string) {
      const s = await startStack({
        topology: { bots: 1, workers: 0 },
        jobs: { lockMs: LOCK_MS },
        extraConfig: { maintenance: { emailTo: ['stakeholders@example.com'], remindBefore: ['1d'] } },
      });
      await lanes.startMany(['worker-a', 'worker-b'], 'worker');
      for (const l of lanes.all) {
        l.slack.rule = (c) =>
          c.name === 'chat.postMessage' && /has started/.test(String(c.args.text)) ? how : 'pass';
      }
      const res = await s.command('U0OPS', '/maintenance', 'schedule +5s 10s Kill test');
      const id = /`(mw-[0-9a-f]+)`/.exec(res.text)?.[1] as string;
      expect(id, res.text).toBeTruthy();
      const ann = await until('the announcement', () => announcement(s, id), 20_000);
      const victim = await lanes.waitForLane('a worker posting the start', (l) => l.slack.held().length > 0);
      const killedAt = await killVictim(lanes, victim);
      // Done by the other worker once it edits the announcement to "in progress" (after posting the
      // start, or after finding it in the thread).
      const started = await until(
        'the start notice handled by the other worker',
        () =>
          s.slack
            .callsTo('chat.update')
            .find((c) => c.at >= killedAt && /: in-progress$/.test(String(c.args.text))),
        30_000,
      );
      await until('the completion', () => replies(s, ann.ts).find((m) => /is complete/.test(m.text)), 30_000);
      await sleep(1_500);
      const thread = replies(s, ann.ts).map((m) => /has started|is complete/.exec(m.text)?.[0]);
      const mails = s.smtp.messages.map((m) => m.text.split(':')[0]);
      const startPosts = thread.filter((t) => t === 'has started').length;
      const startMails = mails.filter((m) => m === 'Started').length;
      faultLine({
        fault,
        lost: (startPosts === 0 ? 1 : 0) + (startMails === 0 ? 1 : 0),
        doubled: Math.max(0, startPosts - 1) + Math.max(0, startMails - 1),
        recoveryMs: started.at - killedAt,
        note: `start notice posted ${startPosts}x, mailed ${startMails}x`,
      });
      expect(thread).toEqual(['has started', 'is complete']);
      expect(mails).toEqual(['Announcement', 'Started', 'Completed']);
    }

    it('killed before Slack has the post: the other worker posts and mails it once, in order', async ({
      startStack,
      lanes,
    }) => {
      await noticeKill(
        { startStack, lanes },
        'hold',
        'worker SIGKILL while posting a maintenance notice (before Slack has it)',
      );
    });

    it('killed after Slack took the post, before the worker recorded it: the notice is still posted once', async ({
      startStack,
      lanes,
    }) => {
      await noticeKill(
        { startStack, lanes },
        'hold-answer',
        'worker SIGKILL while posting a maintenance notice (Slack has it, answer not yet seen)',
      );
    });
  });

  it('a dump check killed while it lists the bucket: the other worker checks once; one alert, counted once', async ({
    startStack,
    lanes,
  }) => {
    const s = await startStack({
      topology: { bots: 1, workers: 0 },
      jobs: { lockMs: LOCK_MS },
      seed: seedMissingTodaysDump,
    });
    await lanes.startMany(['worker-a', 'worker-b'], 'worker');
    for (const l of lanes.all) l.moto.rule = (c) => (c.name === 'ListObjectsV2' ? 'hold' : 'pass');
    expect((await s.command('U0ALICE', '/dumps', 'check ggh_datatransit')).text).toMatch(/Checking/);
    const victim = await lanes.waitForLane('a worker listing the bucket', (l) => l.moto.held().length > 0);
    const killedAt = await killVictim(lanes, victim);
    const report = await until(
      'the check result in the DM',
      () => s.slack.messages('D0ALICE').find((m) => /Dump check/.test(m.text)),
      30_000,
    );
    const reportedAt = s.slack
      .callsTo('chat.postMessage')
      .find((c) => /Dump check/.test(String(c.args.text)))?.at;
    await queueIdle(s, 'dumps');
    await sleep(1_000);
    const alerts = s.slack.messages('C0ALERTS').filter((m) => !m.thread_ts);
    const shown = JSON.stringify(alerts[0]?.blocks ?? '');
    const lists = lanes.awsCalls('ListObjectsV2');
    const reports = s.slack.messages('D0ALICE').filter((m) => /Dump check/.test(m.text)).length;
    faultLine({
      fault: 'worker SIGKILL in a dump check (listing the bucket)',
      lost: alerts.length === 0 ? 1 : 0,
      doubled:
        Math.max(0, alerts.length - 1) + Math.max(0, reports - 1) + (/\*Failures:\* 1 /.test(shown) ? 0 : 1),
      recoveryMs: (reportedAt ?? Date.now()) - killedAt,
      note: `${alerts.length} alert(s), ${lists} ListObjectsV2 reached moto`,
    });
    expect(report.text).toMatch(/ggh_datatransit/);
    expect(alerts).toHaveLength(1);
    expect(shown).toMatch(/\*Failures:\* 1 /);
    expect(reports).toBe(1);
    expect(lists).toBe(1);
  });
});
