// Fault 6: AWS (moto) unreachable for 30 s, behind a loopback proxy that stops listening and drops
// every connection: during the watch of a (native) DynamoDB export, and while a phase-3 run waits
// for the instance to stop. Both must resume once AWS answers again.

import { describe, expect } from 'vitest';
import { seedDdbExportWorld } from '../../devkit/worlds/index.js';
import {
  cardText,
  instance,
  instanceIdOf,
  requestAndApprove,
  withMigrationWorld,
} from '../helpers/migration.js';
import { until } from '../helpers/wait.js';
import { faultLine, it, jobsIn, sleep } from './harness.js';

const DOWN_MS = 30_000;
const BUCKET = 'dynamodb-migration-backups-osio';

describe(`moto unreachable for ${DOWN_MS / 1000} s`, () => {
  it('during an export watch: the watch resumes and the export finishes', async ({ startStack, lanes }) => {
    const s = await startStack({
      topology: { bots: 1, workers: 0 },
      extraConfig: {
        ddbExport: {
          sourceAccount: 'osio',
          targetAccount: 'osio-dev',
          bucket: BUCKET,
          // A status check every 8 s: the outage spans three or four of them.
          pollStartSeconds: 8,
          pollMaxSeconds: 8,
        },
      },
    });
    await seedDdbExportWorld({
      ...s.world,
      source: 'osio',
      tables: [{ name: 'prod_txlog', items: 1, pitr: true }],
      target: 'osio-dev',
      bucket: BUCKET,
    });
    const worker = await lanes.start('worker', 'worker');
    expect((await s.command('U0CAROL', '/ddb-export', 'prod_txlog --native')).text).toMatch(
      /Queued: exporting/,
    );
    await until('the export requested and watched', async () =>
      (await jobsIn(s, 'ddb-export', ['delayed'])).some((j) => j.data.phase === 'watch') ? true : undefined,
    );
    await worker.moto.down();
    await sleep(DOWN_MS);
    await worker.moto.up();
    const upAt = Date.now();
    const finished = () => s.slack.messages('D0CAROL').find((m) => /prod_txlog finished/.test(m.text));
    const failed = () => s.slack.messages('D0CAROL').find((m) => /prod_txlog failed/.test(m.text));
    await until('the export to finish or fail', () => finished() ?? failed(), 40_000);
    const doneAt = Date.now();
    const failedChecks = worker.proc.records().filter((r) => r.msg === 'status check failed').length;
    const exports = lanes.awsCalls('ExportTableToPointInTime');
    faultLine({
      fault: `moto unreachable ${DOWN_MS / 1000} s during an export watch (native export)`,
      lost: finished() ? 0 : 1,
      doubled: Math.max(0, exports - 1),
      recoveryMs: finished() ? doneAt - upAt : undefined,
      note: finished()
        ? `${failedChecks} status checks failed while it was away`
        : `the export failed at the first check: ${/AWS refused [^"\\]*/.exec(JSON.stringify(failed()?.blocks))?.[0] ?? failed()?.text}`,
    });
    expect(failed()?.text).toBeUndefined();
    expect(finished()).toBeTruthy();
    expect(exports).toBe(1);
    expect(failedChecks).toBeGreaterThanOrEqual(2);
  });

  it('during a phase-3 wait for the stop: the run resumes and finishes', async ({ startStack, lanes }) => {
    // The wait itself may last minutes (waitTimeoutSeconds); only AWS being away is the fault here.
    const s = await startStack(
      withMigrationWorld(
        { migration: { waitTimeoutSeconds: 120, pollSeconds: 1 } },
        { topology: { bots: 1, workers: 0 } },
      ),
    );
    const instanceId = instanceIdOf(s);
    const worker = await lanes.start('worker', 'worker');
    let stopped = false;
    worker.moto.onForwarded = (c) => {
      if (c.name === 'StopInstances') stopped = true;
    };
    // The first state check after the stop is held: the run is then surely inside its wait.
    worker.moto.rule = (c) => (stopped && c.name === 'DescribeInstances' ? 'hold' : 'pass');
    await requestAndApprove(s, '+2s 60s');
    await until('the run waiting for the stop', () => worker.moto.held().length > 0 || undefined, 40_000);
    worker.moto.rule = () => 'pass';
    await worker.moto.down();
    await sleep(DOWN_MS);
    await worker.moto.up();
    const upAt = Date.now();
    await until('the run to end', () => (/Done|Failed at step/.test(cardText(s)) ? true : undefined), 40_000);
    const doneAt = Date.now();
    await sleep(1_000);
    const done = /Done/.test(cardText(s));
    const failedStep = /Failed at step (\d)/.exec(cardText(s))?.[1];
    const after = await instance(instanceId);
    const stops = lanes.awsCalls('StopInstances');
    faultLine({
      fault: `moto unreachable ${DOWN_MS / 1000} s during a phase-3 wait for the stop`,
      lost: done ? 0 : 1,
      doubled: Math.max(0, stops - 1),
      recoveryMs: done ? doneAt - upAt : undefined,
      note: done
        ? `instance ${after.state}, ${after.associations.length} association(s)`
        : `the run stopped: card says failed at step ${failedStep}, instance ${after.state}; it waits for a Retry click`,
    });
    expect(cardText(s)).not.toMatch(/Failed at step/);
    expect(done).toBe(true);
    expect(stops).toBe(1);
    expect(after.state).toBe('running');
    expect(after.associations).toHaveLength(1);
  });
});
