// The feature folder's shape (STYLE.md): handlers and other features reach jobs/maintenance only
// through its index, and the index's import graph holds no processor (the notice job, its posting and
// its mail). The job registry alone imports job.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../../..');
const FEATURE = join(ROOT, 'jobs/maintenance/');
const imports = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1] ?? '');

function graph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !file.startsWith(FEATURE)) return;
    seen.add(file);
    for (const i of imports(file))
      if (i.startsWith('.')) visit(resolve(dirname(file), i).replace(/\.js$/, '.ts'));
  };
  visit(entry);
  return seen;
}

/** Every .ts file below `dir` (relative to the root). */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** The files of jobs/maintenance that `file` imports (paths relative to the root). */
function featureImports(file: string): string[] {
  return imports(join(ROOT, file))
    .filter((i) => i.startsWith('.'))
    .map((i) => relative(ROOT, resolve(dirname(join(ROOT, file)), i)))
    .filter((p) => p.startsWith('jobs/maintenance/') || p === 'jobs/maintenance');
}

describe('jobs/maintenance as a feature folder', () => {
  it('handlers import it through its index only', () => {
    const handlers = sources('handlers');
    expect(featureImports('handlers/maintenance/command.ts')).toEqual(['jobs/maintenance/index.js']);
    for (const f of handlers) {
      const used = featureImports(f);
      expect(
        used.every((p) => p === 'jobs/maintenance/index.js'),
        `${f}: ${used.join(', ')}`,
      ).toBe(true);
    }
  });

  it('other features and the bot import it through its index only (the registry takes job.ts)', () => {
    const outside = [...sources('bot'), ...sources('jobs'), ...sources('infra')].filter(
      (f) => !f.startsWith('jobs/maintenance/'),
    );
    for (const f of outside) {
      const allowed =
        f === 'jobs/registry.ts' ? ['jobs/maintenance/index.js', 'jobs/maintenance/job.js'] : [];
      const used = featureImports(f).filter((p) => !allowed.includes(p) && p !== 'jobs/maintenance/index.js');
      expect(used, f).toEqual([]);
    }
  });

  it("the index's import graph holds no processor", () => {
    const files = [...graph(join(FEATURE, 'index.ts'))].map((f) => relative(ROOT, f));
    expect(files).toContain('jobs/maintenance/operations.ts');
    for (const processor of ['job', 'post', 'mail', 'context'])
      expect(files).not.toContain(`jobs/maintenance/${processor}.ts`);
  });
});
