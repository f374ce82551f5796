// Phase 4's watches: after a cutover, the job's next two uploads under its prefix are looked for
// (at its cron plus grace) and shown on the status card; a missing one is posted.
import { dumpJob, renderKey } from '../dumps/index.js';
import type { MigrationData, MigrationResult } from './data.js';
import type { MigrationDeps } from './deps.js';
import type { RunCtx } from './runner.js';
import { refreshStatus } from './status.js';
import { recordWatch } from './store.js';

export async function watchUpload(
  md: MigrationDeps,
  d: MigrationData & { op: 'watch' },
  ctx: RunCtx,
): Promise<MigrationResult> {
  const job = dumpJob(md.config, d.cron);
  const dumps = md.config.dumps;
  if (!job || !dumps) return { op: 'watch', outcome: `${d.cron} is no longer configured` };
  const key = job.prefix + renderKey(job.keyPattern, job.name, d.day);
  const listed = await md.aws.listObjects(d.requester, {
    account: dumps.account,
    bucket: dumps.bucket,
    prefix: key,
  });
  const found = [...listed.entries()].find(([k]) => k === key || k.startsWith(`${key}.`));
  const result = {
    n: d.n,
    day: d.day,
    ok: Boolean(found),
    detail: found ? `${found[0]} (${found[1]} bytes)` : `no ${key} yet`,
  };
  const kept = await recordWatch(md.store, d.cron, d.cutoverAt, result);
  if (kept) await refreshStatus(md, d.requester, ctx);
  if (!result.ok && kept && md.config.channels.approvals) {
    await md.notifier.post(
      md.config.channels.approvals,
      `:warning: After the cutover of \`${d.cron}\`, upload ${d.n} of 2 (${d.day}) is missing: ${result.detail}. \`/migration rollback 4 ${d.cron}\` records going back.`,
    );
  }
  return { op: 'watch', outcome: `${d.cron} upload ${d.n}: ${result.ok ? 'seen' : 'missing'}` };
}
