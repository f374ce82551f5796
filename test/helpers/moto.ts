// A private moto_server for one unit test file, with the AWS SDK pointed at it (endpoint, test
// credentials and region stubbed in the environment) from beforeAll until afterAll.
import { afterAll, beforeAll, vi } from 'vitest';
import { type MotoServer, startMoto } from '../../devkit/moto.js';

export function useMoto(): void {
  let moto: MotoServer | undefined;
  beforeAll(async () => {
    moto = await startMoto();
    vi.stubEnv('AWS_ENDPOINT_URL', moto.url);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
    vi.stubEnv('AWS_REGION', 'us-east-1');
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await moto?.close();
  });
}
