// The intake: how a command reaches the queues. The bot appends one entry to a Redis stream (one
// XADD, batched with the command's audit entry and those of concurrent requests); workers move
// entries into their BullMQ queues (jobs/intake-mover.ts). Adding a BullMQ job costs the bot about
// three times the CPU of the XADD (measured by `npm run bench -- --calibrate`), and the bot must
// answer Slack fast; BullMQ is not even loaded in a bot-only process.
import type { Redis } from '../infra/redis.js';
import type { StreamBatcher } from '../infra/stream-batcher.js';
import type { BaseJobData } from './common.js';

/** Consumer group every worker process joins to move intake entries into BullMQ. */
export const INTAKE_GROUP = 'movers';

/** The intake stream: `<prefix>:intake`. */
export function intakeKey(prefix: string): string {
  return `${prefix}:intake`;
}

/** One command for a queue, as written to the intake stream. */
export interface IntakeEntry<D extends BaseJobData = BaseJobData> {
  queue: string;
  /** BullMQ job name (shown in /chatops jobs). */
  name: string;
  /** Deterministic job id: moving the same entry twice adds one job. BullMQ forbids ':' in it. */
  jobId: string;
  /** While a job with this key is waiting or running, the mover adds nothing and tells the requester. */
  dedupKey?: string;
  data: D;
  /** When the bot received the command (epoch ms). */
  at: number;
}

/** Stream fields of an entry. Job data is JSON: ids and names only, never a secret. */
export function entryFields<D extends BaseJobData>(e: IntakeEntry<D>): string[] {
  const fields = ['queue', e.queue, 'name', e.name, 'jobId', e.jobId, 'at', String(e.at), 'data'];
  fields.push(JSON.stringify(e.data));
  if (e.dedupKey) fields.push('dedupKey', e.dedupKey);
  return fields;
}

/** Reads an entry back from its stream fields; undefined when it is not one of ours. */
export function parseEntry(flat: string[]): IntakeEntry | undefined {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
  if (!f.queue || !f.name || !f.jobId || !f.data) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(f.data);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const at = Number(f.at);
  return {
    queue: f.queue,
    name: f.name,
    jobId: f.jobId,
    dedupKey: f.dedupKey || undefined,
    data: data as BaseJobData,
    at: Number.isFinite(at) ? at : 0,
  };
}

/** Appends a command to the intake. Resolves once Redis has it; nothing is capped or dropped. */
export function submitToIntake<D extends BaseJobData>(
  streams: StreamBatcher,
  prefix: string,
  entry: IntakeEntry<D>,
): Promise<void> {
  return streams.xadd(intakeKey(prefix), ['*', ...entryFields(entry)]);
}

/** Entries no worker has moved yet, oldest first. */
export async function pendingIntake(redis: Redis, prefix: string, limit: number): Promise<IntakeEntry[]> {
  const rows = await redis.xrange(intakeKey(prefix), '-', '+', 'COUNT', limit);
  return rows.map(([, flat]) => parseEntry(flat)).filter((e): e is IntakeEntry => e !== undefined);
}
