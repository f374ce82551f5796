// /migration through the real Bolt app on the real Redis and BullMQ queues: what each subcommand
// queues (nothing touches AWS before the ack), the cleanup gate read from Redis, the runbook's cutover
// order with --force past it, rollback 4, and who may run it at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATION_QUEUE } from '../../../../jobs/migration/index.js';
import { type BotWorld, startBotWorld } from '../../../helpers/bot-world.js';
import { migrationTestConfig } from './config.js';

const CRONS = ['ggh_contractstatus', 'ggh_contractstatusALL', 'TenantsALL'];
let w: BotWorld;
beforeAll(async () => {
  w = await startBotWorld({
    config: migrationTestConfig({
      dumps: {
        account: 'osio',
        bucket: 'jram-gghouse',
        jobs: CRONS.map((name) => ({ name, cron: '30 5 * * *', prefix: 'dumps/' })),
      },
    }),
  });
});
afterAll(() => w.close());

const migration = (text: string) => w.command('U0OPS', '/migration', text);
const queued = async () =>
  (await w.deps.queues.queue(MIGRATION_QUEUE).getJobs(['waiting', 'delayed'])).map((j) => [
    String(j.id),
    j.data,
  ]);
const requestIdIn = (text: string) => /\(request ([0-9a-f-]{36})\)$/.exec(text)?.[1];

describe('/migration', () => {
  it('is for admins only', async () => {
    expect((await w.command('U0DAVE', '/migration', 'status')).text).toMatch(
      /^:no_entry: You are not allowed to do that \(migration;/,
    );
    expect(await queued()).toEqual([]);
  });

  it('queues the status card and the phase checks, each under its request id', async () => {
    const status = await migration('');
    expect(status.text).toMatch(/^:clipboard: Queued: updating the migration status card in <#C0APPROVE>\./);
    const check = await migration('check 2');
    expect(check.text).toMatch(/^:mag: Queued: phase 2 check; the result comes in our DM\./);
    const [s, c] = [requestIdIn(status.text), requestIdIn(check.text)];
    expect(await queued()).toEqual(
      expect.arrayContaining([
        [`mig-status-${s}`, { requestId: s, requester: 'U0OPS', op: 'status' }],
        [`mig-check-${c}`, { requestId: c, requester: 'U0OPS', op: 'check', phase: 2 }],
      ]),
    );
  });

  it('queues one phase-3 request at a time, its window the configured 30 minutes by default', async () => {
    const first = await migration('phase3 request +2h');
    expect(first.text).toMatch(
      /^:memo: Queued: checking the phase-3 prerequisites for .* – .*\. The approval card goes to <#C0APPROVE>/,
    );
    const id = requestIdIn(first.text);
    const job = (await queued()).find(([jobId]) => jobId === `mig-req-${id}`);
    const data = job?.[1] as { op: string; start: number; end: number };
    expect(data.op).toBe('request');
    expect(data.end - data.start).toBe(30 * 60_000);
    expect((await migration('phase3 request +3h 1h')).text).toBe(
      ':hourglass: Another phase-3 request is being checked right now; try again in a minute.',
    );
  });

  it('answers check 5 from Redis while the cleanup gate is closed, and queues nothing', async () => {
    const before = (await queued()).length;
    expect((await migration('check 5')).text).toMatch(/^:hourglass: Phase 5 may not start yet: .+\.$/);
    expect(await queued()).toHaveLength(before);
  });

  it('cuts over in the runbook order, one a day, unless forced; rollback 4 undoes one', async () => {
    expect((await migration('cutover nightly')).text).toBe(
      `:warning: "nightly" is not a configured dump job (${CRONS.join(', ')})`,
    );
    expect((await migration('cutover TenantsALL')).text).toBe(
      ":warning: not cut over: the runbook's order says ggh_contractstatus comes next (lowest risk first). Add --force to do it anyway (audited).",
    );
    expect((await migration('cutover ggh_contractstatus')).text).toMatch(
      /^:arrows_clockwise: Recorded: `ggh_contractstatus` now runs the new script/,
    );
    expect((await migration('cutover ggh_contractstatus')).text).toBe(
      ':warning: ggh_contractstatus is already cut over',
    );
    const forced = await migration('cutover ggh_contractstatusALL --force');
    expect(forced.text).toMatch(/ — forced past: one cron was already cut over today \(one a day\)\./);
    const entry = (await w.audit()).find((e) => e.target === 'ggh_contractstatusALL');
    expect(entry).toMatchObject({
      outcome: 'succeeded',
      detail: 'forced: one cron was already cut over today (one a day)',
    });

    expect((await migration('rollback 4 TenantsALL')).text).toBe(':warning: TenantsALL is not cut over');
    expect((await migration('rollback 4 ggh_contractstatusALL')).text).toMatch(
      /^:leftwards_arrow_with_hook: Recorded: `ggh_contractstatusALL` runs the old script again/,
    );
  });

  it('answers bad arguments with the usage', async () => {
    expect((await migration('check 9')).text).toMatch(
      /^check takes a phase: 1, 2 or 5\nUsage: `\/migration \[status/,
    );
  });
});
