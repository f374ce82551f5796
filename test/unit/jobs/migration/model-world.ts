// The world the model-based test drives: the real /migration code (request operations, the run, the
// rollback, the watchdog, the store and its Lua on the real Redis) with fakes around it: a recording
// AWS that can refuse, lose an answer, or hang a caller for good (a killed worker) or for a while (a
// runner whose lock lapses); a Slack that can fail; a job table with BullMQ's rules (job ids, locks,
// stalls past maxStalledCount, attempts); and a clock that only moves when the test says so.
// After every step the invariants of issue 21 are checked against the test's own record of what
// was approved, configured and cancelled.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AuditEntry } from '../../../../infra/audit.js';
import { type Config, isAllowed, parseConfig } from '../../../../infra/config.js';
import { TransientError, UserError } from '../../../../infra/errors.js';
import { createLogger } from '../../../../infra/logger.js';
import type { Blocks, MessageRef, Notifier, OnceKey, OutgoingMessage } from '../../../../infra/notifier.js';
import { cancelWithNotice, extendWithNotice } from '../../../../jobs/maintenance/index.js';
import { createWindow, getWindow } from '../../../../jobs/maintenance/store.js';
import type { Association, InstanceInfo, MigrationAws } from '../../../../jobs/migration/aws.js';
import type { MigrationData } from '../../../../jobs/migration/data.js';
import type { MigrationDeps, RunJobState, RunJobs } from '../../../../jobs/migration/deps.js';
import { dispatch } from '../../../../jobs/migration/job.js';
import { approverSet, livePlan, planHash } from '../../../../jobs/migration/plan.js';
import {
  approveRequest,
  cancelRequestsOfWindow,
  rejectRequest,
  retryRequest,
  rollbackCommand,
  rollbackRequest,
} from '../../../../jobs/migration/requests.js';
import { jobLockKey, type MigrationRequest, readRequest } from '../../../../jobs/migration/store.js';
import { runWatchdog } from '../../../../jobs/migration/watchdog.js';
import type { Queues } from '../../../../jobs/queues.js';

export const MIN = 60_000;
const LOCK_MS = 30_000;
const TICK_MS = 10_000;
const PROFILES = ['prof-a', 'prof-b'];
export const INSTANCES = ['i-aaaaaaaaaaaaaaaa', 'i-bbbbbbbbbbbbbbbb'];

/** The config knobs a sequence may turn (a restart of every process with the new config). */
export interface Knobs {
  instance: number;
  profile: number;
  approvers: string[];
  quorum: number;
}

export const INITIAL: Knobs = {
  instance: 0,
  profile: 0,
  approvers: ['U0DAVE', 'U0ERIN', 'U0FRED'],
  quorum: 2,
};

export function configOf(k: Knobs): Config {
  return parseConfig(
    {
      timezone: 'Asia/Tokyo',
      accounts: { gghouse: { id: '343881458651', region: 'ap-northeast-1' } },
      channels: { approvals: 'C0APPROVE', maintenance: 'C0MAINT' },
      roles: { admin: ['U0OPS'], approver: k.approvers },
      migration: {
        account: 'gghouse',
        instanceId: INSTANCES[k.instance],
        role: 'cron-role',
        instanceProfile: PROFILES[k.profile],
        secretId: 's',
        bucket: 'jram-gghouse',
        approvals: k.quorum,
        runMinutes: 10,
        waitTimeoutSeconds: 60,
        pollSeconds: 1,
        streakDays: 7,
      },
      dumps: { account: 'gghouse', bucket: 'jram-gghouse', jobs: [] },
      jobs: { attempts: 3, backoffMs: 1_000, lockMs: LOCK_MS },
    },
    '/tmp',
  );
}

interface Job {
  id: string;
  data: MigrationData;
  state: 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';
  runAt: number;
  attempts: number;
  attemptsMade: number;
  stalls: number;
  token?: string;
  /** The worker running it has died or is stuck: its lock is no longer renewed. */
  hung?: { lapseAt: number };
}

interface Runner {
  job: string;
  op: string;
}

/** A caller held by the fake AWS: a paused runner can be let go, a killed one never is. */
interface Held {
  ctx: RunnerCtx;
  release?: () => void;
}

/** What a runner carries through its awaits (AsyncLocalStorage): who it is, whom to tell when it hangs. */
interface RunnerCtx {
  runner: Runner;
  onHang: () => void;
  /** Settles when the runner's job function does. */
  settled?: Promise<unknown>;
}

export interface Fault {
  op: string;
  kind: 'refuse' | 'lost-answer' | 'kill-before' | 'kill-after' | 'pause';
}

interface Mutation {
  op: string;
  job: string;
  runOp: string;
  instanceId: string;
  profile?: string;
  key: string;
}

class FakeAws implements MigrationAws {
  readonly instances = new Map<string, { state: string; assoc: Association[] }>(
    INSTANCES.map((id) => [id, { state: 'running', assoc: [] }]),
  );
  faults: Fault[] = [];
  private n = 0;
  constructor(private readonly w: World) {}

  private async gate(
    op: string,
    mutation: Omit<Mutation, 'job' | 'runOp' | 'op'> | undefined,
    apply: () => void,
  ) {
    const i = this.faults.findIndex((f) => f.op === op);
    const f = i >= 0 ? this.faults.splice(i, 1)[0] : undefined;
    if (f?.kind === 'refuse') throw new UserError(`aws_${op}`, `AWS refused ${op}: injected refusal`);
    if (f?.kind === 'kill-before') return this.w.hang(false);
    if (mutation) this.w.onMutation(op, mutation);
    apply();
    if (f?.kind === 'lost-answer')
      throw new TransientError('aws_unreachable', `could not reach AWS for ${op} (injected)`);
    if (f?.kind === 'kill-after') return this.w.hang(false);
    if (f?.kind === 'pause') await this.w.hang(true);
  }

  private inst(id: string) {
    const i = this.instances.get(id);
    if (!i) throw new UserError('no_instance', `instance ${id} does not exist`);
    return i;
  }

  /** Who each read was made as (the Slack user in the AWS session). */
  readonly askedAs: string[] = [];
  async checkPhase1(user: string) {
    this.askedAs.push(user);
    return [{ name: 'IAM role cron-role', ok: true, detail: 'exists' }];
  }
  async checkPhase2(user: string) {
    this.askedAs.push(user);
    return { days: [], streak: 8 };
  }
  async describeInstance(_u: string, t: { instanceId: string }): Promise<InstanceInfo> {
    let out: InstanceInfo = { state: '?' };
    await this.gate('DescribeInstances', undefined, () => {
      const i = this.inst(t.instanceId);
      out = { state: i.state, name: 'JRAM-GGH-EC2' };
      if (i.state === 'stopping') i.state = 'stopped';
      if (i.state === 'pending') i.state = 'running';
    });
    return out;
  }
  async associations(user: string, t: { instanceId: string }): Promise<Association[]> {
    this.askedAs.push(user);
    let out: Association[] = [];
    await this.gate('DescribeIamInstanceProfileAssociations', undefined, () => {
      out = [...this.inst(t.instanceId).assoc];
    });
    return out;
  }
  async listObjects() {
    return new Map<string, number>();
  }
  async stopInstance(_u: string, t: { instanceId: string }) {
    await this.gate('StopInstances', { instanceId: t.instanceId, key: t.instanceId }, () => {
      const i = this.inst(t.instanceId);
      if (i.state === 'running' || i.state === 'pending') i.state = 'stopping';
    });
  }
  async startInstance(_u: string, t: { instanceId: string }) {
    const i = this.inst(t.instanceId);
    if (i.state === 'stopping')
      throw new UserError('aws_IncorrectInstanceState', 'AWS refused StartInstances: stopping');
    await this.gate('StartInstances', { instanceId: t.instanceId, key: t.instanceId }, () => {
      if (i.state === 'stopped') i.state = 'pending';
    });
  }
  async associateProfile(_u: string, t: { instanceId: string; instanceProfile: string }) {
    const i = this.inst(t.instanceId);
    if (i.assoc.length)
      throw new UserError('aws_IncorrectState', 'AWS refused AssociateIamInstanceProfile: has one');
    await this.gate(
      'AssociateIamInstanceProfile',
      { instanceId: t.instanceId, profile: t.instanceProfile, key: t.instanceId },
      () => {
        this.n += 1;
        i.assoc.push({
          id: `iip-assoc-${this.n}`,
          profileArn: `arn:aws:iam::343881458651:instance-profile/${t.instanceProfile}`,
          state: 'associated',
        });
      },
    );
  }
  async disassociate(_u: string, t: { instanceId: string }, id: string) {
    const i = this.inst(t.instanceId);
    if (!i.assoc.some((a) => a.id === id))
      throw new UserError('aws_InvalidAssociationID.NotFound', `no ${id}`);
    await this.gate('DisassociateIamInstanceProfile', { instanceId: t.instanceId, key: t.instanceId }, () => {
      i.assoc = i.assoc.filter((a) => a.id !== id);
    });
  }
  async deleteObjects() {}
}

class FakeSlack implements Notifier {
  failNext = 0;
  readonly cards = new Map<string, { text: string; blocks?: Blocks }>();
  readonly posts: { key?: string; msg: OutgoingMessage }[] = [];
  private ts = 0;
  constructor(private readonly w: World) {}
  private maybeFail(): void {
    if (this.failNext > 0) {
      this.failNext -= 1;
      this.w.slackDirty = true;
      throw new Error('slack: 500 (injected)');
    }
  }
  private ref(channel: string): MessageRef {
    this.ts += 1;
    return { channel, ts: `1.${String(this.ts).padStart(6, '0')}` };
  }
  async post(channel: string, text: string, blocks?: Blocks, threadTs?: string) {
    this.maybeFail();
    this.posts.push({ msg: { channel, text, blocks, threadTs } });
    return this.ref(channel);
  }
  async postOnce(msg: OutgoingMessage, once: OnceKey) {
    this.maybeFail();
    const found = this.posts.findIndex((p) => p.key === once.key);
    if (found >= 0) return { channel: msg.channel, ts: `post-${found}` };
    this.posts.push({ key: once.key, msg });
    const ref = this.ref(msg.channel);
    if (!msg.threadTs) this.cards.set(ref.ts, { text: msg.text, blocks: msg.blocks });
    return ref;
  }
  async update(ref: MessageRef, text: string, blocks?: Blocks) {
    this.maybeFail();
    this.cards.set(ref.ts, { text, blocks });
  }
}

/** BullMQ's rules for the migration queue, in memory, on the test's clock. */
class FakeJobs implements RunJobs {
  readonly jobs = new Map<string, Job>();
  every: number | undefined;
  nextWatchdog = 0;
  constructor(private readonly w: World) {}
  async add(jobId: string, data: MigrationData, o: { runAt?: number; attempts?: number } = {}) {
    const j = this.jobs.get(jobId);
    if (j) return j.state === 'completed' || j.state === 'failed' ? 'finished' : 'queued';
    const runAt = o.runAt ?? 0;
    this.jobs.set(jobId, {
      id: jobId,
      data,
      state: runAt > this.w.now ? 'delayed' : 'waiting',
      runAt,
      attempts: o.attempts ?? 3,
      attemptsMade: 0,
      stalls: 0,
    });
    return 'queued';
  }
  async remove(jobId: string) {
    const j = this.jobs.get(jobId);
    if (j && j.state !== 'active') this.jobs.delete(jobId);
  }
  async state(jobId: string): Promise<RunJobState> {
    return this.jobs.get(jobId)?.state ?? 'missing';
  }
  async arm(everyMs: number) {
    this.every = everyMs;
    this.nextWatchdog = this.w.now; // a job scheduler with `every` runs at once
  }
  async disarm() {
    this.every = undefined;
  }
  async armedEvery() {
    return this.every;
  }
}

/** What the sequences reached, over the whole run (printed at the end: a model that never gets anywhere tests nothing). */
export const reached = { sequences: 0, changes: 0, fenced: 0, states: new Map<string, number>() };

export class World {
  now: number;
  knobs: Knobs = INITIAL;
  config: Config = configOf(INITIAL);
  readonly prefix = `test-migmodel-${randomUUID()}`;
  readonly aws = new FakeAws(this);
  readonly slack = new FakeSlack(this);
  readonly jobs = new FakeJobs(this);
  readonly audit: AuditEntry[] = [];
  readonly violations: string[] = [];
  /** What each command answered, for the report of a failing sequence. */
  readonly trace: string[] = [];
  slackDirty = false;
  /** Requests made so far, newest last. */
  readonly ids: string[] = [];
  windowId = '';
  windowEnd = 0;
  windowStart = 0;
  windowCancelled = false;
  /** Approvals the system accepted: who, bound to which hash. */
  readonly approvals = new Map<string, { user: string; hash: string }[]>();
  /** Mutating calls per run job, and the order of operations per instance. */
  private readonly mutations: Mutation[] = [];
  private readonly held: Held[] = [];
  private readonly als = new AsyncLocalStorage<RunnerCtx>();
  /** When each running request was first seen without a live job. */
  private readonly unlive = new Map<string, number>();
  private seq = 0;
  readonly log = createLogger({ level: 'silent' });

  constructor(
    readonly redis: Redis,
    t0: number,
  ) {
    this.now = t0;
  }

  /** The deps every part of the system gets; `config` is read at each use (the config in force at that moment). */
  get md(): MigrationDeps {
    this.deps ??= this.makeDeps();
    return this.deps;
  }
  private deps: MigrationDeps | undefined;

  private makeDeps(): MigrationDeps {
    const w = this;
    const queues: Queues = {
      enqueue: async (_q, _name, _data, o) => ({ status: 'queued', id: o.jobId }),
      queue: () => {
        throw new Error('the model has no BullMQ queue');
      },
      recent: async () => [],
      close: async () => {},
    };
    return {
      get config() {
        return w.config;
      },
      clock: { now: () => this.now },
      store: { redis: this.redis, prefix: this.prefix },
      audit: { record: async (e) => void this.audit.push(e), recent: async () => [] },
      queues,
      jobs: this.jobs,
      cards: this.slack,
      log: this.log,
      aws: this.aws,
      notifier: this.slack,
      sleep: async (ms) => {
        this.now += ms;
        await Promise.resolve();
      },
    };
  }

  async setUp(): Promise<void> {
    const w = await createWindow(this.md.store, {
      title: 'EC2 cron host',
      start: this.now + 10 * MIN,
      end: this.now + 40 * MIN,
      createdBy: 'U0OPS',
      createdAt: this.now,
      impact: 'i',
      purpose: 'p',
      rollback: 'r',
      contact: 'c',
    });
    this.windowId = w.id;
    this.windowStart = w.start;
    this.windowEnd = w.end;
  }

  /** Counts the states the requests of this sequence ended in. */
  async tally(): Promise<void> {
    reached.sequences += 1;
    reached.fenced += this.log ? 0 : 0;
    for (const id of this.ids) {
      const r = await readRequest(this.md.store, id);
      const k = r?.state ?? 'gone';
      reached.states.set(k, (reached.states.get(k) ?? 0) + 1);
    }
    const count = (k: string, n = 1) => reached.states.set(k, (reached.states.get(k) ?? 0) + n);
    const patterns: [string, RegExp][] = [
      ['runner hung', /-> mig-(run|rb)\S* hung/],
      ['stuck runner went on', /-> resumed mig-/],
      ['retry queued', /^retry .* -> queued/],
      ['roll back queued', /^roll back .* -> queued/],
      ['rollback 3 queued', /^\/migration rollback 3 -> queued/],
      ['click refused', /^(retry|roll back|\/migration rollback 3).* -> (state|busy|window|plan)/],
    ];
    for (const t of this.trace) for (const [k, re] of patterns) if (re.test(t)) count(k);
    count('watchdog ended a run', this.audit.filter((a) => a.action === 'migration.watchdog').length);
  }

  async tearDown(): Promise<void> {
    for (const h of this.held.splice(0)) h.release?.();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await this.redis.del(...keys);
    } while (cursor !== '0');
  }

  get current(): string | undefined {
    return this.ids[this.ids.length - 1];
  }

  async request(id?: string): Promise<MigrationRequest | undefined> {
    const r = id ?? this.current;
    return r ? readRequest(this.md.store, r) : undefined;
  }

  // ---- the fake AWS's view of who calls ---------------------------------------------------------

  /** Hangs the calling runner: for good (a killed worker), or until released (a lapsed lock). */
  hang(resumable: boolean): Promise<never> | Promise<void> {
    const ctx = this.als.getStore();
    if (!ctx) throw new Error('an AWS call outside a runner');
    const job = this.jobs.jobs.get(ctx.runner.job);
    if (job) job.hung = { lapseAt: this.now + LOCK_MS };
    ctx.onHang();
    if (!resumable) {
      this.held.push({ ctx });
      return new Promise<never>(() => {});
    }
    return new Promise<void>((release) => this.held.push({ ctx, release }));
  }

  /** Invariants (1), (2) and (5), at the moment a change reaches AWS. */
  onMutation(op: string, m: Omit<Mutation, 'job' | 'runOp' | 'op'>): void {
    const ctx = this.als.getStore();
    if (!ctx) {
      this.violations.push(`${op} outside a runner`);
      return;
    }
    const { job, op: runOp } = ctx.runner;
    const mutation = { ...m, op, job, runOp };
    // (5) no two operations overlap: once another operation changed the instance, an earlier one may not.
    const last = [...this.mutations].reverse().find((x) => x.key === m.key);
    if (last && last.job !== job && this.mutations.some((x) => x.key === m.key && x.job === job)) {
      this.violations.push(`(5) ${op} by ${job} after ${last.op} by ${last.job} on ${m.key}`);
    }
    // (2) each change at most once per run job.
    if (runOp === 'run' && this.mutations.some((x) => x.job === job && x.op === op)) {
      this.violations.push(`(2) ${op} twice by ${job}`);
    }
    this.mutations.push(mutation);
    reached.changes += 1;
    if (runOp !== 'run') return; // a rollback is authorised by its own role, not the approvals
    // (1) the quorum of the approvers configured now approved the hash of exactly the plan executed.
    const id = /^mig-run-(p3-[0-9a-z]+)-\d+$/.exec(job)?.[1];
    void this.checkApproved(op, mutation, id ?? '');
  }

  private pendingChecks: Promise<void>[] = [];
  private checkApproved(op: string, m: Mutation, id: string): void {
    const config = this.config;
    const now = this.now;
    const windowOk = !this.windowCancelled && now < this.windowEnd;
    const approvals = this.approvals.get(id) ?? [];
    this.pendingChecks.push(
      (async () => {
        const r = await readRequest(this.md.store, id);
        if (r?.kind !== 'phase3') {
          this.violations.push(`(1) ${op} by ${m.job}: no phase-3 request ${id}`);
          return;
        }
        let live: string;
        try {
          live = planHash(livePlan(config, r.plan));
        } catch {
          live = 'unconfigured';
        }
        const who = approverSet(config);
        const counted = new Set(
          approvals
            .filter((a) => a.hash === r.planHash && a.user !== r.requester)
            .filter((a) => who === '*' || who.includes(a.user))
            .map((a) => a.user),
        );
        const problems = [
          live !== r.planHash ? 'the config no longer describes the approved plan' : '',
          m.instanceId !== r.plan.instanceId ? `instance ${m.instanceId} is not the plan's` : '',
          m.profile && m.profile !== r.plan.instanceProfile ? `profile ${m.profile} is not the plan's` : '',
          counted.size < (config.migration?.approvals ?? 1)
            ? `${counted.size} of ${config.migration?.approvals} approvals`
            : '',
          windowOk ? '' : 'the window is cancelled or over',
        ].filter(Boolean);
        if (problems.length) this.violations.push(`(1) ${op} by ${m.job} at ${now}: ${problems.join('; ')}`);
      })(),
    );
  }

  // ---- the worker -------------------------------------------------------------------------------

  private due(j: Job): boolean {
    return j.state === 'waiting' || (j.state === 'delayed' && j.runAt <= this.now);
  }

  /** A worker takes the next job that is due (or `jobId`) and runs it until it ends or hangs. */
  async workerStep(jobId?: string): Promise<string> {
    const job = [...this.jobs.jobs.values()].find((j) => this.due(j) && (!jobId || j.id === jobId));
    if (!job) return 'no job due';
    job.state = 'active';
    job.token = randomUUID();
    job.hung = undefined;
    await this.redis.set(jobLockKey(this.md.store, job.id), job.token);
    const runner: Runner = { job: job.id, op: job.data.op };
    let hung = false;
    let onHang = () => {};
    const hangs = new Promise<'hung'>((r) => {
      onHang = () => {
        hung = true;
        r('hung');
      };
    });
    const token = job.token;
    const attempt = job.attemptsMade;
    const ctx: RunnerCtx = { runner, onHang: () => onHang() };
    const run = this.als.run(ctx, () =>
      dispatch(this.md, job.data, {
        jobId: job.id,
        token,
        log: this.log,
        isLastAttempt: () => attempt + 1 >= job.attempts,
        delayUntil: async (at) => {
          job.runAt = at;
          throw new DelayedError();
        },
        report: async () => {},
        save: async (patch) => {
          job.data = { ...job.data, ...patch } as MigrationData;
        },
      }),
    );
    const settled = run.then(
      () => 'ok' as const,
      (err: unknown) => err,
    );
    ctx.settled = settled;
    const out = await Promise.race([settled, hangs]);
    if (out === 'hung' || hung) {
      // Settles later (a paused runner let go), with its lock long gone: whatever it does is its own.
      void settled.then((late) => this.settle(job, token, late));
      return `${job.id} hung`;
    }
    await this.settle(job, token, out);
    await Promise.all(this.pendingChecks.splice(0));
    return `${job.id} ${job.state}`;
  }

  private async settle(job: Job, token: string, out: unknown): Promise<void> {
    if (job.token !== token || job.state !== 'active') return; // the job was handed to another since
    const lock = jobLockKey(this.md.store, job.id);
    if ((await this.redis.get(lock)) === token) await this.redis.del(lock);
    job.token = undefined;
    job.attemptsMade += 1;
    if (out === 'ok') job.state = 'completed';
    else if (out instanceof DelayedError) {
      job.attemptsMade -= 1;
      job.state = 'delayed';
    } else if (
      out instanceof UnrecoverableError ||
      out instanceof UserError ||
      job.attemptsMade >= job.attempts
    ) {
      job.state = 'failed';
    } else {
      job.state = 'delayed';
      job.runAt = this.now + 1_000 * 2 ** job.attemptsMade;
    }
  }

  /** Lets the oldest paused runner go on (its lock lapsed long ago). */
  async resume(): Promise<string> {
    const i = this.held.findIndex((h) => h.release);
    if (i < 0) return 'nothing paused';
    const [h] = this.held.splice(i, 1);
    if (!h) return 'nothing paused';
    // Until it ends or hangs again.
    const again = new Promise<'hung'>((r) => {
      h.ctx.onHang = () => r('hung');
    });
    h.release?.();
    const out = await Promise.race([h.ctx.settled ?? Promise.resolve(), again]);
    await Promise.all(this.pendingChecks.splice(0));
    return `resumed ${h.ctx.runner.job}${out === 'hung' ? ', hung again' : ''}`;
  }

  // ---- time, stalls, the watchdog ---------------------------------------------------------------

  async pass(ms: number): Promise<void> {
    const end = this.now + ms;
    while (this.now < end) {
      // Nothing running and no watchdog armed: time changes nothing until the end (checked there).
      const busy =
        [...this.jobs.jobs.values()].some((j) => j.state === 'active') || this.jobs.every !== undefined;
      this.now = busy ? Math.min(end, this.now + TICK_MS) : end;
      for (const j of this.jobs.jobs.values()) {
        if (j.state === 'active' && j.hung && this.now >= j.hung.lapseAt && j.token) {
          const lock = jobLockKey(this.md.store, j.id);
          if ((await this.redis.get(lock)) === j.token) await this.redis.del(lock);
        }
      }
      if (Math.floor(this.now / LOCK_MS) !== Math.floor((this.now - TICK_MS) / LOCK_MS))
        await this.stalledCheck();
      if (this.jobs.every !== undefined && this.now >= this.jobs.nextWatchdog) {
        this.jobs.nextWatchdog = this.now + this.jobs.every;
        const dirty = this.slack.failNext > 0;
        await runWatchdog(this.md);
        if (!dirty && this.slack.failNext === 0) this.slackDirty = false;
      }
      await this.checkStuck();
    }
  }

  /** BullMQ's stalled-job check: an active job without its lock goes back to wait, or fails past maxStalledCount (1). */
  private async stalledCheck(): Promise<void> {
    for (const j of this.jobs.jobs.values()) {
      if (j.state !== 'active') continue;
      if (await this.redis.exists(jobLockKey(this.md.store, j.id))) continue;
      j.stalls += 1;
      j.token = undefined;
      j.state = j.stalls > 1 ? 'failed' : 'waiting';
    }
  }

  private async liveJob(job: string | undefined): Promise<boolean> {
    const j = job ? this.jobs.jobs.get(job) : undefined;
    if (!j) return false;
    if (j.state === 'waiting' || j.state === 'delayed') return true;
    return j.state === 'active' && (await this.redis.exists(jobLockKey(this.md.store, j.id))) === 1;
  }

  /** (3): no request stays running (or rolling back) without a live job longer than the lock time plus the watchdog's period. */
  async checkStuck(): Promise<void> {
    for (const id of this.ids) {
      const r = await readRequest(this.md.store, id);
      if (!r || (r.state !== 'running' && r.state !== 'rolling-back')) {
        this.unlive.delete(id);
        continue;
      }
      if (await this.liveJob(r.opJob)) {
        this.unlive.delete(id);
        continue;
      }
      const since = this.unlive.get(id) ?? this.now;
      this.unlive.set(id, since);
      if (this.now - since > LOCK_MS + LOCK_MS + TICK_MS)
        this.violations.push(`(3) ${id} ${r.state} without a live job for ${(this.now - since) / 1000} s`);
    }
  }

  /** Due jobs, for the end of a sequence. */
  anyDue(): boolean {
    return [...this.jobs.jobs.values()].some((j) => this.due(j));
  }

  /** Nothing a person typed reaches Slack unescaped. */
  checkEscaped(): void {
    const all = JSON.stringify([...this.slack.cards.values(), ...this.slack.posts]);
    if (all.includes('<!channel>') || all.includes('<https://evil'))
      this.violations.push('a typed reason reached Slack unescaped');
  }

  /** (4): every failure is on its card, with Retry and Roll back, and posted in the approvals channel. */
  async checkFailuresShown(): Promise<void> {
    if (this.slackDirty) return;
    for (const id of this.ids) {
      const r = await readRequest(this.md.store, id);
      if (r?.state !== 'failed' || r.kind !== 'phase3') continue;
      const card = r.cardTs ? this.slack.cards.get(r.cardTs) : undefined;
      const shown = JSON.stringify(card?.blocks ?? '');
      if (!/Failed at step/.test(shown) || !shown.includes('mig_retry') || !shown.includes('mig_rollback'))
        this.violations.push(`(4) ${id} failed but its card does not say so with Retry and Roll back`);
      if (
        !this.slack.posts.some((p) => p.key === `${id}/failed-${r.failures}` && p.msg.channel === 'C0APPROVE')
      )
        this.violations.push(`(4) ${id} failure ${r.failures} not posted`);
    }
  }

  // ---- people and commands ----------------------------------------------------------------------

  private who(user: string) {
    this.seq += 1;
    return { requestId: `slack-${this.seq}`, user };
  }

  async phase3Request(): Promise<string> {
    const who = this.who('U0OPS');
    const jobId = `mig-req-${who.requestId}`;
    await this.jobs.add(jobId, {
      requestId: who.requestId,
      requester: who.user,
      op: 'request',
      start: this.windowStart,
      end: this.windowEnd,
    });
    const before = new Set(
      (await this.redis.keys(`${this.prefix}:mig:req:*`)).map((k) => k.split(':').pop()),
    );
    const step = await this.workerStep(jobId);
    const after = (await this.redis.keys(`${this.prefix}:mig:req:*`)).map((k) => k.split(':').pop() ?? '');
    const made = after.find((k) => !before.has(k));
    if (made) this.ids.push(made);
    return `${step}${made ? ` -> ${made}` : ''}`;
  }

  /** The open card of the newest request, if Slack ever showed it (a button needs a card to be clicked). */
  private async clickable(): Promise<MigrationRequest | undefined> {
    const r = await this.request();
    return r?.cardTs ? r : undefined;
  }

  async approve(user: string): Promise<string> {
    const id = (await this.clickable())?.id;
    if (!id) return 'no card';
    if (!isAllowed(this.config, user, 'migration.approve')) return 'denied (role)';
    const before = await this.request(id);
    const res = await approveRequest(this.md, id, this.who(user));
    if (res.result === 'counted' || res.result === 'approved') {
      const r = res.request;
      const hash = planHash(livePlan(this.config, r.plan));
      const who = approverSet(this.config);
      if (user === r.requester) this.violations.push(`approval by the requester ${user} counted`);
      if (who !== '*' && !who.includes(user))
        this.violations.push(`approval by non-approver ${user} counted`);
      if (before?.state !== 'pending') this.violations.push(`approval counted on a ${before?.state} request`);
      const list = this.approvals.get(id) ?? [];
      this.approvals.set(id, [...list.filter((a) => a.user !== user), { user, hash }]);
    }
    return res.result;
  }

  async reject(user: string): Promise<string> {
    const id = (await this.clickable())?.id;
    if (!id || !isAllowed(this.config, user, 'migration.approve')) return 'skipped';
    const res = await rejectRequest(this.md, id, this.who(user), '<!channel> <https://evil|re-approve here>');
    return res.ok ? 'rejected' : res.state;
  }

  /** A click that starts an operation: answered, and when refused nothing changed. */
  private async unchangedUnless(queued: boolean, id: string, version: number | undefined): Promise<void> {
    if (queued) return;
    const after = await this.request(id);
    if (after?.version !== version)
      this.violations.push(`(5) a refused click changed ${id} (v${version} -> v${after?.version})`);
  }

  async retry(user: string): Promise<string> {
    const r = await this.clickable();
    if (r?.kind !== 'phase3' || !isAllowed(this.config, user, 'migration.recover')) return 'skipped';
    const res = await retryRequest(this.md, r);
    await this.unchangedUnless(res.result === 'queued', r.id, r.version);
    return res.result;
  }

  async rollbackButton(user: string): Promise<string> {
    const r = await this.clickable();
    if (r?.kind !== 'phase3' || !isAllowed(this.config, user, 'migration.recover')) return 'skipped';
    const res = await rollbackRequest(this.md, r, this.who(user));
    await this.unchangedUnless(res.result === 'queued', r.id, r.version);
    return res.result;
  }

  async rollbackCommand(): Promise<string> {
    const r = await this.request();
    const res = await rollbackCommand(this.md, this.who('U0OPS'));
    if (r) await this.unchangedUnless(res.result === 'queued', r.id, r.version);
    return res.result;
  }

  async cancelWindow(): Promise<string> {
    const s = this.md.store;
    const res = await cancelWithNotice(
      { redis: this.redis, prefix: this.prefix, queues: this.md.queues, clock: this.md.clock },
      this.windowId,
      { requestId: this.who('U0OPS').requestId, requester: 'U0OPS' },
    );
    if (!res.cancelled) return `window ${res.found}`;
    this.windowCancelled = true;
    await cancelRequestsOfWindow(
      { ...this.md, redis: this.redis, prefix: this.prefix, logger: this.log },
      this.windowId,
      'U0OPS',
    );
    return `window cancelled (${(await getWindow(s, this.windowId))?.state})`;
  }

  async extendWindow(minutes: number): Promise<string> {
    const to = this.windowEnd + minutes * MIN;
    const res = await extendWithNotice(
      {
        redis: this.redis,
        prefix: this.prefix,
        queues: this.md.queues,
        clock: this.md.clock,
        config: this.config,
      },
      this.windowId,
      { from: this.windowEnd, to },
      { requestId: this.who('U0OPS').requestId, requester: 'U0OPS' },
    );
    if (res === 'applied' || res === 'already') this.windowEnd = to;
    return `extend: ${res}`;
  }

  reconfigure(k: Knobs): string {
    this.knobs = k;
    this.config = configOf(k);
    return `config ${JSON.stringify(k)}`;
  }
}
