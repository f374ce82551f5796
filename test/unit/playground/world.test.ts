import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { dumpObjectKey } from '../../../devkit/worlds/index.js';
import { DUMP_JOBS } from '../../../playground/demo-config.js';
import { PLAYGROUND_HELP } from '../../../playground/terminal.js';
import { DUMP_DAYS, seededSize } from '../../../playground/world.js';
import { parseWorldArgs } from '../../../playground/world-commands.js';

const REPO = resolve(import.meta.dirname, '../../..');
const JOBS = DUMP_JOBS.map((j) => j.name);

describe('the demo world', () => {
  it('seeds dumps whose dumps-test/ twins are within phase 2’s 5 %, and a history the checks accept', () => {
    // Phase 2 needs 7 good days in a row even while /world makes today's dump missing or short.
    expect(DUMP_DAYS).toBeGreaterThanOrEqual(8);
    DUMP_JOBS.forEach((job, j) => {
      for (let day = 0; day < DUMP_DAYS; day++) {
        const prod = seededSize(job.bytes, day, j, false);
        const test = seededSize(job.bytes, day, j, true);
        expect(Math.abs(prod - test) / Math.max(prod, test)).toBeLessThan(0.05);
        // The dump checks' tolerance in the demo is 20 %: every seeded day is well inside it.
        expect(Math.abs(prod - job.bytes) / job.bytes).toBeLessThanOrEqual(0.02);
      }
    });
    expect(dumpObjectKey('dumps/', 'ggh_datatransit', '2026-03-09')).toBe(
      'dumps/ggh_datatransit_20260309.sql.gz',
    );
  });

  it('reads /world and /world dump JOB missing|short|ok, and says what it takes otherwise', () => {
    expect(parseWorldArgs([], JOBS)).toEqual({ what: 'show' });
    expect(parseWorldArgs(['dump', 'ggh_datatransit', 'short'], JOBS)).toEqual({
      what: 'dump',
      job: 'ggh_datatransit',
      state: 'short',
    });
    expect(() => parseWorldArgs(['dump', 'nope', 'missing'], JOBS)).toThrow(
      /needs a dump job: ggh_contractstatus/,
    );
    expect(() => parseWorldArgs(['dump', 'ggh_datatransit', 'gone'], JOBS)).toThrow(/missing, short, ok/);
    expect(() => parseWorldArgs(['delete', 'everything'], JOBS)).toThrow(
      /\/world dump JOB missing\|short\|ok/,
    );
    expect(() => parseWorldArgs(['dump', 'ggh_datatransit', 'ok', 'now'], JOBS)).toThrow(/takes no/);
  });

  it("the example script only types what Slack's app defines or the playground knows", () => {
    const manifest = parseYaml(readFileSync(resolve(REPO, 'manifest.yml'), 'utf8')) as {
      features: { slash_commands: { command: string }[] };
    };
    const slack = new Set(manifest.features.slash_commands.map((c) => c.command));
    const playground = new Set([...PLAYGROUND_HELP.matchAll(/^ {2}(\/[a-z]+)/gm)].map((m) => m[1]));
    const lines = readFileSync(resolve(REPO, 'playground/example.script'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const unknown = lines.filter((l) => {
      const cmd = l.split(/\s+/)[0] as string;
      return !slack.has(cmd) && !playground.has(cmd);
    });
    expect(unknown).toEqual([]);
    for (const dump of lines.filter((l) => l.startsWith('/world dump '))) {
      expect(() => parseWorldArgs(dump.split(/\s+/).slice(1), JOBS)).not.toThrow();
    }
  });
});
