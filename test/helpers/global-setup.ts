import { mkdirSync, rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { ensureRedis, type MotoServer, startMoto } from '../../devkit/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** One moto_server per worker (test/helpers/moto-url.ts picks this worker's). */
    motoUrls: string[];
    /** The first of them, for suites that run one file at a time. */
    motoUrl: string;
    redisUrl: string;
  }
}

export const ACTIONS_DIR = '.artifacts/aws-actions';

/** One moto_server per worker and one Redis for the run; missing parts fail with how to get them. */
export default async function setup(project: TestProject) {
  rmSync(ACTIONS_DIR, { recursive: true, force: true });
  mkdirSync(ACTIONS_DIR, { recursive: true });
  const redis = await ensureRedis();
  const workers = Math.max(1, project.config.maxWorkers);
  const motos: MotoServer[] = await Promise.all(Array.from({ length: workers }, () => startMoto()));
  project.provide(
    'motoUrls',
    motos.map((m) => m.url),
  );
  project.provide('motoUrl', (motos[0] as MotoServer).url);
  project.provide('redisUrl', redis.url);
  return async () => {
    await Promise.all(motos.map((m) => m.close()));
    await redis.close();
  };
}
