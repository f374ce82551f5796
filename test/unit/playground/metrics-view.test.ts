// playground/metrics-view.ts: the key figures read back from a real registry's exposition text.
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../infra/metrics.js';
import { keyFigures, parseExposition, quantile } from '../../../playground/metrics-view.js';

describe('playground /metrics', () => {
  it('sums commands by outcome, reads the ack quantiles, queues and the heartbeat age', async () => {
    const m = createMetrics({
      role: 'all',
      defaultMetrics: false,
      sources: {
        queues: [
          { name: 'dumps', getJobCounts: async () => ({ waiting: 2, active: 1, delayed: 3, failed: 0 }) },
        ],
        heartbeat: async () => 1_800_000_000_000,
      },
    });
    m.commandDone('/dumps', 'queued', 0.02);
    m.commandDone('/dumps', 'queued', 0.03);
    m.commandDone('/maintenance', 'denied', 0.01);
    m.requestRefused('replay');
    const text = await m.render();
    const samples = parseExposition(text);
    expect(quantile(samples, 'chatops_ack_duration_seconds', 0.5)).toBe(0.025);
    expect(quantile(samples, 'chatops_ack_duration_seconds', 0.99)).toBe(0.05);
    const lines = keyFigures(text, 1_800_000_042_000).join('\n');
    expect(lines).toContain('(role all)');
    expect(lines).toMatch(/commands +queued 2, denied 1 \(by command: dumps 2, maintenance 1\)/);
    expect(lines).toMatch(/refused 401 +replay 1/);
    expect(lines).toContain('dumps 2/1/3/0');
    expect(lines).toContain('last heartbeat 42 s ago');
  });

  it('says so when no worker ever ran the heartbeat and a Redis read fails', async () => {
    const m = createMetrics({
      defaultMetrics: false,
      sources: {
        heartbeat: async () => undefined,
        maintenance: async () => {
          throw new Error('down');
        },
      },
    });
    const lines = keyFigures(await m.render(), Date.now()).join('\n');
    expect(lines).toContain('never (no worker has run the heartbeat job)');
    expect(lines).toContain('⚠ Redis reads failing: maintenance');
  });
});
