// A dumps world in moto: the last seven days of ggh_datatransit's dumps, today's missing, with a
// schedule far off so that only an asked-for check runs. For `seed` of startStack.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DateTime } from 'luxon';
import { aws } from './migration-world.js';

export async function seedMissingTodaysDump(): Promise<Record<string, unknown>> {
  const zone = 'Asia/Tokyo';
  const s3 = aws(S3Client);
  await s3.send(new CreateBucketCommand({ Bucket: 'jram-gghouse' }));
  for (let d = 1; d <= 7; d++) {
    const day = DateTime.now().setZone(zone).minus({ days: d }).toFormat('yyyyMMdd');
    await s3.send(
      new PutObjectCommand({
        Bucket: 'jram-gghouse',
        Key: `dumps/ggh_datatransit_${day}.sql.gz`,
        Body: Buffer.alloc(10_000, 1),
      }),
    );
  }
  return {
    timezone: zone,
    dumps: {
      account: 'osio',
      bucket: 'jram-gghouse',
      jobs: [{ name: 'ggh_datatransit', cron: '0 3 1 1 *', prefix: 'dumps/', graceMinutes: 0 }],
    },
  };
}
