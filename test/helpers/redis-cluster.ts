// A throwaway 3-master Redis Cluster on loopback ports, as `redis-server --cluster-enabled yes` and
// `redis-cli --cluster create` make it, for the tests that prove the bot runs on one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../devkit/index.js';
import { type ManagedProcess, startManagedProcess } from '../../devkit/managed-process.js';
import { until } from './wait.js';

export interface RedisCluster {
  /** `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` for REDIS_CLUSTER_NODES. */
  nodes: string;
  /** redis:// URL of the first node. */
  url: string;
  close(): Promise<void>;
}

function cli(args: string[]): string {
  return execFileSync('redis-cli', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'chatops-cluster-'));
  const procs: ManagedProcess[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      ports.push(port);
      procs.push(
        await startManagedProcess({
          name: `redis-server cluster node ${port}`,
          bin: 'redis-server',
          args: [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--dir',
            dir,
            '--save',
            '',
            '--appendonly',
            'no',
          ],
          missingMessage: 'redis-server is not installed: apt-get install redis-server',
          ready: async () => {
            try {
              return cli(['-p', String(port), 'ping']).includes('PONG');
            } catch {
              return false;
            }
          },
          timeoutMs: 10_000,
        }),
      );
    }
    cli([
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await until(
      'the cluster to be ok',
      () =>
        ports.every((p) => cli(['-p', String(p), 'cluster', 'info']).includes('cluster_state:ok'))
          ? true
          : undefined,
      20_000,
      100,
    );
  } catch (err) {
    await Promise.all(procs.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`).join(','),
    url: `redis://127.0.0.1:${ports[0]}`,
    async close() {
      await Promise.all(procs.map((p) => p.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
