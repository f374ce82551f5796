import { describe, expect, it } from 'vitest';
import { resetMoto, startMoto } from '../../../devkit/moto.js';

describe('moto', () => {
  it('starts moto_server on loopback, answers, resets and stops on close', async () => {
    const moto = await startMoto();
    try {
      expect(moto.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${moto.url}/moto-api/`);
      expect(res.status).toBe(200);
      await resetMoto(moto.url);
    } finally {
      await moto.close();
    }
    await expect(fetch(`${moto.url}/moto-api/`)).rejects.toThrow();
  }, 60_000);

  it('explains how to install moto when the binary is missing', async () => {
    await expect(startMoto({ bin: 'moto_server_does_not_exist' })).rejects.toThrow(
      'moto_server_does_not_exist not found: install it with pip install "moto[server]"',
    );
  });
});
