// The /migration fault scenarios' stack: the shared world (test/helpers/migration-world.ts) with one
// bot in this process and no worker, and a request approved by both approvers.
import { migrationStack as worldStack } from '../helpers/migration-world.js';

export { cardText, instance, instanceIdOf, requestAndApprove } from '../helpers/migration-world.js';

/** A stack (one bot in this process, no worker) with the migration world seeded. */
export function migrationStack(opts: { lockMs?: number; migration?: Record<string, unknown> } = {}) {
  return worldStack(
    { migration: opts.migration ?? {} },
    { topology: { bots: 1, workers: 0 }, ...(opts.lockMs ? { jobs: { lockMs: opts.lockMs } } : {}) },
  );
}
