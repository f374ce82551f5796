import { getNextMillis } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { cronProblem, lastFire, nextFire } from '../../../infra/cron.js';

const BERLIN = 'Europe/Berlin';

/** The fire times BullMQ's job scheduler computes (its own repeat strategy), from `from` on. */
function bullmqFires(pattern: string, tz: string, from: number, n: number): number[] {
  const out: number[] = [];
  let at = from;
  for (let i = 0; i < n; i++) {
    at = getNextMillis(at, { pattern, tz }) as number;
    out.push(at);
  }
  return out;
}

function ourFires(pattern: string, tz: string, from: number, n: number): number[] {
  const out: number[] = [];
  let at = from;
  for (let i = 0; i < n; i++) {
    at = nextFire(pattern, tz, at);
    out.push(at);
  }
  return out;
}

const iso = (ms: number[]) => ms.map((m) => new Date(m).toISOString());

describe('cron schedules (cron-parser, the library BullMQ schedules with)', () => {
  it('accepts 5 fields, and 6 with leading seconds; refuses aliases, wrong field counts and bad values', () => {
    expect(cronProblem('30 5 * * *', 'Asia/Tokyo')).toBeUndefined();
    expect(cronProblem('*/5 * * * * *', 'Asia/Tokyo')).toBeUndefined();
    expect(cronProblem('* * * *', 'UTC')).toMatch(/5 fields/);
    expect(cronProblem('@daily', 'UTC')).toMatch(/5 fields/);
    expect(cronProblem('0 0 0 * * * *', 'UTC')).toMatch(/5 fields/);
    expect(cronProblem('60 5 * * *', 'UTC')).toMatch(/0-59/);
    expect(cronProblem('30 25 * * *', 'UTC')).toMatch(/0-23/);
    expect(cronProblem('a b c d e', 'UTC')).toBeDefined();
  });

  it('fires once a day at the right instant across the March 2027 change in Europe/Berlin (02:30 does not exist)', () => {
    const from = Date.parse('2027-03-26T00:00:00Z');
    const fires = ourFires('30 2 * * *', BERLIN, from, 5);
    expect(iso(fires)).toEqual([
      '2027-03-26T01:30:00.000Z', // 02:30 CET
      '2027-03-27T01:30:00.000Z', // 02:30 CET
      '2027-03-28T01:30:00.000Z', // 03:30 CEST: the clocks skip 02:00-03:00, so it runs one hour later, once
      '2027-03-29T00:30:00.000Z', // 02:30 CEST
      '2027-03-30T00:30:00.000Z',
    ]);
    // BullMQ's scheduler computes the same instants.
    expect(iso(bullmqFires('30 2 * * *', BERLIN, from, 5))).toEqual(iso(fires));
  });

  it('fires once (not twice) on the October 2027 change in Europe/Berlin, where 02:30 happens twice', () => {
    const from = Date.parse('2027-10-29T00:00:00Z');
    const fires = ourFires('30 2 * * *', BERLIN, from, 5);
    expect(iso(fires)).toEqual([
      '2027-10-29T00:30:00.000Z', // 02:30 CEST
      '2027-10-30T00:30:00.000Z',
      '2027-10-31T00:30:00.000Z', // the first 02:30 (CEST); none at the second (01:30Z, CET)
      '2027-11-01T01:30:00.000Z', // 02:30 CET
      '2027-11-02T01:30:00.000Z',
    ]);
    expect(iso(bullmqFires('30 2 * * *', BERLIN, from, 5))).toEqual(iso(fires));
    // One fire per calendar day in Berlin.
    const days = fires.map((f) => new Date(f).toLocaleDateString('en-CA', { timeZone: BERLIN }));
    expect(new Set(days).size).toBe(5);
  });

  it('lastFire is the fire at or before a time', () => {
    const fire = Date.parse('2027-01-10T20:30:00Z'); // 05:30 JST on the 11th
    expect(lastFire('30 5 * * *', 'Asia/Tokyo', fire)).toBe(fire);
    expect(lastFire('30 5 * * *', 'Asia/Tokyo', fire + 60_000)).toBe(fire);
    expect(lastFire('30 5 * * *', 'Asia/Tokyo', fire - 1)).toBe(fire - 86_400_000);
    expect(nextFire('30 5 * * *', 'Asia/Tokyo', fire)).toBe(fire + 86_400_000);
  });
});
