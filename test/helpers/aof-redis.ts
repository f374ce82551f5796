// A private redis-server with the append-only file on (fsync at every write, as a deployment that
// must not lose acknowledged jobs runs it), which a test can SIGKILL and start again on the same
// port and directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../devkit/index.js';
import { type ManagedProcess, startManagedProcess } from '../../devkit/managed-process.js';
import { createRedis, redisAnswers } from '../../infra/redis.js';

export interface AofRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** SIGKILL: no shutdown save, only what the append-only file already holds survives. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and directory; resolves once it answers PING. */
  start(): Promise<void>;
  close(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const r = createRedis(url);
  r.on('error', () => {});
  try {
    return await redisAnswers(r, 500);
  } finally {
    r.disconnect();
  }
}

export async function startAofRedis(): Promise<AofRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'chatops-aof-'));
  let proc: ManagedProcess | undefined;
  const start = async () => {
    proc = await startManagedProcess({
      name: 'redis-server (appendonly)',
      bin: 'redis-server',
      args: [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
      ],
      missingMessage: 'redis-server is not installed: apt-get install redis-server',
      ready: () => answers(url),
      timeoutMs: 20_000,
    });
  };
  await start();
  return {
    url,
    port,
    dir,
    async kill() {
      const p = proc;
      proc = undefined;
      if (!p?.pid) return;
      process.kill(p.pid, 'SIGKILL');
      await p.close();
    },
    start,
    async close() {
      await proc?.close();
      proc = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
