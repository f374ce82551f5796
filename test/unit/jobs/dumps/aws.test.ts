// The dump check's one S3 call (jobs/dumps/aws.ts) on moto: a single ListObjectsV2 page returns the
// day's and the previous days' keys of the job (from the 8th day back's, which judge leaves out of the
// median), and nothing of other jobs or older days.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDumpRange } from '../../../../jobs/dumps/aws.js';
import { addDays, type DumpJobConfig, dumpJob } from '../../../../jobs/dumps/check.js';
import { testConfig } from '../../../helpers/config.js';
import { useMoto } from '../../../helpers/moto.js';

const BUCKET = 'jram-gghouse';
const config = testConfig({
  dumps: {
    account: 'osio',
    bucket: BUCKET,
    jobs: [{ name: 'ggh_datatransit', cron: '30 5 * * *', prefix: 'dumps/' }],
  },
});
const job = dumpJob(config, 'ggh_datatransit') as DumpJobConfig;
const key = (name: string, day: string) => `dumps/${name}_${day.replace(/-/g, '')}.sql.gz`;

useMoto();
let s3: S3Client;
beforeAll(async () => {
  s3 = new S3Client({ forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const puts: [string, number][] = [];
  // Ten days of this job's dumps around a month boundary, the day's checksum, and another job's.
  for (let i = 0; i <= 10; i++) puts.push([key(job.name, addDays('2027-02-02', -i)), 1000 + i]);
  puts.push([`${key(job.name, '2027-02-02')}.md5`, 33], [key('ggh_datatransitX', '2027-02-01'), 5]);
  for (const [Key, size] of puts)
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x'.repeat(size) }));
}, 60_000);
afterAll(() => s3?.destroy());

describe('listDumpRange', () => {
  it("lists the day's and the previous days' objects of the job, with their sizes; no older ones", async () => {
    const listed = await listDumpRange(s3, BUCKET, job, '2027-02-02');
    const days = Array.from({ length: 9 }, (_, i) => addDays('2027-02-02', -i));
    expect(listed).toEqual(
      [
        ...days.map((d, i) => ({ key: key(job.name, d), size: 1000 + i })),
        { key: `${key(job.name, '2027-02-02')}.md5`, size: 33 },
      ].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
  });

  it('lists nothing for a day with no dumps around it', async () => {
    expect(await listDumpRange(s3, BUCKET, job, '2026-06-01')).toEqual([]);
  });
});
