// The feature folder's shape (STYLE.md): the handler and the registry reach jobs/ddb-export only
// through its index, and nothing outside the folder imports the old flat files.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../../..');
const imports = (file: string): string[] =>
  [...readFileSync(join(ROOT, file), 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map(
    (m) => m[1] ?? '',
  );

describe('jobs/ddb-export as a feature folder', () => {
  it('the handler and the registry import it through its index only', () => {
    const handler = imports('handlers/ddb-export.ts').filter((i) => i.includes('ddb-export'));
    expect(handler).toEqual(['../jobs/ddb-export/index.js']);
    const registry = imports('jobs/registry.ts').filter((i) => i.includes('ddb-export'));
    expect(registry).toEqual(['./ddb-export/index.js']);
  });

  it('no source outside the folder reaches inside it', () => {
    const files = execFileSync(
      'git',
      ['ls-files', 'bot', 'handlers', 'jobs', 'infra', 'playground', 'bench', 'devkit'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    )
      .split('\n')
      .filter((f) => f.endsWith('.ts') && !f.startsWith('jobs/ddb-export/'));
    const inside = files.flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith('.'))
        .map((i) => relative(ROOT, resolve(ROOT, dirname(f), i)))
        .filter((target) => target.startsWith('jobs/ddb-export') && target !== 'jobs/ddb-export/index.js')
        .map((target) => `${f}: ${target}`),
    );
    expect(inside).toEqual([]);
  });
});
