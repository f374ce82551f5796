// The App Home tab: what each person may see of the shared reads and their own jobs (pure), the
// publish through the fake Slack (a person Slack refuses is skipped, the others still published), and
// app_home_opened through the real Bolt app (the viewer noted for refreshes, their tab published).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { homeDataFor, publishHome } from '../../../bot/home.js';
import { homeViewers } from '../../../jobs/housekeeping.js';
import type { JobSummary } from '../../../jobs/queues.js';
import { type BotWorld, startBotWorld } from '../../helpers/bot-world.js';
import { testConfig } from '../../helpers/config.js';
import { until } from '../../helpers/wait.js';

const NOW = Date.UTC(2027, 0, 15, 3, 0);
const config = testConfig({
  roles: { admin: ['U0OPS'], approver: ['U0DAVE'] },
  permissions: { dumps: ['admin', 'approver'] },
});

const job = (requester: string, id: string): JobSummary => ({
  queue: 'reset-password',
  id,
  name: 'reset',
  state: 'completed',
  requester,
  requestId: `req-${id}`,
  createdAt: NOW - 60_000,
  attemptsMade: 1,
});
const shared = {
  now: NOW,
  alerts: [
    {
      id: 'da-orders-20270115',
      job: 'orders',
      day: '2027-01-15',
      state: 'open' as const,
      count: 1,
      lastAt: NOW,
    },
  ],
  windows: [],
  migration: { phases: [], requests: [] },
  jobs: [job('U0ALICE', 'j1'), job('U0BOB', 'j2'), job('U0ALICE', 'j3')],
};

describe('homeDataFor', () => {
  it('shows a person their own jobs only, and the dump alerts and the migration only with the right roles', () => {
    const alice = homeDataFor(config, 'U0ALICE', shared);
    expect(alice.jobs.map((j) => j.id)).toEqual(['j1', 'j3']);
    expect(alice).toMatchObject({
      viewer: 'U0ALICE',
      isApprover: false,
      zone: 'Asia/Tokyo',
      now: NOW,
      alerts: [],
    });
    expect(alice.migration).toBeUndefined();

    const dave = homeDataFor(config, 'U0DAVE', shared);
    expect(dave).toMatchObject({
      isApprover: true,
      jobs: [],
      alerts: shared.alerts,
      migration: shared.migration,
    });
    expect(homeDataFor(config, 'U0OPS', shared)).toMatchObject({
      isApprover: false,
      migration: shared.migration,
    });
  });
});

describe('publishing Home', () => {
  let w: BotWorld;
  beforeAll(async () => {
    w = await startBotWorld({ config });
  });
  afterAll(() => w.close());

  const homeOf = () => ({
    config,
    redis: w.deps.redis,
    prefix: w.prefix,
    queues: w.deps.queues,
    clock: w.deps.clock,
    slack: w.deps.slack as NonNullable<typeof w.deps.slack>,
    log: w.deps.logger,
  });
  const published = (user: string) =>
    w.slack.callsTo('views.publish').filter((c) => c.args.user_id === user && !c.error);

  it('publishes each person their own tab, skips one Slack refuses, and reads nothing for nobody', async () => {
    await w.deps.queues.enqueue(
      'reset-password',
      'reset',
      { requestId: 'rq-1', requester: 'U0ALICE', account: 'osio-dev', iamUser: 'alice', person: 'U0ALICE' },
      { jobId: 'rp-home-1' },
    );
    w.slack.failNext('views.publish', 'user_not_found');
    await publishHome(homeOf(), ['U0GONE', 'U0ALICE']);
    expect(published('U0GONE')).toEqual([]);
    const [view] = published('U0ALICE');
    expect(JSON.stringify(view?.args.view)).toContain('`reset-password` reset: *waiting*');
    expect(w.logs.some((l) => l.includes('could not publish Home') && l.includes('U0GONE'))).toBe(true);
    const calls = w.slack.calls.length;
    await publishHome(homeOf(), []);
    expect(w.slack.calls.length).toBe(calls);
  });

  it('notes who opens their Home tab and publishes it; the Messages tab is left alone', async () => {
    await w.event({ type: 'app_home_opened', user: 'U0BOB', channel: 'D0BOB', tab: 'messages' });
    await w.event({ type: 'app_home_opened', user: 'U0DAVE', channel: 'D0DAVE', tab: 'home' });
    await until('the Home published', () => published('U0DAVE').length === 1);
    expect(await homeViewers(w.deps.redis, w.prefix, Date.now())).toEqual(['U0DAVE']);
    expect(published('U0BOB')).toEqual([]);
  });
});
