// The feature folder's shape (STYLE.md): handlers, the bot and other features reach jobs/dumps only
// through its index (the job registry alone imports the processor), and the index's import graph
// holds no processor (the job, the Slack side of an alert, the schedulers, the S3 call).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../../..');
const FEATURE = join(ROOT, 'jobs/dumps/');
const imports = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1] ?? '');
const target = (file: string, spec: string) => resolve(dirname(file), spec).replace(/\.js$/, '.ts');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function graph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !file.startsWith(FEATURE)) return;
    seen.add(file);
    for (const i of imports(file)) if (i.startsWith('.')) visit(target(file, i));
  };
  visit(entry);
  return seen;
}

describe('jobs/dumps as a feature folder', () => {
  it('handlers, the bot and other features import it through its index only', () => {
    const outside = ['bot', 'handlers', 'jobs']
      .flatMap(sources)
      .filter((f) => !f.startsWith(FEATURE) && f !== join(ROOT, 'jobs/registry.ts'));
    const used = outside.flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith('.') && target(f, i).startsWith(FEATURE))
        .map((i) => `${relative(ROOT, f)} -> ${relative(ROOT, target(f, i))}`),
    );
    // The handler, the webhook, the Home tab, the metrics and /migration all use the feature.
    expect(used.length).toBeGreaterThanOrEqual(8);
    expect(used.filter((u) => !u.endsWith('-> jobs/dumps/index.ts'))).toEqual([]);
    expect(used).toContain('handlers/dumps/command.ts -> jobs/dumps/index.ts');
  });

  it('the job registry imports the processor', () => {
    expect(imports(join(ROOT, 'jobs/registry.ts'))).toContain('./dumps/job.js');
  });

  it("the index's import graph holds no processor", () => {
    const files = [...graph(join(FEATURE, 'index.ts'))].map((f) => relative(ROOT, f));
    expect(files).toContain('jobs/dumps/store.ts');
    for (const processor of ['job', 'alerts', 'schedule', 'aws'])
      expect(files).not.toContain(`jobs/dumps/${processor}.ts`);
  });
});
