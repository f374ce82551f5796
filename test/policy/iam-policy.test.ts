import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ACTIONS_DIR = '.artifacts/aws-actions';
const POLICY = 'infra/iam/chatops-bot-policy.json';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
}

/** Actions granted by the policy file. */
function granted(): Set<string> {
  const doc = JSON.parse(readFileSync(POLICY, 'utf8')) as { Statement: Statement[] };
  const out = new Set<string>();
  for (const s of doc.Statement) {
    expect(s.Effect).toBe('Allow');
    for (const a of Array.isArray(s.Action) ? s.Action : [s.Action]) {
      expect(a, 'no wildcards: list exactly the actions the code calls').not.toMatch(/\*/);
      out.add(a);
    }
  }
  return out;
}

/** Actions the integration tests actually sent (recorded by SDK middleware, one file per test process). */
function sent(): Set<string> {
  if (!existsSync(ACTIONS_DIR) || readdirSync(ACTIONS_DIR).length === 0) {
    throw new Error(
      `no recorded AWS actions in ${ACTIONS_DIR}: run the integration tests first (npm run test:integration)`,
    );
  }
  const out = new Set<string>();
  for (const f of readdirSync(ACTIONS_DIR)) {
    for (const line of readFileSync(join(ACTIONS_DIR, f), 'utf8').split('\n'))
      if (line.trim()) out.add(line.trim());
  }
  return out;
}

describe('the IAM policy in infra/iam', () => {
  it('grants every AWS action the code sent during the integration tests', () => {
    const policy = granted();
    const missing = [...sent()].filter((a) => !policy.has(a)).sort();
    expect(missing, `add these to ${POLICY}`).toEqual([]);
  });

  it('grants nothing that no code uses', () => {
    const used = sent();
    const unused = [...granted()].filter((a) => !used.has(a)).sort();
    expect(
      unused,
      `remove these from ${POLICY}, or cover the code that calls them with an integration test`,
    ).toEqual([]);
  });
});
