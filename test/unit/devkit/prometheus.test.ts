import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startPrometheus } from '../../../devkit/prometheus.js';
import { createMetrics, startMetricsServer } from '../../../infra/metrics.js';

describe('prometheus', () => {
  it('scrapes a metrics endpoint on loopback and answers PromQL until it is closed', async () => {
    const metrics = createMetrics({ role: 'bot' });
    const server = await startMetricsServer({ registry: metrics.registry, port: 0, host: '127.0.0.1' });
    const target = `127.0.0.1:${server.port}`;
    const prom = await startPrometheus({
      jobs: [{ job: 'chatops-bot', targets: [target] }],
      ruleFiles: ['infra/prometheus/alerts.yml'],
    });
    try {
      expect(prom.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      metrics.commandDone('/dumps', 'queued', 0.02);
      metrics.commandDone('/reset-password', 'queued', 0.03);
      metrics.commandDone('/ddb-export', 'denied', 0.01);
      const queued = await prom.waitFor(
        'sum(chatops_commands_total{outcome="queued"})',
        (s) => s[0]?.value === 2,
      );
      expect(queued).toEqual([{ metric: {}, value: 2 }]);
      // A later change shows up in a later scrape.
      metrics.commandDone('/dumps', 'queued', 0.02);
      await prom.waitFor(
        'chatops_commands_total{command="dumps",outcome="queued"}',
        (s) =>
          s.length === 1 &&
          s[0]?.value === 2 &&
          s[0].metric.job === 'chatops-bot' &&
          s[0].metric.instance === target,
      );
      expect(await prom.targets()).toEqual([
        { job: 'chatops-bot', instance: target, health: 'up', lastError: '' },
      ]);
      // The shipped rules load: with no worker heartbeat exported, its absent-rule is pending.
      await prom.waitFor('ALERTS{alertname="ChatopsWorkerHeartbeatAbsent"}', (s) => s.length === 1);
      expect((await prom.alerts()).map((a) => a.labels.alertname)).toContain('ChatopsWorkerHeartbeatAbsent');
      await expect(prom.query('sum(')).rejects.toThrow(/bad_data/);
    } finally {
      await prom.close();
      await server.close();
    }
    await expect(fetch(`${prom.url}/-/ready`)).rejects.toThrow();
    expect(existsSync(dirname(prom.configFile))).toBe(false);
  }, 60_000);

  it('explains how to install Prometheus when the binary is missing', async () => {
    await expect(startPrometheus({ jobs: [], bin: 'prometheus_does_not_exist' })).rejects.toThrow(
      'prometheus_does_not_exist not found: install it with apt-get install prometheus',
    );
  });
});
