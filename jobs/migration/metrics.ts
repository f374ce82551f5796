// Read-only views of the migration's requests for monitoring and the App Home tab: the requests the
// store points at (the open and the latest of each kind), by state, and the approvals still missing,
// judged as the approval buttons judge them (the live plan's hash, current approvers, not the requester).
import type { Config } from '../../infra/config.js';
import { CRON_ORDER } from './phase4.js';
import { approverSet, countingApprovals, livePlan, planHash, type RequestKind } from './plan.js';
import { cutovers, latestRequest, type MigrationRequest, type MigrationStore, openRequest } from './store.js';

const KINDS: RequestKind[] = ['phase3', 'cleanup'];

/** The approvals that count now for `r`, and the quorum (the live config's). */
function approvalsNow(config: Config, r: MigrationRequest): { users: string[]; needed: number } {
  let hash = '';
  try {
    hash = planHash(livePlan(config, r.plan));
  } catch {
    // The migration is no longer configured: no approval counts.
  }
  return {
    users: countingApprovals(r, hash, approverSet(config)),
    needed: config.migration?.approvals ?? r.needed,
  };
}

/** The open and the latest request of each kind (one each when they are the same). */
async function knownRequests(s: MigrationStore): Promise<MigrationRequest[]> {
  const found = await Promise.all(
    KINDS.flatMap(
      (kind) => [openRequest(s, kind), latestRequest(s, kind)] as Promise<MigrationRequest | undefined>[],
    ),
  );
  const byId = new Map<string, MigrationRequest>();
  for (const r of found) if (r) byId.set(r.id, r);
  return [...byId.values()];
}

/**
 * For the metrics scrape: the requests the store points at (the open and the latest of each kind),
 * counted by kind and state, and the approvals still missing on pending ones.
 */
export async function migrationSnapshot(
  s: MigrationStore,
  config: Config,
): Promise<{ requests: { kind: string; state: string; count: number }[]; pendingApprovals: number }> {
  const counts = new Map<string, { kind: string; state: string; count: number }>();
  let pendingApprovals = 0;
  for (const r of await knownRequests(s)) {
    const key = `${r.kind}/${r.state}`;
    const c = counts.get(key) ?? { kind: r.kind, state: r.state, count: 0 };
    c.count += 1;
    counts.set(key, c);
    if (r.state === 'pending') {
      const a = approvalsNow(config, r);
      pendingApprovals += Math.max(0, a.needed - a.users.length);
    }
  }
  return { requests: [...counts.values()], pendingApprovals };
}

/** What the Home tab shows of the migration, read from Redis only (AWS is asked by /migration status). */
export interface MigrationOverview {
  phases: { name: string; done: boolean; detail?: string }[];
  pending: {
    id: string;
    kind: RequestKind;
    requester: string;
    summary: string;
    approvals: string[];
    needed: number;
    expiresAt: number;
  }[];
}

/** Phases 3 to 5 as Redis knows them, and the requests waiting for approvals. */
export async function migrationOverview(s: MigrationStore, config: Config): Promise<MigrationOverview> {
  const [p3, cleanup, cuts, open3, openCleanup] = await Promise.all([
    latestRequest(s, 'phase3'),
    latestRequest(s, 'cleanup'),
    cutovers(s),
    openRequest(s, 'phase3'),
    openRequest(s, 'cleanup'),
  ]);
  const order = CRON_ORDER.filter((c) => (config.dumps?.jobs ?? []).some((j) => j.name === c));
  const cut = order.filter((c) => cuts.some((x) => x.cron === c));
  const phases = [
    {
      name: 'Phase 3, instance profile',
      done: p3?.state === 'done',
      detail: p3 ? `request \`${p3.id}\` ${p3.state}` : 'not requested yet',
    },
    {
      name: 'Phase 4, cutover',
      done: order.length > 0 && cut.length === order.length,
      detail: `${cut.length} of ${order.length} cron jobs`,
    },
    {
      name: 'Phase 5, cleanup',
      done: cleanup?.state === 'done',
      detail: cleanup ? `deletion of the test dumps \`${cleanup.id}\` ${cleanup.state}` : 'not requested yet',
    },
  ];
  const pending = [open3, openCleanup]
    .filter((r): r is MigrationRequest => r?.state === 'pending')
    .map((r) => {
      const a = approvalsNow(config, r);
      const summary =
        r.kind === 'phase3'
          ? `Stop ${r.plan.instanceId} in ${r.plan.account} (${r.plan.accountId}), associate ${r.plan.instanceProfile}, start it again, in window ${r.plan.windowId}.`
          : `Delete ${r.plan.objects} objects under s3://${r.plan.bucket}/${r.plan.prefix} in ${r.plan.account}.`;
      return {
        id: r.id,
        kind: r.kind,
        requester: r.requester,
        summary,
        approvals: a.users,
        needed: a.needed,
        expiresAt: r.expiresAt,
      };
    });
  return { phases, pending };
}
