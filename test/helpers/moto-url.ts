import { inject } from 'vitest';

/**
 * The moto_server of this test file's worker. Integration files run in parallel, one file per
 * worker at a time, and each worker (VITEST_POOL_ID 1…n) has its own moto, so a file may reset it.
 */
export function motoUrl(): string {
  const urls = inject('motoUrls');
  const pool = Number(process.env.VITEST_POOL_ID ?? '1');
  const url = urls[(Math.max(1, pool) - 1) % urls.length];
  if (!url) throw new Error('no moto_server was started by the global setup');
  return url;
}
