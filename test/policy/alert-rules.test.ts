// The shipped Prometheus alert rules: valid (promtool check rules), unit-tested (promtool test rules,
// every rule both firing and not firing), and only about metrics the bot really exports.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../infra/metrics.js';

const RULES = 'infra/prometheus/alerts.yml';
const TESTS = 'infra/prometheus/alerts.test.yml';

/** Runs promtool; a missing binary fails with how to install it. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const res = spawnSync('promtool', args, { encoding: 'utf8' });
  if (res.error) {
    if ((res.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        'promtool not found: install it with apt-get install prometheus (Debian/Ubuntu; it ships promtool)',
      );
    }
    throw res.error;
  }
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function rules(): Rule[] {
  const doc = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const { status, output } = promtool('check', 'rules', RULES);
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it('pass their promtool unit tests', () => {
    const { status, output } = promtool('test', 'rules', TESTS);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it('test every rule both firing and not firing', () => {
    const doc = parse(readFileSync(TESTS, 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const r of rules()) {
      const mine = cases.filter((c) => c.alertname === r.alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${r.alert} has a firing case`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${r.alert} has a not-firing case`,
      ).toBe(true);
    }
  });

  it('name only metrics the bot exports, and say how bad it is and what to do', async () => {
    const exported = new Set(
      (await createMetrics({ role: 'bot' }).registry.getMetricsAsJSON()).map((m) => m.name),
    );
    for (const r of rules()) {
      for (const [name] of r.expr.matchAll(/\bchatops_[a-z_]+/g)) {
        const base = name.replace(/_(bucket|count|sum)$/, '');
        expect(exported.has(base), `${r.alert} uses ${name}, which infra/metrics.ts does not export`).toBe(
          true,
        );
      }
      expect(['page', 'ticket'], `${r.alert} severity`).toContain(r.labels?.severity);
      expect(r.annotations?.summary, `${r.alert} summary`).toBeTruthy();
      expect(r.annotations?.description, `${r.alert} description`).toBeTruthy();
    }
  });
});
