// Prometheus metrics (prom-client): one Registry per process, never prom-client's global default, so
// a test can build several and a second `createMetrics` cannot collide with the first. Counters and
// histograms are fed by small typed calls from the code paths that know the facts (a command acked,
// a job finished, a notice posted); the state that lives in Redis (queue counts, dump health,
// windows, migration requests, the worker heartbeat) is read at scrape time through callbacks the
// feature owners hand in, cached briefly so a scrape costs one read per source and not one per gauge.
//
// Every label value is bounded: known names pass, anything else becomes `other`/`unknown`. Nothing a
// person typed and no secret ever becomes a label.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Clock, systemClock } from './clock.js';

/** Slash commands, without the slash (label `command`). */
export const COMMANDS = [
  'reset-password',
  'ddb-export',
  'maintenance',
  'migration',
  'dumps',
  'chatops',
] as const;
/** Button action ids (label `action`); anything else counts as `unknown` (e.g. a stale button). */
export const ACTIONS = [
  'dump_ack',
  'dump_recheck',
  'mig_approve',
  'mig_reject',
  'mig_retry',
  'mig_rollback',
  'mig_refresh',
  'mw_cancel',
  'mw_edit',
] as const;
/** Modal callback ids (label `view`). */
export const VIEWS = ['mig_reject_submit', 'mw_edit_submit'] as const;
/**
 * How a command, click or submission ended (label `outcome`): the five of the issue plus `succeeded`
 * for answers given inline (a status, a list, an approval recorded) where nothing was queued.
 */
export const OUTCOMES = ['queued', 'succeeded', 'denied', 'invalid', 'not-queued', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** Why the HTTP receiver answered 401 before any listener ran. */
export const REFUSAL_REASONS = ['signature', 'timestamp', 'replay'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
/** BullMQ states exported per queue; `waiting` includes BullMQ's `prioritized`. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
/** How one attempt of a job ended (label `outcome` of the job duration histogram). */
export const JOB_OUTCOMES = ['completed', 'retrying', 'failed', 'parked'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];
export const NOTICE_KINDS = ['announce', 'remind', 'start', 'end', 'cancel', 'extend', 'edit'] as const;
export const WINDOW_STATES = ['scheduled', 'in-progress', 'completed', 'cancelled'] as const;
export const MIGRATION_KINDS = ['phase3', 'cleanup'] as const;
/** Every state of a /migration request: jobs/migration/store.ts reads its records with this one list. */
export const REQUEST_STATES = [
  'pending',
  'approved',
  'running',
  'done',
  'failed',
  'rejected',
  'expired',
  'cancelled',
  'rolling-back',
  'rolled-back',
] as const;
/** Result of one Slack Web API HTTP request. `error`: `ok: false` in the body, or no answer. */
export const SLACK_RESULTS = ['ok', '429', '5xx', 'error'] as const;
export type SlackResult = (typeof SLACK_RESULTS)[number];
/** Result of one AWS API HTTP attempt. `error`: no HTTP answer (connection refused, timeout). */
export const AWS_RESULTS = ['ok', 'throttled', '4xx', '5xx', 'error'] as const;
export type AwsResult = (typeof AWS_RESULTS)[number];

/** The names of the scrape-time sources, as the `source` label of their health gauges. */
export const SOURCES = ['queues', 'dumps', 'maintenance', 'migration', 'heartbeat'] as const;
export type SourceName = (typeof SOURCES)[number];

/** What a BullMQ `Queue` offers for counting (the Queue itself fits). */
export interface JobCountSource {
  readonly name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** One configured dump job's health, as stored by the dump checks (epoch ms). */
export interface DumpJobHealth {
  job: string;
  lastCheckAt?: number;
  lastPassAt?: number;
}

export interface DumpsSnapshot {
  jobs: DumpJobHealth[];
  /** Alerts of the day not yet resolved: still open, and acknowledged. */
  alerts: { open: number; acked: number };
}

export interface MigrationSnapshot {
  /** Requests kept in Redis, counted by kind (`phase3`, `cleanup`) and state. */
  requests: { kind: string; state: string; count: number }[];
  /** Approvals still missing on pending requests (needed minus current, summed). */
  pendingApprovals: number;
}

/**
 * Readers of the state kept in Redis, called at scrape time (at most once per `cacheMs`). Each is
 * optional: a process exports what it was given. They must not throw for "nothing there".
 */
export interface ScrapeSources {
  /** The queues to count (one `getJobCounts` round trip each). */
  queues?: JobCountSource[] | (() => JobCountSource[]);
  dumps?: () => Promise<DumpsSnapshot>;
  /** Maintenance windows kept in Redis, counted by state. */
  maintenance?: () => Promise<Partial<Record<string, number>>>;
  migration?: () => Promise<MigrationSnapshot>;
  /** When a worker last touched the heartbeat (epoch ms), or undefined if never. */
  heartbeat?: () => Promise<number | undefined>;
}

export interface MetricsOptions {
  clock?: Clock;
  /** How long a scrape-time read is reused (default 5000 ms). */
  cacheMs?: number;
  /** `bot`, `worker` or `all`: exported as `chatops_process_role{role}` = 1. */
  role?: string;
  /** Node's process metrics (default true). */
  defaultMetrics?: boolean;
  sources?: ScrapeSources;
  /** Known label values beyond the defaults above (e.g. the commands registered on the app). */
  commands?: readonly string[];
  actions?: readonly string[];
  views?: readonly string[];
  /**
   * Configured dump job names: only these become `dump` labels (default: whatever `dumps` returns).
   * Not `job`: Prometheus sets `job` to the scrape job's name (a scraped `job` becomes `exported_job`).
   */
  dumpJobs?: readonly string[];
}

/** The typed calls product code makes. All of them are cheap, synchronous and never throw. */
export interface Metrics {
  readonly registry: Registry;
  /** A slash command was answered: `command` with or without the slash, `seconds` from receipt to ack. */
  commandDone(command: string, outcome: string, seconds: number): void;
  /** A button click was answered (its action id; `seconds` from receipt to ack). */
  clickDone(actionId: string, outcome: string, seconds: number): void;
  /** A modal submission was answered (its callback id). */
  submissionDone(callbackId: string, outcome: string, seconds: number): void;
  /** The HTTP receiver refused a request before any listener ran. */
  requestRefused(reason: RefusalReason): void;
  /** One attempt of a job ended; `queue` is the job kind's queue name. */
  jobDone(queue: string, outcome: JobOutcome, seconds: number): void;
  /** A job failed for good (no attempt left, or a failure retrying cannot fix). */
  jobFailedFinally(queue: string): void;
  /**
   * A maintenance notice was posted `lagSeconds` after it was due; `late`: it says so in Slack (it
   * also counts in noticeLate).
   */
  noticePosted(kind: string, lagSeconds: number, late?: boolean): void;
  /** A notice was posted marked late (it says so in Slack: more than a few seconds after it was due). */
  noticeLate(kind: string): void;
  /** A notice failed for good: dropped without being posted (its window ended long ago). */
  noticeFailed(kind: string): void;
  /** One Slack Web API HTTP request ended (`method` such as `chat.postMessage`). */
  slackCall(method: string, result: SlackResult): void;
  /** One AWS API HTTP attempt ended (`service` such as `s3`). */
  awsCall(service: string, result: AwsResult): void;
  /** Adds or replaces scrape-time sources (for owners that are built after the metrics). */
  setSources(sources: ScrapeSources): void;
  /** The exposition text (what GET /metrics answers). */
  render(): Promise<string>;
  readonly contentType: string;
}

/** prom-client's gauges named `*_total`, which `promtool check metrics` flags: see createMetrics. */
export const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

// 2.5: the ack budget (bot/middleware.ts); 3: where Slack gives up.
const ACK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 3, 5];
const JOB_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
const NOTICE_LAG_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];

/** A name from the code (queue, service, method): kept when it looks like one, else `other`. */
function codeName(s: string, pattern: RegExp): string {
  return pattern.test(s) ? s : 'other';
}
const QUEUE_NAME = /^[a-z][a-z0-9_-]{0,40}$/;
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const SLACK_METHOD = /^([a-z]+(\.[a-zA-Z]+){1,3}|response_url)$/;

function oneOf(value: string, known: ReadonlySet<string>, fallback: string): string {
  return known.has(value) ? value : fallback;
}

/** Maps an audit outcome (or anything else) onto the `outcome` label. */
export function outcomeLabel(outcome: string): Outcome {
  // Redis did not confirm the work before the ack: not known to be queued.
  if (outcome === 'unconfirmed') return 'not-queued';
  return (OUTCOMES as readonly string[]).includes(outcome) ? (outcome as Outcome) : 'succeeded';
}

/**
 * An action id's family: the id up to the first character that is not `[a-z_]` (so `mw_edit` and a
 * hypothetical `mw_edit-2` share `mw_edit`), when that is a known id; else `unknown`.
 */
export function actionFamily(actionId: string, known: ReadonlySet<string> = new Set(ACTIONS)): string {
  const head = /^[a-z_]+/.exec(actionId)?.[0] ?? '';
  return known.has(head) ? head : 'unknown';
}

/**
 * A value read at scrape time, shared by every gauge of one scrape (a read still in flight is always
 * shared) and reused for `ttlMs` after it settled, so concurrent scrapes cost one read.
 */
function cached<T>(read: () => Promise<T>, ttlMs: number, clock: Clock): () => Promise<T> {
  let settledAt = Number.NEGATIVE_INFINITY;
  let inFlight = false;
  let value: Promise<T> | undefined;
  return () => {
    if (!value || (!inFlight && clock.now() - settledAt >= ttlMs)) {
      inFlight = true;
      const v = read();
      value = v;
      v.then(
        () => {
          if (value === v) settledAt = clock.now();
        },
        // A failed read is not reused: the next scrape tries again.
        () => {
          if (value === v) settledAt = Number.NEGATIVE_INFINITY;
        },
      ).finally(() => {
        if (value === v) inFlight = false;
      });
    }
    return value;
  };
}

/** Builds the process's registry with every chatops metric, and the calls that feed them. */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const clock = opts.clock ?? systemClock;
  const cacheMs = opts.cacheMs ?? 5_000;
  const registry = new Registry();
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, labelNames: L[], buckets: number[]) =>
    new Histogram<L>({ name, help, labelNames, buckets, registers });
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // Dropped: prom-client exports these sums as gauges named `*_total`, which `promtool check
    // metrics` flags (a `_total` suffix promises a counter, and rate() over a gauge is wrong). The
    // same numbers stay available as sum(nodejs_active_handles) etc., so nothing is lost.
    for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }

  const commands = new Set<string>([...COMMANDS, ...(opts.commands ?? []).map((c) => c.replace(/^\//, ''))]);
  const actions = new Set<string>([...ACTIONS, ...(opts.actions ?? [])]);
  const views = new Set<string>([...VIEWS, ...(opts.views ?? [])]);
  const noticeKinds = new Set<string>(NOTICE_KINDS);
  const dumpJobs = opts.dumpJobs ? new Set(opts.dumpJobs) : undefined;

  if (opts.role) {
    new Gauge({
      name: 'chatops_process_role',
      help: 'The role this process runs (CHATOPS_ROLE); always 1.',
      labelNames: ['role'],
      registers,
    }).set({ role: oneOf(opts.role, new Set(['bot', 'worker', 'all']), 'other') }, 1);
  }

  // Slack side -------------------------------------------------------------------------------------
  const commandsTotal = counter(
    'chatops_commands_total',
    'Slash commands answered, by command and outcome.',
    ['command', 'outcome'],
  );
  const clicksTotal = counter('chatops_clicks_total', 'Button clicks answered, by action id and outcome.', [
    'action',
    'outcome',
  ]);
  const submissionsTotal = counter(
    'chatops_submissions_total',
    'Modal submissions answered, by modal (callback id) and outcome.',
    ['view', 'outcome'],
  );
  const ackSeconds = histogram(
    'chatops_ack_duration_seconds',
    'Time from receiving a Slack request to its ack (Slack gives up after 3 s).',
    ['kind'],
    ACK_BUCKETS,
  );
  const refusedTotal = counter(
    'chatops_requests_refused_total',
    'Requests to /slack/events refused with 401 before any listener ran, by reason.',
    ['reason'],
  );
  for (const outcome of OUTCOMES) {
    for (const command of commands) commandsTotal.inc({ command, outcome }, 0);
    for (const action of [...actions, 'unknown']) clicksTotal.inc({ action, outcome }, 0);
    for (const view of [...views, 'unknown']) submissionsTotal.inc({ view, outcome }, 0);
  }
  for (const reason of REFUSAL_REASONS) refusedTotal.inc({ reason }, 0);
  for (const kind of ['command', 'click', 'submission']) ackSeconds.zero({ kind });

  // Jobs ---------------------------------------------------------------------------------------------
  const jobSeconds = histogram(
    'chatops_job_duration_seconds',
    'Duration of one job attempt, by queue (job kind) and how it ended.',
    ['queue', 'outcome'],
    JOB_BUCKETS,
  );
  const jobFinalFailures = counter(
    'chatops_job_final_failures_total',
    'Jobs that failed for good (no attempt left, or a failure retrying cannot fix), by queue.',
    ['queue'],
  );

  // Notices ------------------------------------------------------------------------------------------
  const noticeLag = histogram(
    'chatops_notice_lag_seconds',
    'Time from when a maintenance notice was due to when it was posted, by notice kind.',
    ['kind'],
    NOTICE_LAG_BUCKETS,
  );
  const noticesLate = counter(
    'chatops_notices_late_total',
    'Maintenance notices posted marked late (more than 5 s after they were due), by kind.',
    ['kind'],
  );
  const noticesFailed = counter(
    'chatops_notices_failed_total',
    'Maintenance notices dropped without being posted (no longer relevant after an outage), by kind.',
    ['kind'],
  );
  for (const kind of NOTICE_KINDS) {
    noticesLate.inc({ kind }, 0);
    noticesFailed.inc({ kind }, 0);
  }

  // Outbound APIs ------------------------------------------------------------------------------------
  const slackCalls = counter(
    'chatops_slack_api_calls_total',
    'Slack Web API HTTP requests (each retry counts), by method and result.',
    ['method', 'result'],
  );
  const awsCalls = counter(
    'chatops_aws_api_calls_total',
    'AWS API HTTP attempts (each SDK retry counts), by service and result.',
    ['service', 'result'],
  );

  // Scrape-time state from Redis ---------------------------------------------------------------------
  let sources: ScrapeSources = { ...opts.sources };
  const sourceUp = new Gauge({
    name: 'chatops_scrape_source_up',
    help: 'Whether the last scrape-time read of a source (from Redis) succeeded: 1 yes, 0 no.',
    labelNames: ['source'],
    registers,
    // Every metric of a scrape is rendered at once: wait for this scrape's (cached) reads.
    collect: () => settleReads(),
  });
  const sourceSeconds = new Gauge({
    name: 'chatops_scrape_source_duration_seconds',
    help: 'How long the last scrape-time read of a source took.',
    labelNames: ['source'],
    registers,
    collect: () => settleReads(),
  });
  /** Wraps a source read: timing, the up gauge, and the short cache. */
  const reader = <T>(name: SourceName, read: () => Promise<T>) =>
    cached(
      async () => {
        const started = clock.now();
        try {
          const v = await read();
          sourceUp.set({ source: name }, 1);
          return v;
        } catch (err) {
          sourceUp.set({ source: name }, 0);
          throw err;
        } finally {
          sourceSeconds.set({ source: name }, (clock.now() - started) / 1000);
        }
      },
      cacheMs,
      clock,
    );
  const queueList = (): JobCountSource[] => {
    const q = sources.queues;
    return typeof q === 'function' ? q() : (q ?? []);
  };
  let readQueues: () => Promise<{ queue: string; counts: Record<string, number> }[]>;
  let readDumps: () => Promise<DumpsSnapshot>;
  let readWindows: () => Promise<Partial<Record<string, number>>>;
  let readMigration: () => Promise<MigrationSnapshot>;
  let readHeartbeat: () => Promise<number | undefined>;
  const rebuildReaders = () => {
    readQueues = reader('queues', () =>
      Promise.all(
        queueList().map(async (q) => ({
          queue: q.name,
          // One round trip: BullMQ counts every state in one script call.
          counts: await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
        })),
      ),
    );
    readDumps = reader('dumps', () => (sources.dumps as () => Promise<DumpsSnapshot>)());
    readWindows = reader('maintenance', () =>
      (sources.maintenance as () => Promise<Partial<Record<string, number>>>)(),
    );
    readMigration = reader('migration', () => (sources.migration as () => Promise<MigrationSnapshot>)());
    readHeartbeat = reader('heartbeat', () => (sources.heartbeat as () => Promise<number | undefined>)());
  };
  const settleReads = async (): Promise<void> => {
    const reads: Promise<unknown>[] = [];
    if (sources.queues) reads.push(readQueues());
    if (sources.dumps) reads.push(readDumps());
    if (sources.maintenance) reads.push(readWindows());
    if (sources.migration) reads.push(readMigration());
    if (sources.heartbeat) reads.push(readHeartbeat());
    await Promise.allSettled(reads);
  };
  const initQueues = () => {
    for (const q of queueList()) jobFinalFailures.inc({ queue: codeName(q.name, QUEUE_NAME) }, 0);
  };
  rebuildReaders();
  initQueues();

  /**
   * A gauge filled at scrape time. On a failed read its series are dropped rather than left at the
   * last value (an alert must not see a stale "all fine"); `chatops_scrape_source_up` says why.
   */
  const scrapeGauge = (
    name: string,
    help: string,
    labelNames: string[],
    source: SourceName,
    fill: (g: Gauge) => Promise<void>,
  ) => {
    const g: Gauge = new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        g.reset();
        // prom-client gives a gauge without labels a default 0, which would read as "the heartbeat
        // was at 1970": nothing is exported until a read says otherwise.
        if (labelNames.length === 0) g.remove();
        if (!sources[source]) return;
        await fill(g).catch(() => undefined);
      },
    });
    return g;
  };

  scrapeGauge(
    'chatops_queue_jobs',
    'Jobs per queue and BullMQ state (waiting includes prioritized), read from Redis at scrape time.',
    ['queue', 'state'],
    'queues',
    async (g) => {
      for (const { queue, counts } of await readQueues()) {
        const label = codeName(queue, QUEUE_NAME);
        g.set({ queue: label, state: 'waiting' }, (counts.waiting ?? 0) + (counts.prioritized ?? 0));
        for (const state of ['active', 'delayed', 'failed'] as const)
          g.set({ queue: label, state }, counts[state] ?? 0);
      }
    },
  );

  const dumpJobLabel = (job: string) => (dumpJobs ? (dumpJobs.has(job) ? job : undefined) : job);
  // A time per configured dump job (Unix seconds), absent while it has none.
  const dumpTimeGauge = (name: string, help: string, field: 'lastCheckAt' | 'lastPassAt') =>
    scrapeGauge(name, help, ['dump'], 'dumps', async (g) => {
      for (const j of (await readDumps()).jobs) {
        const dump = dumpJobLabel(j.job);
        const at = j[field];
        if (dump && at !== undefined) g.set({ dump }, at / 1000);
      }
    });
  dumpTimeGauge(
    'chatops_dump_last_check_timestamp_seconds',
    'When each configured dump job was last checked (Unix time).',
    'lastCheckAt',
  );
  dumpTimeGauge(
    'chatops_dump_last_pass_timestamp_seconds',
    'When a check of each configured dump job last passed (Unix time); absent until one has.',
    'lastPassAt',
  );
  scrapeGauge(
    'chatops_dump_alerts',
    'Dump alerts not yet resolved, by state (open, acked).',
    ['state'],
    'dumps',
    async (g) => {
      const { alerts } = await readDumps();
      g.set({ state: 'open' }, alerts.open);
      g.set({ state: 'acked' }, alerts.acked);
    },
  );
  scrapeGauge(
    'chatops_maintenance_windows',
    'Maintenance windows kept in Redis, by state.',
    ['state'],
    'maintenance',
    async (g) => {
      const counts = await readWindows();
      for (const state of WINDOW_STATES) g.set({ state }, counts[state] ?? 0);
    },
  );
  const kinds = new Set<string>(MIGRATION_KINDS);
  const states = new Set<string>(REQUEST_STATES);
  scrapeGauge(
    'chatops_migration_requests',
    'Approval-gated migration requests kept in Redis, by kind and state.',
    ['kind', 'state'],
    'migration',
    async (g) => {
      const m = await readMigration();
      for (const kind of MIGRATION_KINDS) for (const state of REQUEST_STATES) g.set({ kind, state }, 0);
      for (const r of m.requests) {
        if (kinds.has(r.kind) && states.has(r.state)) g.inc({ kind: r.kind, state: r.state }, r.count);
      }
    },
  );
  scrapeGauge(
    'chatops_migration_pending_approvals',
    'Approvals still missing on pending migration requests.',
    [],
    'migration',
    async (g) => {
      g.set((await readMigration()).pendingApprovals);
    },
  );
  scrapeGauge(
    'chatops_worker_heartbeat_timestamp_seconds',
    'When a worker last ran the heartbeat job (Unix time): the same value on every process.',
    [],
    'heartbeat',
    async (g) => {
      const at = await readHeartbeat();
      if (at !== undefined) g.set(at / 1000);
    },
  );

  const ack = (kind: string, seconds: number) => {
    if (Number.isFinite(seconds) && seconds >= 0) ackSeconds.observe({ kind }, seconds);
  };

  return {
    registry,
    contentType: registry.contentType,
    commandDone(command, outcome, seconds) {
      commandsTotal.inc({
        command: oneOf(command.replace(/^\//, ''), commands, 'other'),
        outcome: outcomeLabel(outcome),
      });
      ack('command', seconds);
    },
    clickDone(actionId, outcome, seconds) {
      clicksTotal.inc({ action: actionFamily(actionId, actions), outcome: outcomeLabel(outcome) });
      ack('click', seconds);
    },
    submissionDone(callbackId, outcome, seconds) {
      submissionsTotal.inc({ view: oneOf(callbackId, views, 'unknown'), outcome: outcomeLabel(outcome) });
      ack('submission', seconds);
    },
    requestRefused(reason) {
      refusedTotal.inc({ reason: oneOf(reason, new Set(REFUSAL_REASONS), 'signature') });
    },
    jobDone(queue, outcome, seconds) {
      if (Number.isFinite(seconds) && seconds >= 0)
        jobSeconds.observe({ queue: codeName(queue, QUEUE_NAME), outcome }, seconds);
    },
    jobFailedFinally(queue) {
      jobFinalFailures.inc({ queue: codeName(queue, QUEUE_NAME) });
    },
    noticePosted(kind, lagSeconds, late) {
      noticeLag.observe({ kind: oneOf(kind, noticeKinds, 'other') }, Math.max(0, lagSeconds));
      if (late) noticesLate.inc({ kind: oneOf(kind, noticeKinds, 'other') });
    },
    noticeLate(kind) {
      noticesLate.inc({ kind: oneOf(kind, noticeKinds, 'other') });
    },
    noticeFailed(kind) {
      noticesFailed.inc({ kind: oneOf(kind, noticeKinds, 'other') });
    },
    slackCall(method, result) {
      slackCalls.inc({ method: codeName(method, SLACK_METHOD), result });
    },
    awsCall(service, result) {
      awsCalls.inc({ service: codeName(service, SERVICE_NAME), result });
    },
    setSources(more) {
      sources = { ...sources, ...more };
      rebuildReaders();
      initQueues();
    },
    render: () => registry.metrics(),
  };
}

// HTTP -----------------------------------------------------------------------------------------------

/** A Node request handler answering with the registry's exposition text (500 with a short reason). */
export function metricsHandler(registry: Registry): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`metrics unavailable: ${err instanceof Error ? err.name : 'error'}\n`);
      },
    );
  };
}

/** `GET /metrics` in Bolt's custom route shape (`customRoutes` of the HTTP or Socket Mode receiver). */
export function metricsRoute(registry: Registry): {
  path: string;
  method: string;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
} {
  return { path: '/metrics', method: 'GET', handler: metricsHandler(registry) };
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A tiny HTTP server with `GET /metrics` and `GET /healthz`, for processes that have no Bolt
 * receiver (workers) or that serve metrics on their own METRICS_PORT. `port` 0 picks a free one.
 */
export async function startMetricsServer(opts: {
  registry: Registry;
  port: number;
  host?: string;
}): Promise<MetricsServer> {
  const handle = metricsHandler(opts.registry);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') return handle(req, res);
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// Refusals --------------------------------------------------------------------------------------------

const refusalMarks = new WeakMap<ServerResponse, RefusalReason>();

/** Names the reason of a 401 the code is about to send (the replay guard's), before it is written. */
export function markRefused(res: ServerResponse, reason: RefusalReason): void {
  refusalMarks.set(res, reason);
}

/**
 * Wraps the HTTP receiver's request listener so every 401 it answers on `path` is counted once,
 * where the answer is made: with the reason `markRefused` gave, else `signature` (Bolt answers a bad
 * or missing signature itself, before any middleware). Bolt is not patched.
 */
export function countRefusals<L extends (req: IncomingMessage, res: ServerResponse) => unknown>(
  listener: L,
  metrics: Pick<Metrics, 'requestRefused'>,
  path = '/slack/events',
): (req: IncomingMessage, res: ServerResponse) => unknown {
  return (req, res) => {
    if ((req.url ?? '').split('?')[0] === path) {
      res.once('finish', () => {
        if (res.statusCode === 401) metrics.requestRefused(refusalMarks.get(res) ?? 'signature');
      });
    }
    return listener(req, res);
  };
}
