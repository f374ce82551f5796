// What /migration asks of AWS, on moto: the phase checks, the S3 listing and deletion, and the EC2
// calls of phase 3 and its rollback, through the real per-account clients.

import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { dumpObjectKey, putDump, seedDumpsWorld } from '../../../../devkit/worlds/index.js';
import {
  checkPhase1,
  checkPhase2,
  deleteObjects,
  deletionBatches,
  dumpKey,
  isOurProfile,
  listObjects,
} from '../../../../jobs/migration/aws.js';
import { DUMP_JOB, useParts } from './parts.js';

const { target, world } = useParts({ moto: true, dumpDays: 8 });
const BUCKET = 'jram-gghouse';

describe('phase 1', () => {
  it('finds the role, the instance profile holding it, and the secret (described, never read)', async () => {
    const w = await world();
    expect(await checkPhase1(w.aws, 'U0OPS')).toEqual([
      { name: `IAM role ${w.config.migration?.role}`, ok: true, detail: 'exists' },
      {
        name: `instance profile ${w.config.migration?.instanceProfile}`,
        ok: true,
        detail: `exists, with ${w.config.migration?.role}`,
      },
      {
        name: `secret ${w.config.migration?.secretId}`,
        ok: true,
        detail: 'exists (its value is never read)',
      },
    ]);
  });

  it('says what is missing, and a profile that holds another role', async () => {
    const w = await world({ migration: { role: 'no-such-role', secretId: 'no/such/secret' } });
    const items = await checkPhase1(w.aws, 'U0OPS');
    expect(items.map((i) => [i.ok, i.detail])).toEqual([
      [false, 'does not exist'],
      [false, `exists, but holds tokyobeta-prod-ec2-cron-role instead of no-such-role`],
      [false, 'does not exist'],
    ]);
  });
});

describe('phase 2', () => {
  it('names the object key of a day by the key pattern', () => {
    const day = DateTime.fromISO('2026-06-05', { zone: 'Asia/Tokyo' });
    expect(dumpKey('{name}_{YYYYMMDD}', 'TenantsALL', day)).toBe('TenantsALL_20260605');
  });

  it('counts the good days in a row from today, both dumps present with sizes within 5 %', async () => {
    const w = await world();
    const r = await checkPhase2(w.aws, 'U0OPS', w.clock.now());
    expect(r.days).toHaveLength(14);
    expect(r.streak).toBe(8);
    expect(r.days[0]).toMatchObject({ good: true, detail: 'both dumps, sizes within 5 %' });
    expect(r.days[8]).toMatchObject({
      good: false,
      detail: `${DUMP_JOB}: no dumps/ object`,
    });
  });

  it('breaks the streak on a day whose test dump is missing or more than 5 % smaller', async () => {
    const job = 'TenantsALL';
    const w = await world({
      extra: {
        dumps: {
          account: 'osio',
          bucket: BUCKET,
          jobs: [{ name: job, cron: '1 6 * * *', prefix: 'dumps/' }],
        },
      },
    });
    const where = { ...target(), account: 'osio', bucket: BUCKET };
    await seedDumpsWorld({
      ...where,
      jobs: [job],
      days: 6,
      prefixes: ['dumps/', 'dumps-test/'],
      size: (d) => (d.prefix === 'dumps-test/' && d.daysAgo === 3 ? 900 : 1000),
    });
    const day6 = DateTime.fromMillis(w.clock.now(), { zone: 'Asia/Tokyo' }).minus({ days: 6 }).toISODate();
    await putDump({ ...where, key: dumpObjectKey('dumps/', job, day6 ?? ''), bytes: 1000 });
    const r = await checkPhase2(w.aws, 'U0OPS', w.clock.now());
    expect(r.days[3]?.detail).toBe(`${job}: sizes differ by 10 %`);
    expect(r.days[6]?.detail).toBe(`${job}: no dumps-test/ object`);
    expect(r.streak).toBe(3);
  });

  it('refuses with no dump jobs configured', async () => {
    const w = await world({ extra: { dumps: undefined } });
    await expect(checkPhase2(w.aws, 'U0OPS', w.clock.now())).rejects.toThrow(/none are configured/);
  });
});

describe('S3: listing and deleting under the test prefix', () => {
  it('lists every object under a prefix with its size, and deletes a batch of them', async () => {
    const w = await world();
    const at = { account: 'osio', bucket: BUCKET, prefix: `dumps-test/${w.store.prefix}/` };
    for (const [i, bytes] of [10, 20, 30].entries())
      await putDump({ ...target(), ...at, key: `${at.prefix}k${i}`, bytes });
    expect(await listObjects(w.aws, 'U0OPS', at)).toEqual(
      new Map([
        [`${at.prefix}k0`, 10],
        [`${at.prefix}k1`, 20],
        [`${at.prefix}k2`, 30],
      ]),
    );
    await deleteObjects(w.aws, 'U0OPS', at, [`${at.prefix}k0`, `${at.prefix}k1`]);
    expect([...(await listObjects(w.aws, 'U0OPS', at)).keys()]).toEqual([`${at.prefix}k2`]);
    // A key already gone counts as deleted: a retried batch is harmless.
    await expect(deleteObjects(w.aws, 'U0OPS', at, [`${at.prefix}k0`])).resolves.toBeUndefined();
  });

  it('refuses to delete a key outside the prefix, or more than one batch at once, deleting nothing', async () => {
    const w = await world();
    const at = { account: 'osio', bucket: BUCKET, prefix: 'dumps-test/' };
    const dumps = [...(await listObjects(w.aws, 'U0OPS', { ...at, prefix: 'dumps/' })).keys()];
    await expect(deleteObjects(w.aws, 'U0OPS', at, [dumps[0] ?? ''])).rejects.toThrow(
      /is not under dumps-test\//,
    );
    const many = Array.from({ length: 1001 }, (_, i) => `dumps-test/k${i}`);
    await expect(deleteObjects(w.aws, 'U0OPS', at, many)).rejects.toThrow(/at most 1000 keys/);
    expect((await listObjects(w.aws, 'U0OPS', { ...at, prefix: 'dumps/' })).size).toBe(dumps.length);
  });

  it('splits keys into DeleteObjects batches of at most 1000', () => {
    const keys = Array.from({ length: 2345 }, (_, i) => `dumps-test/k${i}`);
    expect(deletionBatches(keys, 'dumps-test/').map((b) => b.length)).toEqual([1000, 1000, 345]);
    expect(deletionBatches([], 'dumps-test/')).toEqual([]);
  });

  it('refuses to batch any key outside the prefix, or without a prefix', () => {
    expect(() => deletionBatches(['dumps-test/a', 'dumps/ggh_datatransit_20260601'], 'dumps-test/')).toThrow(
      /refusing to delete "dumps\/ggh_datatransit_20260601": it is not under dumps-test\//,
    );
    expect(() => deletionBatches(['a'], '')).toThrow(/without a key prefix/);
  });
});

describe('EC2: the calls phase 3 and its rollback make', () => {
  it('stops, associates, starts and disassociates, each seen in the state AWS reports', async () => {
    const w = await world();
    const t = { account: 'osio', instanceId: w.instanceId };
    const profile = w.config.migration?.instanceProfile ?? '';
    const aws = w.md.aws;
    expect(await aws.describeInstance('U0OPS', t)).toEqual({ state: 'running', name: w.store.prefix });
    await aws.stopInstance('U0OPS', t);
    expect((await aws.describeInstance('U0OPS', t)).state).toBe('stopped');
    await aws.associateProfile('U0OPS', { ...t, instanceProfile: profile });
    const [a, ...more] = await aws.associations('U0OPS', t);
    expect(more).toEqual([]);
    expect(a?.state).toBe('associated');
    expect(isOurProfile(a?.profileArn ?? '', profile)).toBe(true);
    expect(isOurProfile(a?.profileArn ?? '', 'other-profile')).toBe(false);
    await aws.startInstance('U0OPS', t);
    expect((await aws.describeInstance('U0OPS', t)).state).toBe('running');
    await aws.disassociate('U0OPS', t, a?.id ?? '');
    expect(await aws.associations('U0OPS', t)).toEqual([]);
  });

  it('says an instance that does not exist does not, naming the account', async () => {
    const w = await world();
    await expect(
      w.md.aws.describeInstance('U0OPS', { account: 'osio', instanceId: 'i-00000000000000dead' }),
    ).rejects.toThrow('instance i-00000000000000dead does not exist in osio');
  });

  it('names the call and the instance when AWS refuses one', async () => {
    const w = await world();
    await expect(
      w.md.aws.associateProfile('U0OPS', {
        account: 'osio',
        instanceId: w.instanceId,
        instanceProfile: 'no-such-profile',
      }),
    ).rejects.toThrow(`AWS refused AssociateIamInstanceProfile no-such-profile with ${w.instanceId}`);
  });
});
