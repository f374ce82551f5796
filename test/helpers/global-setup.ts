import { mkdirSync, rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { ensureRedis, startMoto } from '../../devkit/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoUrl: string;
    redisUrl: string;
  }
}

export const ACTIONS_DIR = '.artifacts/aws-actions';

/** One moto_server and one Redis for the integration run; missing parts fail with how to get them. */
export default async function setup(project: TestProject) {
  rmSync(ACTIONS_DIR, { recursive: true, force: true });
  mkdirSync(ACTIONS_DIR, { recursive: true });
  const redis = await ensureRedis();
  const moto = await startMoto();
  project.provide('motoUrl', moto.url);
  project.provide('redisUrl', redis.url);
  return async () => {
    await moto.close();
    await redis.close();
  };
}
