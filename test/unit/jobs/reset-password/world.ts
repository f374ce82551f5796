// The reset job's world for its unit tests: the real processor on a real BullMQ worker, with the
// worker's real adapters (fake Slack, captured SMTP, real Redis), and no AWS: these tests stop before
// IAM or start after it. The IAM side runs against moto in test/integration/reset-password.test.ts.
import { randomUUID } from 'node:crypto';
import type { ResetPasswordData } from '../../../../jobs/reset-password/data.js';
import { resetPasswordJob } from '../../../../jobs/reset-password/index.js';
import { testConfig } from '../../../helpers/config.js';
import { startWorkerWorld, type WorkerWorld } from '../../../helpers/worker-world.js';

export const REQUESTER = 'U0OPS';

export async function resetWorld(
  people: Record<string, unknown>[],
  env: Record<string, string> = {},
): Promise<WorkerWorld> {
  const w = await startWorkerWorld({
    config: testConfig({ people }),
    env: { CHATOPS_STATE_KEY: 'unit-state-key-0123456789abcdef-0123456789', ...env },
  });
  w.work(resetPasswordJob);
  return w;
}

/** A reset of `iamUser` in osio-dev for `person`, asked by REQUESTER. */
export function resetData(person: string, extra: Partial<ResetPasswordData> = {}): ResetPasswordData {
  return {
    requestId: randomUUID(),
    requester: REQUESTER,
    account: 'osio-dev',
    iamUser: 'alice',
    person,
    ...extra,
  };
}

/** The requester's status message (the job posts it once and edits it). */
export function statusOf(w: WorkerWorld): { text: string; edits: number } | undefined {
  return w.slack.messages(`D${REQUESTER.slice(1)}`).at(-1);
}
