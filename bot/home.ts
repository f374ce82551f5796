// The App Home tab: read what concerns each person now (open dump alerts, live maintenance windows,
// the migration's phases and requests waiting for approvals, their own recent jobs) and publish it with
// views.publish. Published when the person opens the tab (app_home_opened), and again when something
// it shows changes: a job ends, or a command or click changes state (a debounced refresh job, see
// jobs/housekeeping.ts, republishes the tabs opened lately). Its buttons are the channel cards' own, so
// a click from Home goes through the same authorised, audited listeners (bot/listeners.ts).
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Clock } from '../infra/clock.js';
import { type Config, isAllowed } from '../infra/config.js';
import type { Logger } from '../infra/logger.js';
import type { Redis } from '../infra/redis.js';
import { type DumpAlert, openAlerts } from '../jobs/dumps/index.js';
import { noteHomeViewer } from '../jobs/housekeeping.js';
import { windowsEndingAfter } from '../jobs/maintenance/index.js';
import { migrationOverview } from '../jobs/migration/index.js';
import type { JobSummary, Queues } from '../jobs/queues.js';
import type { BotDeps } from './listeners.js';
import type { RequestContext } from './middleware.js';
import { type HomeAlert, type HomeData, type HomeJob, type HomeWindow, homeView } from './views/home.js';

/**
 * How many recent jobs of each queue are read to find each person's own (the view shows 10; the read
 * costs a round trip per job, so it stays small).
 */
const RECENT_JOBS = 30;

/** What publishing Home needs; the bot's deps and the workers' deps both have it. */
export interface HomeDeps {
  config: Config;
  redis: Redis;
  prefix: string;
  queues: Queues;
  clock: Clock;
  slack: WebClient;
  log: Logger;
}

/** What everyone's Home shows alike, read once per publish. */
interface Shared {
  now: number;
  alerts: HomeAlert[];
  windows: HomeWindow[];
  migration?: HomeData['migration'];
  jobs: JobSummary[];
}

const VERDICT: Record<string, string> = {
  missing: 'missing',
  'too-small': 'too small',
  'too-large': 'too large',
  empty: 'empty',
  'reported-failed': 'the cron host reported a failure',
};

function homeAlert(a: DumpAlert): HomeAlert {
  return {
    id: a.id,
    job: a.job,
    day: a.day,
    state: a.state === 'acked' ? 'acked' : 'open',
    count: a.count,
    lastAt: a.lastAt,
    seen: a.last ? (VERDICT[a.last.verdict] ?? a.last.verdict) : undefined,
    ackedBy: a.ackedBy,
    windowId: a.windowId,
  };
}

async function readShared(d: HomeDeps): Promise<Shared> {
  const now = d.clock.now();
  const store = { redis: d.redis, prefix: d.prefix };
  const jobNames = (d.config.dumps?.jobs ?? []).map((j) => j.name);
  const [alerts, windows, migration, jobs] = await Promise.all([
    openAlerts(store, jobNames),
    windowsEndingAfter(store, now),
    d.config.migration ? migrationOverview(store, d.config) : Promise.resolve(undefined),
    d.queues.recent(RECENT_JOBS),
  ]);
  return {
    now,
    alerts: alerts.map(homeAlert),
    windows: windows.flatMap((w) =>
      w.state === 'scheduled' || w.state === 'in-progress'
        ? [{ id: w.id, title: w.title, start: w.start, end: w.end, state: w.state, createdBy: w.createdBy }]
        : [],
    ),
    migration: migration && {
      phases: migration.phases,
      requests: migration.pending,
    },
    jobs,
  };
}

/** One person's Home data: what they may see of the shared part, and their own jobs. */
export function homeDataFor(config: Config, user: string, s: Shared): HomeData {
  const seesMigration = ['migration', 'migration.approve', 'migration.recover'].some((a) =>
    isAllowed(config, user, a),
  );
  const jobs: HomeJob[] = s.jobs
    .filter((j) => j.requester === user)
    .map((j) => ({
      id: j.id,
      queue: j.queue,
      name: j.name,
      state: j.state,
      createdAt: j.createdAt,
      failedReason: j.failedReason,
    }));
  return {
    viewer: user,
    isApprover: isAllowed(config, user, 'migration.approve'),
    zone: config.timezone,
    now: s.now,
    alerts: isAllowed(config, user, 'dumps') ? s.alerts : [],
    windows: s.windows,
    migration: seesMigration ? s.migration : undefined,
    jobs,
  };
}

/**
 * Publishes the Home tab of each of `users` (the shared reads once). A person Slack refuses (e.g.
 * not in the workspace any more) is logged and skipped; the others are still published.
 */
export async function publishHome(d: HomeDeps, users: readonly string[]): Promise<void> {
  if (!users.length) return;
  const shared = await readShared(d);
  for (const user of users) {
    await d.slack.views
      .publish({ user_id: user, view: homeView(homeDataFor(d.config, user, shared)) })
      .catch((err: unknown) =>
        d.log.warn({ user, err: err instanceof Error ? err.message : String(err) }, 'could not publish Home'),
      );
  }
}

/** The Home publisher of the bot process. */
export function botHomeDeps(deps: BotDeps, slack: WebClient): HomeDeps {
  return {
    config: deps.config,
    redis: deps.redis,
    prefix: deps.env.CHATOPS_REDIS_PREFIX,
    queues: deps.queues,
    clock: deps.clock,
    slack,
    log: deps.logger.child({ component: 'home' }),
  };
}

/**
 * Registers `app_home_opened` (Bolt acks events itself): the person is noted as a viewer for the
 * refreshes, and their Home tab is published. The Messages tab is left alone.
 */
export function registerHome(app: App, deps: BotDeps): void {
  app.event('app_home_opened', async ({ event, context, client }) => {
    if (event.tab !== 'home') return;
    const req = context.req as RequestContext | undefined;
    const log = req?.log ?? deps.logger;
    if (req?.redisDown) {
      log.warn('Home not published: Redis is not answering');
      return;
    }
    const home = botHomeDeps(deps, client);
    try {
      await noteHomeViewer(deps.redis, home.prefix, event.user, deps.clock.now());
      await publishHome(home, [event.user]);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not publish Home');
    }
  });
}
