// The playground as a new user runs it: `playground/main.ts --script`, a child process with its own
// moto, the suite's Redis, and everything else private. The test checks each outcome where it lands
// (the mail on disk, the password in moto, the pipeline in the osio account, the audit trail in Redis),
// then stops the playground and checks that nothing it started is still running.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DataPipelineClient, ListPipelinesCommand } from '@aws-sdk/client-data-pipeline';
import { DescribeIamInstanceProfileAssociationsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createGpgHome, parseMail, resetMoto } from '../../devkit/index.js';
import { createAwsClients } from '../../infra/aws.js';
import { loadConfig } from '../../infra/config.js';
import { createRedis } from '../../infra/redis.js';
import { motoUrl as workerMotoUrl } from '../helpers/moto-url.js';

const REPO = resolve(import.meta.dirname, '../..');
const OSIO = '386414299200';
const OSIO_DEV = '619539278362';

interface State {
  pid: number;
  motoUrl: string;
  motoStarted: boolean;
  redisUrl: string;
  redisStarted: boolean;
  prefix: string;
  smtpUrl: string;
  slackApiUrl: string;
  botUrl: string;
  botPid: number;
  config: string;
}

interface Run {
  child: ChildProcess;
  output(): string;
  /** Resolves once stdout matches `re`; rejects with the output so far when the process ends or time runs out. */
  waitFor(re: RegExp, timeoutMs: number): Promise<void>;
  exited: Promise<number | null>;
}

let run: Run | undefined;
let dir: string | undefined;

afterEach(async () => {
  if (run && run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGTERM');
    await Promise.race([run.exited, new Promise((r) => setTimeout(r, 20_000))]);
    run.child.kill('SIGKILL');
  }
  run = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function startPlayground(args: string[], env: Record<string, string | undefined>): Run {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) childEnv[k] = v;
  const child = spawn(process.execPath, ['--import', 'tsx', 'playground/main.ts', ...args], {
    cwd: REPO,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (c: Buffer) => {
    out += c.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor(re, timeoutMs) {
      return new Promise((resolvePromise, reject) => {
        const check = () => {
          if (re.test(out)) {
            done();
            resolvePromise();
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`playground output never matched ${re} within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then((code) => {
          if (!re.test(out)) {
            done();
            reject(new Error(`playground exited (${code}) before its output matched ${re}:\n${out}`));
          }
        });
        check();
      });
    },
  };
}

/** The console password moto stores for a user. */
async function motoPassword(motoUrl: string, accountId: string, user: string): Promise<string | undefined> {
  const data = (await (await fetch(`${motoUrl}/moto-api/data.json`)).json()) as {
    iam?: { User?: { account_id?: string; name?: string; password?: string | null }[] };
  };
  return data.iam?.User?.find((u) => u.account_id === accountId && u.name === user)?.password ?? undefined;
}

async function pipelinesIn(state: State, alias: string): Promise<string[]> {
  process.env.AWS_ENDPOINT_URL = state.motoUrl;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  const aws = createAwsClients(loadConfig(state.config));
  const dp = aws.client(DataPipelineClient, alias, 'playground-test');
  const out = await dp.send(new ListPipelinesCommand({}));
  return (out.pipelineIdList ?? []).map((p) => p.name ?? '');
}

function awsOf(state: State) {
  process.env.AWS_ENDPOINT_URL = state.motoUrl;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  return createAwsClients(loadConfig(state.config));
}

/** The audit trail of a playground run, as `user:action:outcome`. */
async function auditOf(state: State): Promise<string[]> {
  const redis = createRedis(state.redisUrl);
  try {
    return (await redis.xrange(`${state.prefix}:audit`, '-', '+')).map(([, f]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i + 1 < f.length; i += 2) o[f[i] as string] = f[i + 1] as string;
      return `${o.user}:${o.action}:${o.outcome}`;
    });
  } finally {
    await redis.quit();
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The output between the line that echoes `command` and the next prompt echo. */
function replyTo(output: string, prompt: string): string {
  const start = output.indexOf(prompt);
  if (start === -1) throw new Error(`no "${prompt}" in the output:\n${output}`);
  const rest = output.slice(start + prompt.length);
  const next = rest.search(/\n\w+@#\w+> /);
  return next === -1 ? rest : rest.slice(0, next);
}

describe('npm run playground -- --script', () => {
  it('resets a password (mailed, decrypts to what moto holds), exports to osio, helps, and denies', async () => {
    dir = mkdtempSync(join(tmpdir(), 'chatops-playground-'));
    const script = join(dir, 'e2e.script');
    writeFileSync(
      script,
      [
        '# alice resets her own password',
        '/as alice',
        '/reset-password',
        '/wait 30',
        '# the interrupt-catcher exports the production table',
        '/as carol',
        '/ddb-export prod_txlog',
        '/wait 30',
        '/chatops help',
        '# no role: denied',
        '/as bob',
        '/ddb-export prod_txlog',
        '# a mention reaches the bot as Slack sends it (manifest.yml: should_escape), and is denied',
        '/reset-password @alice',
        '',
      ].join('\n'),
    );
    run = startPlayground(['--script', script, '--dir', dir, '--keep', '--timeout', '45'], {
      REDIS_URL: inject('redisUrl'),
      // Its own moto, as for a new user.
      AWS_ENDPOINT_URL: undefined,
      LOG_LEVEL: 'info',
    });
    await run.waitFor(/--keep: everything keeps running/, 120_000);
    const out = run.output();
    expect(out, out).toMatch(/── script done: 5 steps; .* 0 failed; 0 errors/);
    const state = JSON.parse(readFileSync(join(dir, 'run/state.json'), 'utf8')) as State;
    expect(state.motoStarted).toBe(true);
    expect(state.redisStarted).toBe(false);

    // /reset-password: the ack, the progress card edited to done, one mail saved for alice.
    expect(replyTo(out, 'alice@#general> /reset-password')).toMatch(
      /\(only visible to you\)\n.*Queued: resetting the console password of alice in osio-dev/,
    );
    expect(out).toMatch(
      /\[DM\] chatops \[edited\]\n.*Password reset for alice in osio-dev\n.*mailed to a\*\*\*@example\.com/,
    );
    const mails = readdirSync(join(dir, 'mail')).filter((f) => f.endsWith('.eml'));
    expect(mails).toHaveLength(1);
    const raw = readFileSync(join(dir, 'mail', mails[0] as string), 'utf8');
    const mail = parseMail(raw, { from: '', to: [] });
    expect(mail.headers.to).toBe('alice@example.com');
    const armored = /-----BEGIN PGP MESSAGE-----[\s\S]+?-----END PGP MESSAGE-----/.exec(mail.text)?.[0];
    expect(armored, 'the saved mail carries a PGP message').toBeTruthy();
    const gpg = await createGpgHome();
    let plaintext: string;
    try {
      await gpg.importKey(readFileSync(join(dir, 'keys/alice.sec.asc'), 'utf8'));
      plaintext = await gpg.decrypt(armored as string);
    } finally {
      await gpg.close();
    }
    const password = /^Password:\s+(\S+)$/m.exec(plaintext)?.[1];
    expect(password, plaintext).toBeTruthy();
    expect(await motoPassword(state.motoUrl, OSIO_DEV, 'alice')).toBe(password);
    // The seeded osio-dev policy asks for 24+ characters.
    expect((password as string).length).toBeGreaterThanOrEqual(24);

    // /ddb-export as carol: queued, and the pipeline exists in osio (the source account) only.
    expect(replyTo(out, 'carol@#general> /ddb-export prod_txlog')).toMatch(
      /Queued: exporting `prod_txlog` from osio/,
    );
    expect(await pipelinesIn(state, 'osio')).toContain('prod_txlog');
    expect(await pipelinesIn(state, 'osio-dev')).not.toContain('prod_txlog');
    expect(out).toMatch(/job still watching AWS \(settled for now\): ddb-export prod_txlog: delayed/);

    // /chatops help lists the commands carol may run, and not the admin's.
    const help = replyTo(out, 'carol@#general> /chatops help');
    expect(help).toMatch(/Commands you can run/);
    for (const c of ['/reset-password', '/ddb-export', '/chatops help', '/dumps']) {
      expect(help).toContain(c);
    }
    expect(help).not.toContain('/chatops audit');

    // bob has no role: denied, and the denial is audited.
    expect(replyTo(out, 'bob@#general> /ddb-export prod_txlog')).toMatch(
      /You are not allowed to do that \(ddb-export; allowed roles: admin, interrupt-catcher\)/,
    );
    // "@alice" arrived as <@U0ALICE|alice>: someone else, so the other permission; never an IAM user "@alice".
    expect(replyTo(out, 'bob@#general> /reset-password @alice')).toMatch(
      /You are not allowed to do that \(reset-password\.other; allowed roles: admin, interrupt-catcher\)/,
    );
    const redis = createRedis(state.redisUrl);
    try {
      // Denials and invalid input are kept in a stream of their own (infra/audit.ts).
      const rows = [
        ...(await redis.xrange(`${state.prefix}:audit`, '-', '+')),
        ...(await redis.xrange(`${state.prefix}:audit:refused`, '-', '+')),
      ].map(([, f]) => {
        const o: Record<string, string> = {};
        for (let i = 0; i + 1 < f.length; i += 2) o[f[i] as string] = f[i + 1] as string;
        return `${o.user}:${o.action}:${o.outcome}`;
      });
      expect(rows).toContain('U0BOB:ddb-export:denied');
      expect(rows).toContain('U0BOB:reset-password.other:denied');
      expect(rows).toContain('U0ALICE:reset-password:succeeded');
      expect(rows).toContain('U0CAROL:ddb-export:queued');

      // Stopping leaves nothing behind: bot, moto, SMTP, fake Slack, and this run's Redis keys.
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(run.output()).toMatch(/Nothing is left running/);
      expect(alive(state.botPid)).toBe(false);
      expect(await answers(`${state.motoUrl}/moto-api/`)).toBe(false);
      expect(await answers(state.botUrl)).toBe(false);
      expect(await answers(state.slackApiUrl)).toBe(false);
      expect(await redis.keys(`${state.prefix}:*`)).toEqual([]);
      expect(existsSync(join(dir, 'run/state.json'))).toBe(false);
    } finally {
      await redis.quit();
    }
  }, 180_000);

  it('shows a maintenance window: the announcement in #maintenance, then reminder, start and completion in its thread', async () => {
    dir = mkdtempSync(join(tmpdir(), 'chatops-playground-'));
    const motoUrl = workerMotoUrl();
    await resetMoto(motoUrl);
    const script = join(dir, 'maintenance.script');
    // The demo config reminds 30 s ahead: a window 35 s out gets its reminder 5 s after scheduling.
    writeFileSync(
      script,
      [
        '/as ops',
        '/channel maintenance',
        '/maintenance schedule +35s 10s Demo window',
        '/wait 20',
        '/maintenance list',
        '/sleep 50',
        '',
      ].join('\n'),
    );
    run = startPlayground(['--script', script, '--dir', dir, '--timeout', '20'], {
      REDIS_URL: inject('redisUrl'),
      AWS_ENDPOINT_URL: motoUrl,
      // The reader's zone for <!date>, so the transcript is the same on every machine.
      TZ: 'UTC',
    });
    const code = await run.exited;
    const out = run.output();
    expect(code, out).toBe(0);
    // Four notices and, since mail went to its own job, four mails.
    expect(out).toMatch(
      /── script done: 2 steps; jobs: 8 completed, 0 stopped with a reason, 0 failed; 0 errors/,
    );

    const schedule = 'ops@#maintenance> /maintenance schedule +35s 10s Demo window';
    const id = /Scheduled `(mw-[0-9a-f]+)` Demo window/.exec(replyTo(out, schedule))?.[1];
    expect(id, out).toBeTruthy();
    // From the command on: messages show as they arrive, whichever step is running then.
    const after = out.slice(out.indexOf(schedule));
    // The announcement in #maintenance; /wait lists the notices to come, in order, and does not wait for them.
    const waited = after.slice(0, after.indexOf('ops@#maintenance> /maintenance list'));
    expect(waited).toMatch(
      new RegExp(
        `\\[#maintenance\\] chatops\n {2}📅 Scheduled: \\[MAINTENANCE\\] Demo window \\(\`${id}\`\\)`,
      ),
    );
    // <!date> as Slack shows it (the reader's zone), then the configured zone's text.
    expect(waited).toMatch(/Timeline: \w+ \d\d:\d\d – \w+ \d\d:\d\d \(\d{4}-\d\d-\d\d \d\d:\d\d JST/);
    expect(waited).toMatch(/\[1: Edit details\] {2}\[2: Cancel window\]/);
    const upcoming = [...waited.matchAll(/scheduled for later .*: maintenance (mw-\S+ [^:]+):/g)].map(
      (m) => m[1],
    );
    expect(upcoming).toEqual([
      `${id} reminder (30s before)`,
      `${id} start notice`,
      `${id} completion notice`,
    ]);
    expect(replyTo(out, 'ops@#maintenance> /maintenance list')).toMatch(
      new RegExp(`\`${id}\` Demo window: .*, scheduled; next: reminder \\(30s before\\)`),
    );

    // As time passes, each notice arrives as a reply in the announcement's thread, in order, and the
    // announcement is edited to each state (an edit that changes nothing visible is not shown again).
    const thread =
      '\\[#maintenance\\] chatops ↳ reply in the thread of "\\[MAINTENANCE\\] Demo window: [a-z-]+"';
    const at = (re: RegExp) => after.search(re);
    const reminder = at(
      new RegExp(`${thread}\n {2}│ 🔔 Reminder: Demo window starts \\w+ \\d\\d:\\d\\d \\(in 30s\\)\\.`),
    );
    const start = at(
      new RegExp(`${thread}, also sent to the channel\n {2}│ 🚧 Maintenance Demo window has started\\.`),
    );
    const inProgress = at(
      /\[#maintenance\] chatops \[edited\]\n {2}🚧 In progress: \[MAINTENANCE\] Demo window/,
    );
    const end = at(
      new RegExp(`${thread}, also sent to the channel\n {2}│ ✅ Maintenance Demo window is complete\\.`),
    );
    const completed = at(
      /\[#maintenance\] chatops \[edited\]\n {2}✅ Completed: \[MAINTENANCE\] Demo window/,
    );
    expect(
      [reminder, start, inProgress, end, completed].every((i) => i >= 0),
      after,
    ).toBe(true);
    expect(reminder).toBeLessThan(start);
    expect(start).toBeLessThan(inProgress);
    expect(inProgress).toBeLessThan(end);
    expect(end).toBeLessThan(completed);
    expect(after.match(/has started/g)).toHaveLength(1);
    expect(after.match(/📅 Scheduled:/g)).toHaveLength(1);

    // Each notice is mailed to maintenance.emailTo with the subject.
    const mails = readdirSync(join(dir, 'mail'))
      .filter((f) => f.endsWith('.eml'))
      .map((f) => parseMail(readFileSync(join(dir as string, 'mail', f), 'utf8'), { from: '', to: [] }));
    expect(mails.map((m) => m.headers.to)).toEqual(Array(4).fill('stakeholders@example.com'));
    expect(mails.map((m) => m.headers.subject)).toEqual(Array(4).fill('[MAINTENANCE] Demo window'));
  }, 150_000);

  it('shows a dump alert raised, acknowledged, re-checked and resolved, and a phase-3 run approved by two and done', async () => {
    dir = mkdtempSync(join(tmpdir(), 'chatops-playground-'));
    const motoUrl = workerMotoUrl();
    await resetMoto(motoUrl);
    const script = join(dir, 'dumps-migration.script');
    writeFileSync(
      script,
      [
        "# the cron host loses today's dump; a check alerts, carol acknowledges, re-checks",
        '/as carol',
        '/world dump ggh_datatransit missing',
        '/dumps check ggh_datatransit',
        '/wait 20',
        '/channel alerts',
        '/click Acknowledge',
        '/wait 20',
        '/world dump ggh_datatransit short',
        '/click Re-check',
        '/wait 20',
        '/world dump ggh_datatransit ok',
        '/click Re-check',
        '/wait 20',
        '# phase 3: requested by ops, approved by dave and erin, run at the window start',
        '/as ops',
        '/migration phase3 request +15s 1m',
        '/wait 20',
        '/channel approvals',
        '/as dave',
        '/click Approve',
        '/as erin',
        '/click Approve',
        '/as ops',
        '/channel maintenance',
        '/sleep 18',
        '/wait 30',
        '/channel approvals',
        '/world',
        '# undo it, then a second request, rejected through the modal with a reason',
        '/migration rollback 3',
        '/wait 30',
        '/migration phase3 request +1h',
        '/wait 20',
        '/as dave',
        '/click Reject',
        '/submit not on a Friday',
        '/wait 20',
        '',
      ].join('\n'),
    );
    run = startPlayground(['--script', script, '--dir', dir, '--keep', '--timeout', '30'], {
      REDIS_URL: inject('redisUrl'),
      AWS_ENDPOINT_URL: motoUrl,
      TZ: 'UTC',
    });
    await run.waitFor(/--keep: everything keeps running/, 150_000);
    const out = run.output();
    expect(out, out).toMatch(/── script done: \d+ steps; .* 0 failed; 0 errors/);
    const state = JSON.parse(readFileSync(join(dir, 'run/state.json'), 'utf8')) as State;
    const day = /Dump alert: ggh_datatransit for (\d{4}-\d\d-\d\d)/.exec(out)?.[1];
    expect(day, out).toBeTruthy();
    const key = `dumps/ggh_datatransit_${(day as string).replace(/-/g, '')}`;

    // The dump goes missing: the check's answer in carol's DM, one alert in #alerts mentioning @here.
    expect(replyTo(out, 'carol@#general> /world dump ggh_datatransit missing')).toContain(
      `(world: deleted s3://jram-gghouse/${key}.sql.gz)`,
    );
    expect(replyTo(out, 'carol@#general> /wait 20')).toMatch(
      new RegExp(`\\[DM\\] chatops\n {2}Dump check\n {2}❌ ggh_datatransit ${day}: no such object`),
    );
    const alerts = replyTo(out, 'carol@#general> /channel alerts');
    expect(alerts).toMatch(
      new RegExp(
        `\\[#alerts\\] chatops\n {2}@here 🚨 Dump alert: ggh_datatransit for ${day}\n {2}Expected: \`${key}…\``,
      ),
    );
    expect(alerts).toMatch(/Seen: no such object/);
    expect(alerts).toMatch(/\[\d+: Acknowledge\] {2}\[\d+: Re-check\]/);
    // Acknowledge: the answer to carol, and the alert edited without the mention.
    const acked = replyTo(out, 'carol@#alerts> /click Acknowledge');
    expect(acked).toMatch(/\(only visible to you\)\n {2}👀 Acknowledged `da-ggh_datatransit-\d+`/);
    expect(acked).toMatch(/\[#alerts\] chatops \[edited\]\n {2}🚨 Dump alert: ggh_datatransit/);
    expect(acked).toMatch(/👀 Acknowledged by @carol/);
    // A short dump: Re-check edits the same alert (2 failures, too small).
    const short = out.slice(out.indexOf('carol@#alerts> /world dump ggh_datatransit short'));
    expect(short.slice(0, short.indexOf('/world dump ggh_datatransit ok'))).toMatch(
      /\[#alerts\] chatops \[edited\]\n {2}🚨 Dump alert[\s\S]*\(50 % of the median\): too small[\s\S]*Failures: 2/,
    );
    // Whole again: resolved, and "resolved" in the alert's thread.
    const ok = out.slice(out.indexOf('carol@#alerts> /world dump ggh_datatransit ok'));
    expect(ok).toMatch(
      new RegExp(`\\[#alerts\\] chatops \\[edited\\]\n {2}✅ Resolved: dump ggh_datatransit for ${day}`),
    );
    expect(ok).toMatch(/↳ reply in the thread of "Resolved: dump ggh_datatransit[^"]*"\n {2}│ ✅ resolved: /);
    // One alert message for the day: posted once, then only edited.
    expect(out.match(/\[#alerts\] chatops\n {2}@here 🚨 Dump alert/g)).toHaveLength(1);
    expect(
      out.match(/\[#alerts\] chatops \[edited\]\n {2}(🚨 Dump alert|✅ Resolved)/g)?.length,
    ).toBeGreaterThanOrEqual(3);

    // Phase 3: the card in #approvals; each approver's click answered to them; Done after the run.
    const request = 'ops@#alerts> /migration phase3 request +15s 1m';
    expect(replyTo(out, request)).toMatch(/Queued: checking the phase-3 prerequisites/);
    const card = replyTo(out, 'ops@#alerts> /channel approvals');
    expect(card).toMatch(/Phase 3: attach the instance profile \(`p3-[0-9a-f]+`\), requested by @ops/);
    expect(card).toMatch(/parallel-testing streak \d+ of 7 days ✅/);
    expect(card).toMatch(/\[\d+: Approve\] {2}\[\d+: Reject\]/);
    const dave = replyTo(out, 'dave@#approvals> /click Approve');
    expect(dave).toMatch(/\(dialog "Approve phase 3\?": .* dave presses "Approve"\)/);
    expect(dave).toMatch(/Approvals: 1 of 2: @dave/);
    expect(dave).toMatch(/\(only visible to you\)\n {2}☑️ Counted: 1 of 2 approvals\./);
    const erin = replyTo(out, 'erin@#approvals> /click Approve');
    expect(erin).toMatch(/Approvals: 2 of 2: @dave, @erin/);
    expect(erin).toMatch(
      /\(only visible to you\)\n {2}✅ Approved \(2 of 2\): phase 3 runs at the window start/,
    );
    const ran = out.slice(out.indexOf('ops@#approvals> /channel maintenance'));
    const thread =
      '\\[#maintenance\\] chatops ↳ reply in the thread of "\\[MAINTENANCE\\] EC2 cron host[^"]*"';
    const starts = ran.search(new RegExp(`${thread}\n {2}│ 🚧 Phase 3 \\(\`p3-[0-9a-f]+\`\\) starts`));
    const done = ran.search(new RegExp(`${thread}\n {2}│ ✅ Phase 3 \\(\`p3-[0-9a-f]+\`\\) is done`));
    expect(starts, ran).toBeGreaterThanOrEqual(0);
    expect(done).toBeGreaterThan(starts);
    const final = replyTo(out, 'ops@#maintenance> /channel approvals');
    expect(final).toMatch(/\[#approvals\] chatops \[edited\]\n {2}Phase 3: attach[^\n]*\n {2}State: ✅ Done/);
    expect(final.match(/✅ \d\. /g)).toHaveLength(6);
    expect(replyTo(out, 'ops@#approvals> /world')).toMatch(
      /EC2 JRAM-GGH-EC2 i-[0-9a-f]+ \(gghouse\): running; instance profile: tokyobeta-prod-ec2-cron-profile \(associated\)/,
    );

    // Reject through the modal: the reason typed into it reaches the card.
    const reject = replyTo(out, 'dave@#approvals> /click Reject');
    expect(reject).toMatch(/\[modal\] chatops \(open in front of dave\)\n {2}▣ Reject phase 3/);
    expect(replyTo(out, 'dave@#approvals> /submit not on a Friday')).toMatch(
      /State: ⛔ Rejected by @dave: not on a Friday[\s\S]*\(the modal closes\)/,
    );

    // Where it landed: phase 3 was rolled back before the second request, so moto holds no
    // association any more (the /world output above showed it associated); today's whole dump; the audit names each click.
    const aws = awsOf(state);
    const ec2 = aws.client(EC2Client, 'gghouse', 'playground-test');
    const instanceId = /EC2 JRAM-GGH-EC2 (i-[0-9a-f]+)/.exec(out)?.[1] as string;
    const assoc = await ec2.send(
      new DescribeIamInstanceProfileAssociationsCommand({
        Filters: [{ Name: 'instance-id', Values: [instanceId] }],
      }),
    );
    expect(
      (assoc.IamInstanceProfileAssociations ?? [])
        .filter((a) => a.State === 'associated')
        .map((a) => a.IamInstanceProfile?.Arn?.split('/').pop()),
    ).toEqual([]);
    const listed = await aws
      .client(S3Client, 'gghouse', 'playground-test')
      .send(new ListObjectsV2Command({ Bucket: 'jram-gghouse', Prefix: key }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([`${key}.sql.gz`]);
    const audit = await auditOf(state);
    expect(audit).toContain('U0CAROL:dumps.ack:succeeded');
    expect(audit.filter((r) => r.startsWith('U0DAVE:migration.approve:'))).toEqual([
      'U0DAVE:migration.approve:succeeded',
      'U0DAVE:migration.approve:requested',
      'U0DAVE:migration.approve:succeeded',
    ]);
    expect(audit).toContain('U0ERIN:migration.approve:succeeded');

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 200_000);

  it('exits non-zero when a step errors, and names the step', async () => {
    dir = mkdtempSync(join(tmpdir(), 'chatops-playground-'));
    const motoUrl = workerMotoUrl();
    // Seeding into a moto the user already runs: only what is missing is created.
    await resetMoto(motoUrl);
    const script = join(dir, 'bad.script');
    writeFileSync(script, ['/chatops help', '/no-such-command', '/click 7', '/as nobody', ''].join('\n'));
    run = startPlayground(['--script', script, '--dir', dir, '--timeout', '10'], {
      REDIS_URL: inject('redisUrl'),
      AWS_ENDPOINT_URL: motoUrl,
    });
    const code = await run.exited;
    const out = run.output();
    expect(code, out).toBe(1);
    expect(out).toMatch(/Commands you can run/);
    expect(out).toMatch(/✗ \/no-such-command is not a valid command/);
    expect(out).toMatch(/✗ there is no button 7/);
    expect(out).toMatch(/✗ \/as needs one of alice, bob, carol, dave, erin, ops/);
    expect(out).toMatch(/── script done: 1 step; .* 3 errors/);
    // Its moto was the user's: still running, and seeded.
    expect(await answers(`${motoUrl}/moto-api/`)).toBe(true);
    expect(await motoPassword(motoUrl, OSIO, 'alice.smith')).toBeTruthy();
  }, 120_000);
});
