// The plans a /migration request is approved for, and their hashes (pure). Phase 3's plan names the
// account, the instance, the profile and role, and the window; the phase-5 cleanup's names the
// account, bucket, prefix and a digest of the listed keys. An approval is bound to the hash.
import { createHash } from 'node:crypto';
import type { Config } from '../../infra/config.js';
import { UserError } from '../../infra/errors.js';

/** What phase 3 will do, exactly; its hash binds the approvals. */
export interface Plan {
  account: string;
  accountId: string;
  region: string;
  instanceId: string;
  instanceProfile: string;
  role: string;
  windowStart: number;
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

export type RequestKind = 'phase3' | 'cleanup';

export type MigrationConfig = NonNullable<Config['migration']>;

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

/** The migration's config, and the account its plans run in as the config names it now. */
function planAccount(config: Config) {
  const m = config.migration;
  if (!m) throw new Error('migration is not configured');
  const account = config.accounts[m.account];
  // The key order is part of the plan hash: account, accountId, region come first in every plan.
  return { m, at: { account: m.account, accountId: account?.id ?? '?', region: account?.region ?? '?' } };
}

/** The plan for a window, from the config as it is now. */
export function planOf(config: Config, windowStart: number, windowEnd: number): Plan {
  const { m, at } = planAccount(config);
  return {
    ...at,
    instanceId: m.instanceId,
    instanceProfile: m.instanceProfile,
    role: m.role,
    windowStart,
    windowEnd,
    steps: [...PHASE3_STEPS],
  };
}

export function planHash(plan: Plan | CleanupPlan): string {
  return createHash('sha256').update(JSON.stringify(plan)).digest('hex').slice(0, 16);
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

/** A digest of a set of object keys (order does not matter). */
export function keysDigest(keys: Iterable<string>): string {
  return createHash('sha256')
    .update([...keys].sort().join('\n'))
    .digest('hex')
    .slice(0, 32);
}
