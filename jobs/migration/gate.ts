// Phase 5's gate: every cron cut over, 14 days since the last cutover, no failed dump check since.
// A pure function of the cutovers, the latest failure and the time, so the bot's answer to
// `/migration check 5`, the worker's re-check before it lists anything and the status card agree.
import type { Config } from '../../infra/config.js';
import { formatLocal } from '../../infra/times.js';
import { type FailedCheck, latestFailure } from '../dumps/index.js';
import { type Cutover, cutovers, type MigrationStore } from './store.js';

export const GATE_DAYS = 14;
const DAY_MS = 86_400_000;

export interface CleanupGate {
  open: boolean;
  /** Why it is closed, one line each; empty when open. */
  reasons: string[];
  /** Whole days since the last cutover (0 without one). */
  days: number;
  lastCutover?: Cutover;
}

export interface GateInput {
  /** The configured dump jobs: the crons that must all be cut over. */
  jobs: string[];
  cutovers: Cutover[];
  /** The most recent failed dump check, if any was ever recorded. */
  failure?: FailedCheck;
  now: number;
  zone: string;
}

/** Whether phase 5 may start, and if not, every reason why. */
export function cleanupGate(g: GateInput): CleanupGate {
  const reasons: string[] = [];
  if (!g.jobs.length)
    reasons.push('no dump jobs are configured (dumps.jobs), so there is nothing to cut over');
  const missing = g.jobs.filter((n) => !g.cutovers.some((c) => c.cron === n));
  if (missing.length) reasons.push(`not cut over: ${missing.join(', ')}`);
  const last = g.cutovers.reduce<Cutover | undefined>((a, c) => (!a || c.at > a.at ? c : a), undefined);
  const days = last ? Math.floor((g.now - last.at) / DAY_MS) : 0;
  if (last && !missing.length && g.jobs.length && days < GATE_DAYS) {
    reasons.push(
      `${days} of ${GATE_DAYS} days since the last cutover (${last.cron}, ${formatLocal(last.at, g.zone)}); the earliest is ${formatLocal(last.at + GATE_DAYS * DAY_MS, g.zone)}`,
    );
  }
  if (last && g.failure && g.failure.at > last.at) {
    const f = g.failure;
    reasons.push(
      `the dump check of ${f.job} for ${f.day} failed${f.verdict ? ` (${f.verdict})` : ''} at ${formatLocal(f.at, g.zone)}, after the last cutover (${last.cron}, ${formatLocal(last.at, g.zone)}); once its cause is fixed, \`/migration rollback 4 ${f.job}\` and \`/migration cutover ${f.job}\` start the ${GATE_DAYS} days again`,
    );
  }
  return { open: reasons.length === 0, reasons, days, lastCutover: last };
}

/** The gate as Redis holds it now (the cutovers and the latest failed dump check). */
export async function readCleanupGate(s: MigrationStore, config: Config, now: number): Promise<CleanupGate> {
  return cleanupGate({
    jobs: (config.dumps?.jobs ?? []).map((j) => j.name),
    cutovers: await cutovers(s),
    failure: await latestFailure(s),
    now,
    zone: config.timezone,
  });
}

/** The cleanup steps of the runbook: three for a human on the host, one AWS step behind an approval. */
export function cleanupSteps(bucket: string, prefix: string): string[] {
  return [
    'on the cron host, remove `~/cron_scripts/` (the old scripts)',
    'on the cron host, remove `~/.aws/credentials`; keep `~/.aws/config`',
    `delete every object under \`s3://${bucket}/${prefix}\` (the parallel-test dumps): by the bot, behind its own approval card`,
    'update the documentation (runbook, host notes): the crons use the instance profile and Secrets Manager',
  ];
}

/**
 * Why deleting everything under `migration.testPrefix` would be unsafe with this config, or
 * undefined: an empty prefix is the whole bucket, and one that overlaps a dump job's prefix in the
 * same bucket would take real dumps with it.
 */
export function testPrefixProblem(config: Config): string | undefined {
  const m = config.migration;
  if (!m) return 'the migration is not configured';
  const prefix = m.testPrefix;
  if (!prefix) return 'migration.testPrefix is empty: deleting under it would empty the whole bucket';
  if (config.dumps?.bucket !== m.bucket) return undefined;
  const clash = config.dumps.jobs.find((j) => j.prefix.startsWith(prefix) || prefix.startsWith(j.prefix));
  return clash
    ? `migration.testPrefix "${prefix}" overlaps the prefix "${clash.prefix}" of dump job ${clash.name} in ${m.bucket}: nothing is deleted`
    : undefined;
}
