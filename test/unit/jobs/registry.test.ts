// The one registry of job kinds: each kind under its own queue's name, the kinds people ask for apart
// from housekeeping, and one audit action per kind.
import { describe, expect, it } from 'vitest';
import { ALL_QUEUE_NAMES, JOB_KINDS, QUEUE_NAMES, WORKER_KINDS } from '../../../jobs/registry.js';

describe('the job registry', () => {
  it('files every kind under the name of the queue it works on', () => {
    for (const [name, kind] of Object.entries(WORKER_KINDS)) expect(kind.queue, name).toBe(name);
  });

  it('lists the kinds people ask for, and every queue a worker reads with housekeeping besides', () => {
    expect([...QUEUE_NAMES].sort()).toEqual([
      'ddb-export',
      'dumps',
      'maintenance',
      'migration',
      'reset-password',
    ]);
    expect([...ALL_QUEUE_NAMES].sort()).toEqual([...QUEUE_NAMES, 'housekeeping'].sort());
    expect(Object.keys(JOB_KINDS)).toEqual(QUEUE_NAMES);
  });

  it('gives each kind its own audit action, and keeps only housekeeping quiet', () => {
    const kinds = Object.values(WORKER_KINDS);
    expect(new Set(kinds.map((k) => k.action)).size).toBe(kinds.length);
    expect(kinds.filter((k) => 'housekeeping' in k && k.housekeeping).map((k) => k.queue)).toEqual([
      'housekeeping',
    ]);
  });
});
