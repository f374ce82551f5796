import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { startManagedProcess } from '../../../devkit/managed-process.js';

const dir = mkdtempSync(join(tmpdir(), 'managed-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A node process that prints `up` and then waits, logging to `name`.log. */
function startSleeper(name: string, script = "console.log('up'); setInterval(() => {}, 1000);") {
  const logPath = join(dir, `${name}.log`);
  const logged = () => {
    try {
      return readFileSync(logPath, 'utf8').includes('up');
    } catch {
      return false;
    }
  };
  return startManagedProcess({
    name,
    bin: process.execPath,
    args: ['-e', script],
    missingMessage: 'no node',
    ready: async () => logged(),
    timeoutMs: 10_000,
    env: { PATH: process.env.PATH ?? '' },
    logPath,
  });
}

describe('startManagedProcess', () => {
  it('resolves once ready; kill() is a SIGKILL and says so', async () => {
    const p = await startSleeper('killed');
    expect(p.running()).toBe(true);
    expect(p.output()).toContain('up');
    await p.kill();
    expect(p.running()).toBe(false);
    expect(await p.exited).toBe('signal SIGKILL');
  });

  it('close() stops it with SIGTERM, and a second close() is a no-op', async () => {
    const p = await startSleeper('closed');
    await p.close();
    await p.close();
    expect(await p.exited).toBe('signal SIGTERM');
  });

  it('checks ready() as often as asked and times the spawn to its first yes', async () => {
    let checks = 0;
    const before = performance.now();
    const p = await startManagedProcess({
      name: 'timed',
      bin: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000);'],
      missingMessage: 'no node',
      ready: async () => ++checks >= 5,
      timeoutMs: 10_000,
      pollIntervalMs: 5,
    });
    const after = performance.now();
    await p.close();
    expect(checks).toBe(5);
    // Four waits of the default 100 ms would take 400 ms.
    expect(after - before).toBeLessThan(300);
    expect(p.readyAt).toBeGreaterThan(before);
    expect(p.readyAt).toBeLessThanOrEqual(after);
    expect(p.startToReadyMs).toBeGreaterThan(0);
    expect(p.startToReadyMs).toBeLessThanOrEqual(p.readyAt - before);
  });

  it('fails with the output when the process exits before it is ready', async () => {
    await expect(startSleeper('crashed', "console.error('bad config'); process.exit(3);")).rejects.toThrow(
      /crashed exited before it became ready \(exit code 3\)[\s\S]*bad config/,
    );
  });

  it('fails with the missing message when the program is not installed', async () => {
    await expect(
      startManagedProcess({
        name: 'nothing',
        bin: 'no-such-program-here',
        args: [],
        missingMessage: 'no-such-program-here is not installed',
        ready: async () => false,
        timeoutMs: 5_000,
      }),
    ).rejects.toThrow('no-such-program-here is not installed');
  });
});
