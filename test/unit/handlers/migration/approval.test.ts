// The approval card's buttons and reject modal, and the status card's Refresh, through the real Bolt
// app on the real Redis: each click authorised at the moment of the click, answered to the clicker,
// audited, and changing a request only through jobs/migration's operations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackAnswer } from '../../../../handlers/migration/approval.js';
import { MIGRATION_QUEUE, readRequest } from '../../../../jobs/migration/index.js';
import { cleanupPlanOf, keysDigest, planHash } from '../../../../jobs/migration/plan.js';
import { createRequest } from '../../../../jobs/migration/store.js';
import { type BotWorld, startBotWorld } from '../../../helpers/bot-world.js';
import { migrationTestConfig } from './config.js';

const CARDS = 'C0APPROVE';
const ID = 'p5-0a1b2c3d';
let w: BotWorld;
beforeAll(async () => {
  w = await startBotWorld({
    config: migrationTestConfig(),
  });
  // A pending cleanup request made by U0DAVE, as the cleanup job stores it.
  const keys = ['dumps-test/a.sql.gz', 'dumps-test/b.sql.gz'];
  const plan = cleanupPlanOf(w.deps.config, { objects: keys.length, bytes: 200, keysHash: keysDigest(keys) });
  const stored = await createRequest(
    { redis: w.deps.redis, prefix: w.prefix },
    {
      kind: 'cleanup',
      id: ID,
      requester: 'U0DAVE',
      requestId: 'slack-req-1',
      plan,
      planHash: planHash(plan),
      needed: 2,
      expiresAt: Date.now() + 3_600_000,
      createdAt: Date.now(),
      keys,
    },
  );
  expect(stored).toBe('created');
});
afterAll(() => w.close());

/** Clicks `actionId` on the card as `user` and returns the answer the clicker sees. */
async function click(user: string, actionId: string, value = ID): Promise<string> {
  const seen = w.slack.messages(CARDS).filter((m) => m.user === user).length;
  await w.click(user, actionId, value, { channel: CARDS });
  return w.answer(CARDS, user, seen + 1);
}
const stateOf = async () => (await readRequest({ redis: w.deps.redis, prefix: w.prefix }, ID))?.state;

describe('Approve', () => {
  it('refuses a button that names no request, and one whose request is gone', async () => {
    expect(await click('U0ERIN', 'mig_approve', 'p5-<bad>')).toBe(
      ':warning: that button does not name a migration request',
    );
    expect(await click('U0ERIN', 'mig_approve', 'p5-ffffffff')).toBe(
      ':warning: request p5-ffffffff no longer exists',
    );
  });

  it('is for approvers only, and never for the requester', async () => {
    expect(await click('U0OPS', 'mig_approve')).toMatch(
      /^:no_entry: You are not allowed to do that \(migration\.approve;/,
    );
    expect(await click('U0DAVE', 'mig_approve')).toBe(
      ':no_entry: You requested this; someone else must approve it.',
    );
  });

  it('counts an approval once', async () => {
    expect(await click('U0ERIN', 'mig_approve')).toBe(':ballot_box_with_check: Counted: 1 of 2 approvals.');
    expect(await click('U0ERIN', 'mig_approve')).toBe(
      ':information_source: You already approved it (1 of 2); nothing changed.',
    );
    expect(await stateOf()).toBe('pending');
  });
});

describe('Reject', () => {
  it('opens the reason modal, and its submission rejects the request once', async () => {
    expect(await click('U0ERIN', 'mig_reject')).toBe('Give a reason (optional) and press Reject.');
    const modal = w.slack.callsTo('views.open').at(-1)?.args.view as {
      callback_id: string;
      private_metadata: string;
    };
    expect(modal).toMatchObject({ callback_id: 'mig_reject_submit', private_metadata: ID });

    await w.submit('U0ERIN', 'mig_reject_submit', ID, { reason: { value: '  wrong bucket  ' } });
    expect(await w.answer('U0ERIN', 'U0ERIN')).toBe(`:no_entry: Rejected cleanup request \`${ID}\`.`);
    expect(await stateOf()).toBe('rejected');
    expect(
      (await w.audit()).find((e) => e.action === 'migration.approve' && e.detail === 'wrong bucket'),
    ).toMatchObject({
      outcome: 'succeeded',
      target: ID,
    });

    await w.submit('U0ERIN', 'mig_reject_submit', ID, { reason: { value: '' } });
    expect(await w.answer('U0ERIN', 'U0ERIN', 2)).toBe(`Request \`${ID}\` is rejected; nothing changed.`);
    expect(await click('U0DAVE', 'mig_reject')).toBe(
      ':information_source: This request is rejected; nothing changed.',
    );
  });
});

describe('Roll back and Refresh', () => {
  it('rolls back phase-3 requests only', async () => {
    expect(await click('U0OPS', 'mig_rollback')).toBe(
      ':information_source: This request is rejected; nothing to roll back from here.',
    );
  });

  it('queues the status card', async () => {
    expect(await click('U0OPS', 'mig_refresh', '')).toBe('Refreshing the status card.');
    const jobs = await w.deps.queues.queue(MIGRATION_QUEUE).getJobs(['waiting']);
    expect(jobs.map((j) => [j.name, j.data.op, j.data.requester])).toEqual([['status', 'status', 'U0OPS']]);
  });
});

describe('rollbackAnswer', () => {
  it('says what a Roll back did: queued, refused by the state, or busy', () => {
    expect(rollbackAnswer({ result: 'queued', id: 'p3-aaaaaaaa', instanceId: 'i-1' } as never)).toMatchObject(
      {
        outcome: 'queued',
        target: 'p3-aaaaaaaa',
        reply: { text: expect.stringContaining('from `i-1`') },
      },
    );
    expect(rollbackAnswer({ result: 'state', id: 'p3-b', state: 'failed' } as never).reply.text).toBe(
      ':information_source: Phase-3 request `p3-b` is failed; nothing changed.',
    );
    expect(rollbackAnswer({ result: 'state', id: 'p3-c', state: 'running' } as never).reply.text).toMatch(
      /is running: one operation at a time/,
    );
    expect(rollbackAnswer({ result: 'busy', holder: 'p3-d' } as never, 'p3-e')).toMatchObject({
      outcome: 'invalid',
      target: 'p3-e',
      detail: 'busy: p3-d',
    });
  });
});
