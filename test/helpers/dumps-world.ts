// Dumps in tests: a world in moto (the last seven days of ggh_datatransit's dumps, today's missing,
// with a schedule far off so that only an asked-for check runs; for `seed` of startStack), and a
// signed report to POST /hooks/dumps as infra/cron/report-dump.sh sends it.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DateTime } from 'luxon';
import { signDumpReport } from '../../bot/dump-webhook.js';
import { aws } from './migration-world.js';
import type { Stack } from './stack.js';

/** POSTs `body` to the bot's /hooks/dumps, signed with `o.secret` (or sent with `o.sig` as is). */
export async function postDumpReport(
  s: Stack,
  body: string,
  o: { secret: string; ts?: number; sig?: string },
): Promise<{ status: number; error?: string }> {
  const ts = o.ts ?? Math.floor(Date.now() / 1000);
  const res = await fetch(`${s.baseUrl}/hooks/dumps`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-chatops-timestamp': String(ts),
      'x-chatops-signature': o.sig ?? signDumpReport(o.secret, ts, body),
    },
    body,
  });
  const json = (await res.json().catch(() => ({}))) as { error?: string };
  return { status: res.status, error: json.error };
}

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
