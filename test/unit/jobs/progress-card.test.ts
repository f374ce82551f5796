import { describe, expect, it } from 'vitest';
import { formatDuration, renderCard, slackSafe } from '../../../jobs/progress-card.js';

describe('progress card', () => {
  const t0 = Date.UTC(2025, 0, 1, 10, 0, 0);
  const card = {
    meta: {
      title: '*DynamoDB export*',
      channel: 'U0CAROL',
      items: ['a12', 'b12', 'c12', 'd12'],
      requestId: 'r1',
    },
    items: new Map([
      [
        'a12',
        { state: 'finished' as const, since: t0, startedAt: t0, finishedAt: t0 + 754_000, detail: 'done' },
      ],
      ['b12', { state: 'running' as const, since: t0, startedAt: t0, detail: 'pipeline df-1: <@U1> `x`' }],
      ['c12', { state: 'failed' as const, since: t0, startedAt: t0, finishedAt: t0 + 5_000, detail: 'boom' }],
    ]),
  };

  it('shows every table with its state and elapsed time, queued ones too', () => {
    const { text, blocks } = renderCard(card, t0 + 3_723_000);
    expect(text).toBe('DynamoDB export: a12 finished, b12 running, c12 failed, d12 queued');
    const lines = JSON.stringify(blocks);
    expect(lines).toContain('`a12` *finished*: done _(after 12m 34s)_');
    expect(lines).toContain('_(1h 02m so far)_');
    expect(lines).toContain('`c12` *failed*: boom _(after 5s)_');
    expect(lines).toContain('`d12` *queued*');
  });

  it('makes AWS text inert: no mentions, no broken code spans', () => {
    expect(slackSafe('<@U1> & `x`')).toBe("&lt;@U1&gt; &amp; 'x'");
    expect(JSON.stringify(renderCard(card, t0).blocks)).not.toContain('<@U1>');
    expect(formatDuration(59_400)).toBe('59s');
  });
});
