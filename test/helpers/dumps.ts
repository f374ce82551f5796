// Dumps in tests: devkit's dumps world with today's dump missing (for `seed` of startStack), and a
// signed report to POST /hooks/dumps as infra/cron/report-dump.sh sends it.
import { signDumpReport } from '../../bot/dump-webhook.js';
import { seedDumpsWorld, type WorldTarget } from '../../devkit/worlds/index.js';
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

/**
 * The seven days of ggh_datatransit's dumps before today, today's missing, with a schedule far off
 * so that only an asked-for check runs; returns the config that names them.
 */
export async function seedMissingTodaysDump(target: WorldTarget): Promise<Record<string, unknown>> {
  const zone = 'Asia/Tokyo';
  const world = await seedDumpsWorld({
    ...target,
    account: 'osio',
    bucket: 'jram-gghouse',
    jobs: ['ggh_datatransit'],
    days: 7,
    from: 1,
    zone,
    size: () => 10_000,
  });
  return {
    timezone: zone,
    dumps: {
      account: 'osio',
      bucket: world.bucket,
      jobs: [{ name: 'ggh_datatransit', cron: '0 3 1 1 *', prefix: 'dumps/', graceMinutes: 0 }],
    },
  };
}
