import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAllowed, loadConfig, parseConfig } from '../../../infra/config.js';
import { configProblems } from '../../helpers/config.js';

const good = {
  accounts: {
    osio: { id: '386414299200', region: 'us-east-1', roleArn: 'arn:aws:iam::386414299200:role/chatops-bot' },
  },
  roles: { admin: ['U0ADMIN'] },
  people: [
    { slack: 'U0ALICE', email: 'alice@example.com', gpgKey: 'keys/a.asc', iamUsers: { osio: 'alice' } },
  ],
  resetPassword: { defaultAccount: 'osio' },
};

const problems = (raw: unknown): string[] => configProblems(() => parseConfig(raw, '/tmp'));

describe('config', () => {
  it('accepts the example file shipped in the repository', () => {
    const c = loadConfig('chatops.example.yaml');
    expect(Object.keys(c.accounts)).toEqual(['osio', 'osio-dev', 'gghouse']);
    expect(c.people[0]?.iamUsers.osio).toBe('alice.smith');
    expect(c.jobs.attempts).toBe(5);
    expect(Object.isFrozen(c.accounts)).toBe(true);
  });

  it('lists every bad key at once, each named by its path', () => {
    const list = problems({
      ...good,
      accounts: { osio: { id: 386414299200, region: 'mars' } },
      people: [{ slack: 'alice', email: 'not-mail', iamUsers: { nowhere: 'x' } }],
      resetPassword: { defaultAccount: 'nope' },
      surprise: true,
    });
    const text = list.join('\n');
    expect(text).toMatch(/accounts\.osio\.id/);
    expect(text).toMatch(/accounts\.osio\.region/);
    expect(text).toMatch(/people\.0\.slack/);
    expect(text).toMatch(/people\.0\.email/);
    expect(text).toMatch(/surprise|Unrecognized key/);
    expect(list.length).toBeGreaterThanOrEqual(5);
  });

  it('checks that aliases used elsewhere exist under accounts', () => {
    const list = problems({
      ...good,
      resetPassword: { defaultAccount: 'nope' },
      ddbExport: { sourceAccount: 'osio', targetAccount: 'x', bucket: 'bkt' },
    });
    expect(list).toContain('resetPassword.defaultAccount: "nope" is not an alias under accounts');
    expect(list).toContain('ddbExport.targetAccount: "x" is not an alias under accounts');
  });

  it('rejects unknown permission actions', () => {
    expect(problems({ ...good, permissions: { 'reset-pasword.other': ['admin'] } }).join()).toMatch(
      /unknown action/,
    );
  });

  it('reads a YAML file and reports unreadable files and bad YAML as config errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'bad.yaml'), 'accounts: [unclosed');
    expect(() => loadConfig(join(dir, 'bad.yaml'))).toThrow(/not valid YAML/);
    expect(() => loadConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read/);
    writeFileSync(join(dir, 'ok.yaml'), JSON.stringify(good));
    expect(loadConfig(join(dir, 'ok.yaml')).baseDir).toBe(dir);
  });

  it('authorises by role with the PRODUCT defaults, and lets config override them', () => {
    const c = parseConfig(good, '/tmp');
    expect(isAllowed(c, 'U0ALICE', 'reset-password.self')).toBe(true);
    expect(isAllowed(c, 'U0ALICE', 'reset-password.other')).toBe(false);
    expect(isAllowed(c, 'U0ADMIN', 'reset-password.other')).toBe(true);
    expect(isAllowed(c, 'U0STRANGER', 'reset-password.self')).toBe(false);
    expect(isAllowed(c, 'U0STRANGER', 'chatops')).toBe(true);
    expect(isAllowed(c, 'U0ALICE', 'chatops.audit')).toBe(false);
    const c2 = parseConfig({ ...good, permissions: { 'chatops.audit': ['people'] } }, '/tmp');
    expect(isAllowed(c2, 'U0ALICE', 'chatops.audit')).toBe(true);
  });
});

describe('config bucket names', () => {
  it('refuses a bucket name that is not an S3 name, since it reaches a shell command', () => {
    const list = problems({
      ...good,
      ddbExport: { sourceAccount: 'osio', targetAccount: 'osio', bucket: 'b; rm -rf /' },
    });
    expect(list.join()).toMatch(/ddbExport\.bucket: must be an S3 bucket name/);
  });
});
