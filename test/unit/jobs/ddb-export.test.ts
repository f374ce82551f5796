import { describe, expect, it } from 'vitest';
import {
  classifyPipelineRun,
  ddbDedupKey,
  ddbJobId,
  exportClientToken,
  followUpText,
  pollDelayMs,
} from '../../../jobs/ddb-export.js';
import { formatDuration, renderCard, slackSafe } from '../../../jobs/progress-card.js';

const cfg = {
  sourceAccount: 'osio',
  targetAccount: 'osio-dev',
  bucket: 'dynamodb-migration-backups-osio',
  watchTimeoutMinutes: 360,
  pollStartSeconds: 15,
  pollMaxSeconds: 120,
  readThroughputRatio: 0.25,
};

describe('ddb-export job helpers', () => {
  it('names jobs without ":" and gives a stable client token of at most 64 characters', () => {
    const id = ddbJobId('0b7c-uuid', 'prod.tx-log_1');
    expect(id).toBe('ddb-0b7c-uuid-prod.tx-log_1');
    expect(id).not.toContain(':');
    expect(ddbDedupKey('native', 'prod_txlog')).toBe('ddb/native/prod_txlog');
    const token = exportClientToken('r1', 'prod_txlog');
    expect(token).toBe(exportClientToken('r1', 'prod_txlog'));
    expect(token).not.toBe(exportClientToken('r2', 'prod_txlog'));
    expect(token.length).toBeLessThanOrEqual(64);
  });

  it('polls from about 15 s, doubling, up to about 2 min', () => {
    expect([0, 1, 2, 3, 4, 10].map((n) => pollDelayMs(cfg, n) / 1000)).toEqual([15, 30, 60, 120, 120, 120]);
  });

  it('reads a Data Pipeline run from its instances: finished, failed (root cause), running', () => {
    const act = (status: string, error?: string) => ({
      id: 'a',
      component: 'TableBackupActivity',
      status,
      error,
    });
    const emr = (status: string) => ({ id: 'e', component: 'EmrClusterForBackup', status });
    expect(classifyPipelineRun('SCHEDULED', [act('FINISHED'), emr('SHUTTING_DOWN')]).outcome).toBe(
      'finished',
    );
    expect(classifyPipelineRun('SCHEDULED', [act('RUNNING'), emr('RUNNING')])).toEqual({
      outcome: 'running',
      detail: 'EmrClusterForBackup RUNNING, TableBackupActivity RUNNING',
    });
    expect(classifyPipelineRun('SCHEDULED', [])).toMatchObject({ outcome: 'running' });
    expect(
      classifyPipelineRun('SCHEDULED', [act('CASCADE_FAILED'), { ...emr('FAILED'), error: 'no capacity' }]),
    ).toEqual({ outcome: 'failed', detail: 'the run failed: EmrClusterForBackup FAILED: no capacity' });
    expect(classifyPipelineRun('SCHEDULED', [act('TIMEDOUT')]).outcome).toBe('failed');
    expect(classifyPipelineRun('PAUSED', [act('WAITING_FOR_RUNNER')]).outcome).toBe('failed');
    // A FINISHED pipeline state alone may be the previous run's: not proof of this one.
    expect(classifyPipelineRun('FINISHED', []).outcome).toBe('running');
  });

  it("writes the runbook's follow-up: bucket, restore manual, access", () => {
    const text = followUpText(cfg, 'datapipeline', ['prod_txlog', 'users'], []);
    expect(text).toContain('I have created a backup of all the requested tables (`prod_txlog`, `users`)');
    expect(text).toContain('used a Data Pipeline to have that backup created in the "osio-dev" account');
    expect(text).toContain(
      'https://docs.aws.amazon.com/datapipeline/latest/DeveloperGuide/dp-importexport-ddb-part1.html',
    );
    expect(text).toContain('"dynamodb-migration-backups-osio" (you should have read access to it)');
    expect(text).toContain('Good luck!');
    const native = followUpText(
      { ...cfg, restoreManualUrl: 'https://wiki.example.com/restore' },
      'native',
      ['a12'],
      ['b12'],
    );
    expect(native).toContain('https://wiki.example.com/restore');
    expect(native).toContain("used DynamoDB's export to S3");
    expect(native).toContain('`b12` could not be exported');
  });
});

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
