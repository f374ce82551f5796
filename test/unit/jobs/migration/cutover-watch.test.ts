// Phase 4's watches (jobs/migration/cutover-watch.ts) against moto: after a cutover, the job's next
// uploads are looked for under its prefix, kept on the cutover while it stands, shown on the status
// card, and a missing one is posted.
import { describe, expect, it } from 'vitest';
import { dumpObjectKey, ensureBucket, putDump } from '../../../../devkit/worlds/index.js';
import { watchUpload } from '../../../../jobs/migration/cutover-watch.js';
import type { MigrationData } from '../../../../jobs/migration/data.js';
import { updateStatus } from '../../../../jobs/migration/status.js';
import { cutovers, recordCutover, removeCutover } from '../../../../jobs/migration/store.js';
import { APPROVALS, DUMP_JOB, runCtx, useParts, type World } from './parts.js';

const { get, target, world } = useParts({ moto: true });
const BUCKET = 'jram-gghouse';

/** A world whose cron was cut over now; the watch job's data for upload `n` on `day`. */
async function cutOver(w: World, n: number, day: string): Promise<MigrationData & { op: 'watch' }> {
  const at = w.clock.now();
  const entry = { id: `e-${n}`, at, kind: 'status' as const, requestId: 'r', requester: 'U0OPS' };
  await recordCutover(w.store, { cron: DUMP_JOB, at, by: 'U0OPS', forced: false }, entry);
  await ensureBucket(target(), 'osio', BUCKET);
  return { requestId: 'r', requester: 'U0OPS', op: 'watch', cron: DUMP_JOB, cutoverAt: at, n, day };
}

describe("a cutover's watch", () => {
  it('keeps what it saw on the cutover and shows it on the status card', async () => {
    const w = await world();
    await updateStatus(w.md, 'U0OPS');
    const d = await cutOver(w, 1, '2030-01-02');
    const key = dumpObjectKey('dumps/', DUMP_JOB, d.day);
    await putDump({ ...target(), account: 'osio', bucket: BUCKET, key, bytes: 1234 });
    expect(await watchUpload(w.md, d, runCtx(w, 'mig-watch'))).toEqual({
      op: 'watch',
      outcome: `${DUMP_JOB} upload 1: seen`,
    });
    expect((await cutovers(w.store))[0]?.watch).toEqual([
      { n: 1, day: '2030-01-02', ok: true, detail: `${key} (1234 bytes)` },
    ]);
    const [card, ...more] = get().slack.messages(APPROVALS);
    expect(more).toEqual([]);
    expect(JSON.stringify(card?.blocks)).toContain('uploads 2030-01-02 :white_check_mark: (1 to come)');
  });

  it('posts a missing upload in the approvals channel, with how to go back', async () => {
    const w = await world();
    const d = await cutOver(w, 2, '2030-01-03');
    expect(await watchUpload(w.md, d, runCtx(w, 'mig-watch'))).toEqual({
      op: 'watch',
      outcome: `${DUMP_JOB} upload 2: missing`,
    });
    expect(
      get()
        .slack.messages(APPROVALS)
        .map((m) => m.text),
    ).toEqual([
      `:warning: After the cutover of \`${DUMP_JOB}\`, upload 2 of 2 (2030-01-03) is missing: no dumps/${DUMP_JOB}_20300103 yet. \`/migration rollback 4 ${DUMP_JOB}\` records going back.`,
    ]);
  });

  it('keeps and posts nothing once the cutover was rolled back, or for a cron no longer configured', async () => {
    const w = await world();
    const d = await cutOver(w, 1, '2030-01-04');
    await removeCutover(w.store, DUMP_JOB, {
      id: 'e-back',
      at: 0,
      kind: 'status',
      requestId: 'r',
      requester: 'U0OPS',
    });
    expect((await watchUpload(w.md, d, runCtx(w, 'mig-watch'))).outcome).toBe(
      `${DUMP_JOB} upload 1: missing`,
    );
    expect(get().slack.messages(APPROVALS)).toEqual([]);
    expect(await watchUpload(w.md, { ...d, cron: 'TenantsALL' }, runCtx(w, 'mig-watch'))).toEqual({
      op: 'watch',
      outcome: 'TenantsALL is no longer configured',
    });
  });
});
