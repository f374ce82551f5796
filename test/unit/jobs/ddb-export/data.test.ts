import { describe, expect, it } from 'vitest';
import { ddbDedupKey, ddbJobId, pollDelayMs } from '../../../../jobs/ddb-export/data.js';
import { testDdbExportConfig } from '../../../helpers/config.js';

const cfg = testDdbExportConfig();

describe('ddb-export job data', () => {
  it('names jobs without ":", one dedup key per engine and table', () => {
    const id = ddbJobId('0b7c-uuid', 'prod.tx-log_1');
    expect(id).toBe('ddb-0b7c-uuid-prod.tx-log_1');
    expect(id).not.toContain(':');
    expect(ddbDedupKey('native', 'prod_txlog')).toBe('ddb/native/prod_txlog');
  });

  it('polls from about 15 s, doubling, up to about 2 min', () => {
    expect([0, 1, 2, 3, 4, 10].map((n) => pollDelayMs(cfg, n) / 1000)).toEqual([15, 30, 60, 120, 120, 120]);
  });
});
