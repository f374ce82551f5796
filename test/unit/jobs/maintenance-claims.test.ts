// The notice claims of jobs/maintenance-store.ts on the real Redis: thread order, takeover, skips.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cancelWindow,
  claimAnnouncement,
  claimNotice,
  createWindow,
  getWindow,
  markSent,
  setAnnouncement,
  type WindowStore,
} from '../../../jobs/maintenance-store.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const s: WindowStore = { redis, prefix: `test-claims-${randomUUID()}` };
afterAll(async () => {
  const keys = await redis.keys(`${s.prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const T0 = 1_800_000_000_000;
async function announced() {
  const w = await createWindow(s, {
    title: 'Claims',
    start: T0 + 60_000,
    end: T0 + 120_000,
    createdBy: 'U0OPS',
    createdAt: T0,
    impact: 'i',
    purpose: 'p',
    rollback: 'r',
    contact: 'c',
  });
  expect(await claimAnnouncement(s, w.id)).toBe('ok');
  expect(await claimAnnouncement(s, w.id)).toBe('retake');
  await setAnnouncement(s, w.id, 'C0MAINT', '1.000100');
  expect(await claimAnnouncement(s, w.id)).toBe('sent');
  return w;
}
const remind = { key: 'remind-30000', kind: 'remind' as const };
const start = { key: 'start', kind: 'start' as const };
const end = (e: number) => ({ key: `end-${e}`, kind: 'end' as const, end: e });

describe('notice claims', () => {
  it('keep thread order: a notice waits while another is being posted, the end waits for the start', async () => {
    const w = await announced();
    expect(await claimNotice(s, w.id, remind, T0 + 30_000)).toBe('ok');
    expect(await claimNotice(s, w.id, start, T0 + 60_000)).toBe('wait');
    expect(await claimNotice(s, w.id, end(w.end), T0 + 120_000)).toBe('wait');
    expect((await getWindow(s, w.id))?.state).toBe('scheduled');
    await markSent(s, w.id, remind.key, '1.000101');
    expect(await claimNotice(s, w.id, end(w.end), T0 + 120_000)).toBe('wait'); // start not posted yet
    expect(await claimNotice(s, w.id, start, T0 + 60_000)).toBe('ok');
    expect((await getWindow(s, w.id))?.state).toBe('in-progress');
    // Past its wait limit the end goes out anyway.
    expect(await claimNotice(s, w.id, end(w.end), T0 + 900_000, false)).toBe('ok');
    expect((await getWindow(s, w.id))?.state).toBe('completed');
  });

  it('hand a claim left unrecorded to the next attempt as a retake, even after a cancel; then it is sent', async () => {
    const w = await announced();
    expect(await claimNotice(s, w.id, start, T0 + 60_000)).toBe('ok');
    expect(await cancelWindow(s, w.id)).toBe('in-progress');
    const cancel = { key: 'cancel', kind: 'cancel' as const };
    expect(await claimNotice(s, w.id, cancel, T0 + 61_000)).toBe('wait');
    expect(await claimNotice(s, w.id, start, T0 + 62_000)).toBe('retake');
    await markSent(s, w.id, start.key, '1.000102');
    expect(await claimNotice(s, w.id, start, T0 + 63_000)).toBe('sent');
    expect(await claimNotice(s, w.id, cancel, T0 + 64_000)).toBe('ok');
    expect(await claimNotice(s, w.id, end(w.end), T0 + 120_000)).toBe('cancelled');
  });

  it('skip a reminder once the start is due and an end that was moved', async () => {
    const w = await announced();
    expect(await claimNotice(s, w.id, remind, T0 + 60_000)).toBe('started');
    expect(await claimNotice(s, w.id, end(w.end + 1), T0 + 120_000)).toBe('stale');
  });
});
