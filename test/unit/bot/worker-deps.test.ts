// A worker's real adapters (createWorkerDeps), built from the environment: Slack at SLACK_API_URL
// with every call counted, mail at SMTP_URL, the deployment's prefix, Home refreshes asked through its
// queues and published through Slack, and overrides that replace one adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkerDeps } from '../../../bot/worker-deps.js';
import { HOME_REFRESH_MS, HOUSEKEEPING_QUEUE } from '../../../jobs/housekeeping.js';
import { until } from '../../helpers/wait.js';
import { startWorkerWorld, type WorkerWorld } from '../../helpers/worker-world.js';

let w: WorkerWorld;
beforeAll(async () => {
  w = await startWorkerWorld();
});
afterAll(() => w.close());

describe('createWorkerDeps', () => {
  it('posts through the fake Slack at SLACK_API_URL and counts each call', async () => {
    const ref = await w.deps.notifier.post('U0ALICE', 'hello from a worker');
    expect(ref.channel).toBe('D0ALICE');
    expect(w.slack.messages('D0ALICE').map((m) => m.text)).toEqual(['hello from a worker']);
    expect(await w.deps.metrics.render()).toContain(
      'chatops_slack_api_calls_total{method="chat.postMessage",result="ok"} 1',
    );
  });

  it('mails through SMTP_URL', async () => {
    await w.deps.mailer.send({
      from: 'chatops@example.com',
      to: 'bob@example.com',
      subject: 'hi',
      text: 'body',
    });
    expect((await w.smtp.waitForMessage((m) => m.to.includes('bob@example.com'))).subject).toBe('hi');
  });

  it('keys Redis under CHATOPS_REDIS_PREFIX, and asks for a Home refresh through its queues', async () => {
    expect(w.deps.prefix).toBe(w.prefix);
    w.deps.homeChanged?.();
    const slot = Math.floor(w.deps.clock.now() / HOME_REFRESH_MS);
    await until('the refresh job', () => w.deps.queues.queue(HOUSEKEEPING_QUEUE).getJob(`home-${slot}`));
  });

  it("publishes people's Home tabs through Slack", async () => {
    await w.deps.publishHome?.(['U0CAROL']);
    expect(w.slack.callsTo('views.publish').map((c) => c.args.user_id)).toEqual(['U0CAROL']);
  });

  it('lets an override replace one adapter and keeps the rest', () => {
    const mailer = { verify: async () => {}, send: async () => ({ messageId: 'm-1' }), close: () => {} };
    const deps = createWorkerDeps({ ...w.deps, overrides: { mailer } });
    expect(deps.mailer).toBe(mailer);
    expect(deps.prefix).toBe(w.prefix);
    expect(deps.config).toBe(w.deps.config);
    void deps.queues.close();
  });
});
