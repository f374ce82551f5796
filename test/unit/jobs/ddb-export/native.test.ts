import { describe, expect, it } from 'vitest';
import { exportClientToken } from '../../../../jobs/ddb-export/native.js';

describe('native export', () => {
  it('gives a stable client token of at most 64 characters per request and table', () => {
    const token = exportClientToken('r1', 'prod_txlog');
    expect(token).toBe(exportClientToken('r1', 'prod_txlog'));
    expect(token).not.toBe(exportClientToken('r2', 'prod_txlog'));
    expect(token).not.toBe(exportClientToken('r1', 'other_table'));
    expect(token.length).toBeLessThanOrEqual(64);
  });
});
