// Every "now" of the product comes from the Clock (infra/clock.ts), so time-dependent decisions can
// be driven by tests; a `new Date(x)` built from a given timestamp is fine.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../infra/clock.js';

const ROOT = resolve(import.meta.dirname, '../../..');

describe('Clock', () => {
  it('the system clock is the machine time', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('no source in bot/, handlers/, jobs/ or infra/ reads the time except through it', () => {
    let found = '';
    try {
      found = execFileSync(
        'git',
        [
          'grep',
          '-n',
          '--untracked',
          '-e',
          'Date.now()',
          '-e',
          'new Date()',
          '--',
          'bot',
          'handlers',
          'jobs',
          'infra',
          ':!infra/clock.ts',
        ],
        { cwd: ROOT, encoding: 'utf8' },
      );
    } catch (err) {
      // git grep exits 1 when nothing matches.
      if ((err as { status?: number }).status !== 1) throw err;
    }
    expect(found).toBe('');
  });
});
