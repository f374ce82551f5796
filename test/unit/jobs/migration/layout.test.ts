// The feature folder's shape (STYLE.md): handlers reach jobs/migration only through its index, and
// the index's import graph holds no processor (the runs, the rollback, the cleanup, the watchdog).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../../..');
const imports = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1] ?? '');

function graph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !file.startsWith(join(ROOT, 'jobs/migration/'))) return;
    seen.add(file);
    for (const i of imports(file))
      if (i.startsWith('.')) visit(resolve(dirname(file), i).replace(/\.js$/, '.ts'));
  };
  visit(entry);
  return seen;
}

describe('jobs/migration as a feature folder', () => {
  it('handlers import it through its index only', () => {
    for (const f of ['index', 'parse', 'command', 'approval', 'core']) {
      const used = imports(join(ROOT, `handlers/migration/${f}.ts`)).filter((i) =>
        i.includes('jobs/migration'),
      );
      expect(
        used.every((i) => i === '../../jobs/migration/index.js'),
        `${f}.ts: ${used.join(', ')}`,
      ).toBe(true);
    }
  });

  it("the index's import graph holds no processor", () => {
    const files = [...graph(join(ROOT, 'jobs/migration/index.ts'))].map((f) => f.slice(ROOT.length + 1));
    for (const processor of [
      'job',
      'run',
      'rollback',
      'cleanup',
      'watchdog',
      'request',
      'status',
      'cutover-watch',
    ])
      expect(files).not.toContain(`jobs/migration/${processor}.ts`);
  });
});
