// The plans a /migration request is approved for, and their hashes (pure). Phase 3's plan names the
// account, the instance, the instance profile and role, and the window; the phase-5 cleanup's names
// the account, bucket, prefix and a digest of the listed keys. Approvals are bound to the hash, and
// every step runs the stored plan: the live config is only compared with it, never executed.
import { createHash } from 'node:crypto';
import { allowedRoles, type Config } from '../../infra/config.js';
import { UserError } from '../../infra/errors.js';

export type RequestKind = 'phase3' | 'cleanup';

/** What phase 3 will do, exactly. */
export interface Plan {
  account: string;
  accountId: string;
  region: string;
  instanceId: string;
  instanceProfile: string;
  role: string;
  windowId: string;
  windowStart: number;
  /**
   * The window's end when the plan was made, for the card. Not part of the hash: extending the
   * window extends the run's budget (the run reads the end live) without voiding the approvals.
   */
  windowEnd: number;
  steps: string[];
}

export const PHASE3_STEPS = [
  'post the start notice in the window thread',
  'stop the instance and wait until it is stopped',
  'associate the instance profile',
  'start the instance and wait until it is running',
  'verify the association',
  'post the completion notice',
] as const;

/** The index of each phase-3 step in PHASE3_STEPS (a request's `step` is the next one to run). */
export const STEP = { notice: 0, stop: 1, associate: 2, start: 3, verify: 4, done: 5 } as const;

/** What phase 5's AWS step deletes, exactly; its hash (with the listed keys) binds the approvals. */
export interface CleanupPlan {
  account: string;
  accountId: string;
  region: string;
  bucket: string;
  prefix: string;
  /** What the listing at request time found under the prefix. */
  objects: number;
  bytes: number;
  /** Digest of the listed keys (keysDigest), so a changed listing changes the plan. */
  keysHash: string;
}

export type MigrationConfig = NonNullable<Config['migration']>;

/** The migration's config; a UserError saying what to add when there is none. */
export function migrationConfig(config: Config): MigrationConfig {
  if (!config.migration) {
    throw new UserError(
      'not_configured',
      "the migration is not configured: add migration (account, instanceId, role, instanceProfile, secretId, bucket) to the bot's config",
    );
  }
  return config.migration;
}

export const REQUEST_ID = /^p[35]-[0-9a-z]{6,12}$/;

/** The kind of a request, from its id: `p3-…` phase 3, `p5-…` the cleanup. */
export function kindOf(id: string): RequestKind {
  return id.startsWith('p5-') ? 'cleanup' : 'phase3';
}

/** The request id for the command that asked for it: a retried job makes the same request. */
export function requestIdFor(slackRequestId: string, kind: RequestKind = 'phase3'): string {
  const hex = createHash('sha256').update(slackRequestId).digest('hex').slice(0, 8);
  return `${kind === 'phase3' ? 'p3' : 'p5'}-${hex}`;
}

/** "phase-3 request" or "cleanup request", for answers and messages. */
export function requestLabel(r: { kind: RequestKind }): string {
  return r.kind === 'phase3' ? 'phase-3 request' : 'cleanup request';
}

/** The account a plan runs in, as the config names it now (alias, id, region). */
function planAccount(config: Config) {
  const m = migrationConfig(config);
  const account = config.accounts[m.account];
  return { m, at: { account: m.account, accountId: account?.id ?? '?', region: account?.region ?? '?' } };
}

/** Phase 3's plan for a window, from the config as it is now. */
export function planOf(config: Config, window: { id: string; start: number; end: number }): Plan {
  const { m, at } = planAccount(config);
  return {
    ...at,
    instanceId: m.instanceId,
    instanceProfile: m.instanceProfile,
    role: m.role,
    windowId: window.id,
    windowStart: window.start,
    windowEnd: window.end,
    steps: [...PHASE3_STEPS],
  };
}

/** The cleanup plan for a listing, from the config as it is now (account, bucket, prefix). */
export function cleanupPlanOf(
  config: Config,
  listing: Pick<CleanupPlan, 'objects' | 'bytes' | 'keysHash'>,
): CleanupPlan {
  const { m, at } = planAccount(config);
  return {
    ...at,
    bucket: m.bucket,
    prefix: m.testPrefix,
    objects: listing.objects,
    bytes: listing.bytes,
    keysHash: listing.keysHash,
  };
}

/** What an approval is bound to: every field of the plan, in a fixed order (phase 3: not the end). */
function hashed(plan: Plan | CleanupPlan): unknown[] {
  if ('instanceId' in plan) {
    const p = plan;
    return [
      p.account,
      p.accountId,
      p.region,
      p.instanceId,
      p.instanceProfile,
      p.role,
      p.windowId,
      p.windowStart,
      p.steps,
    ];
  }
  const c = plan;
  return [c.account, c.accountId, c.region, c.bucket, c.prefix, c.objects, c.bytes, c.keysHash];
}

export function planHash(plan: Plan | CleanupPlan): string {
  return createHash('sha256')
    .update(JSON.stringify(hashed(plan)))
    .digest('hex')
    .slice(0, 16);
}

/** The plan the live config describes for a stored plan (same window, same listing). */
export function livePlan<P extends Plan | CleanupPlan>(config: Config, stored: P): P;
export function livePlan(config: Config, stored: Plan | CleanupPlan): Plan | CleanupPlan {
  if ('instanceId' in stored) {
    return planOf(config, { id: stored.windowId, start: stored.windowStart, end: stored.windowEnd });
  }
  return cleanupPlanOf(config, stored);
}

/**
 * What differs between the approved plan and the one the config describes now, one phrase each
 * (`instance profile \`a\` → \`b\``); empty when they are the same.
 */
export function planChanges(stored: Plan | CleanupPlan, live: Plan | CleanupPlan): string[] {
  const labels: Record<string, string> = {
    account: 'account',
    accountId: 'account id',
    region: 'region',
    instanceId: 'instance',
    instanceProfile: 'instance profile',
    role: 'role',
    bucket: 'bucket',
    prefix: 'prefix',
  };
  const a: Record<string, unknown> = { ...stored };
  const b: Record<string, unknown> = { ...live };
  return Object.keys(labels)
    .filter((k) => k in a && a[k] !== b[k])
    .map((k) => `${labels[k]} \`${String(a[k])}\` → \`${String(b[k] ?? 'none')}\``);
}

/** A digest of a set of object keys (order does not matter). */
export function keysDigest(keys: Iterable<string>): string {
  return createHash('sha256')
    .update([...keys].sort().join('\n'))
    .digest('hex')
    .slice(0, 32);
}

/**
 * Who may approve under this config: the holders of the roles allowed `migration.approve`, or `'*'`
 * when everyone may. The store counts only approvals by these users.
 */
export function approverSet(config: Config): '*' | string[] {
  const roles = allowedRoles(config, 'migration.approve');
  if (roles.includes('everyone')) return '*';
  const users = new Set<string>();
  for (const role of roles) for (const u of config.roles[role] ?? []) users.add(u);
  if (roles.includes('people')) for (const p of config.people) users.add(p.slack);
  return [...users].sort();
}

/** The quorum under this config. */
export function quorum(config: Config): number {
  return migrationConfig(config).approvals;
}

/**
 * The approvals that count now (the same rule as the store's Lua): bound to `currentHash`, which
 * must also be the request's plan hash; by a user who may approve under the config now; not the
 * requester; each user once.
 */
export function countingApprovals(
  r: { approvals: { user: string; hash: string }[]; planHash: string; requester: string },
  currentHash: string,
  approvers: '*' | string[],
): string[] {
  if (r.planHash !== currentHash) return [];
  const users = r.approvals
    .filter((a) => a.hash === currentHash && a.user !== r.requester)
    .filter((a) => approvers === '*' || approvers.includes(a.user))
    .map((a) => a.user);
  return [...new Set(users)];
}
