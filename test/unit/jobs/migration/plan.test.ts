// The plans a /migration request is approved for, their hashes, and who may approve (pure).
import { describe, expect, it } from 'vitest';
import {
  approverSet,
  cleanupPlanOf,
  countingApprovals,
  keysDigest,
  kindOf,
  livePlan,
  migrationConfig,
  PHASE3_STEPS,
  planChanges,
  planHash,
  planOf,
  quorum,
  REQUEST_ID,
  requestIdFor,
  requestLabel,
} from '../../../../jobs/migration/plan.js';
import { migConfig as base } from './parts.js';

// Short names for the role and profile, so the phrases below read as the card shows them.
const migConfig = (m: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  base({ role: 'cron-role', instanceProfile: 'cron-profile', ...m }, extra);
const window = { id: 'mw-7f3a', start: 1_800_000_000_000, end: 1_800_001_800_000 };

describe('the migration config', () => {
  it('is returned when configured, and its absence says what to add', () => {
    expect(migrationConfig(migConfig()).instanceProfile).toBe('cron-profile');
    expect(() => migrationConfig(migConfig({}, { migration: undefined }))).toThrow(
      /the migration is not configured: add migration \(account, instanceId, role, instanceProfile, secretId, bucket\)/,
    );
  });

  it('gives the quorum it configures', () => {
    expect(quorum(migConfig({ approvals: 3 }))).toBe(3);
  });
});

describe('request ids', () => {
  it('are the same for the same command (a retried job makes the same request), p3- or p5- by kind', () => {
    const p3 = requestIdFor('slack-req-1');
    expect(p3).toBe(requestIdFor('slack-req-1'));
    expect(p3).not.toBe(requestIdFor('slack-req-2'));
    expect(p3).toMatch(REQUEST_ID);
    expect(kindOf(p3)).toBe('phase3');
    const p5 = requestIdFor('slack-req-1', 'cleanup');
    expect(p5).toMatch(/^p5-[0-9a-f]{8}$/);
    expect(kindOf(p5)).toBe('cleanup');
  });

  it('name their kind in answers', () => {
    expect(requestLabel({ kind: 'phase3' })).toBe('phase-3 request');
    expect(requestLabel({ kind: 'cleanup' })).toBe('cleanup request');
  });
});

describe("phase 3's plan", () => {
  it('names the account, instance, profile, role, window and the six steps, from the config now', () => {
    expect(planOf(migConfig(), window)).toEqual({
      account: 'osio',
      accountId: '386414299200',
      region: 'us-east-1',
      instanceId: 'i-0123456789abcdef0',
      instanceProfile: 'cron-profile',
      role: 'cron-role',
      windowId: 'mw-7f3a',
      windowStart: window.start,
      windowEnd: window.end,
      steps: [...PHASE3_STEPS],
    });
  });

  it('hashes every field but the window end: an extension keeps the approvals, anything else voids them', () => {
    const plan = planOf(migConfig(), window);
    expect(planHash({ ...plan, windowEnd: plan.windowEnd + 3_600_000 })).toBe(planHash(plan));
    for (const change of [
      { instanceProfile: 'other' },
      { windowStart: plan.windowStart + 1 },
      { windowId: 'mw-other' },
      { steps: plan.steps.slice(1) },
    ])
      expect(planHash({ ...plan, ...change })).not.toBe(planHash(plan));
  });

  it('is compared with the plan the config describes now, one phrase per change', () => {
    const stored = planOf(migConfig(), window);
    const live = livePlan(migConfig({ instanceProfile: 'new-profile', role: 'new-role' }), stored);
    expect(live.windowId).toBe(stored.windowId);
    expect(planChanges(stored, live)).toEqual([
      'instance profile `cron-profile` → `new-profile`',
      'role `cron-role` → `new-role`',
    ]);
    expect(planChanges(stored, livePlan(migConfig(), stored))).toEqual([]);
  });
});

describe("the phase-5 cleanup's plan", () => {
  const listing = { objects: 3, bytes: 300, keysHash: keysDigest(['dumps-test/a', 'dumps-test/b']) };

  it('names the bucket, the test prefix and the listing', () => {
    const plan = cleanupPlanOf(migConfig(), listing);
    expect(plan).toEqual({
      account: 'osio',
      accountId: '386414299200',
      region: 'us-east-1',
      bucket: 'jram-gghouse',
      prefix: 'dumps-test/',
      ...listing,
    });
    expect(livePlan(migConfig(), plan)).toEqual(plan);
    expect(planChanges(plan, livePlan(migConfig({ bucket: 'other-bucket' }), plan))).toEqual([
      'bucket `jram-gghouse` → `other-bucket`',
    ]);
    expect(planHash({ ...plan, objects: 4 })).not.toBe(planHash(plan));
  });

  it('binds the listing by its keys, in any order', () => {
    expect(keysDigest(['dumps-test/b', 'dumps-test/a'])).toBe(keysDigest(['dumps-test/a', 'dumps-test/b']));
    expect(keysDigest(['dumps-test/a'])).not.toBe(keysDigest(['dumps-test/a', 'dumps-test/b']));
  });
});

describe('who may approve, and which approvals count', () => {
  it('is the holders of the approving roles, sorted; everyone and people as configured', () => {
    expect(approverSet(migConfig())).toEqual(['U0DAVE', 'U0ERIN']);
    expect(approverSet(migConfig({}, { permissions: { 'migration.approve': ['everyone'] } }))).toBe('*');
    const withPeople = migConfig(
      {},
      {
        permissions: { 'migration.approve': ['people', 'admin'] },
        people: [{ slack: 'U0CAROL', name: 'carol', email: 'carol@example.com' }],
      },
    );
    expect(approverSet(withPeople)).toEqual(['U0CAROL', 'U0OPS']);
  });

  it('counts distinct approvers on the current hash, not the requester, only while the plan is that hash', () => {
    const r = {
      requester: 'U0OPS',
      planHash: 'h1',
      approvals: [
        { user: 'U0DAVE', hash: 'h1' },
        { user: 'U0DAVE', hash: 'h1' },
        { user: 'U0OPS', hash: 'h1' },
        { user: 'U0ERIN', hash: 'h0' },
        { user: 'U0FRED', hash: 'h1' },
      ],
    };
    expect(countingApprovals(r, 'h1', '*')).toEqual(['U0DAVE', 'U0FRED']);
    expect(countingApprovals(r, 'h1', ['U0DAVE', 'U0ERIN'])).toEqual(['U0DAVE']);
    expect(countingApprovals(r, 'h2', '*')).toEqual([]);
  });
});
