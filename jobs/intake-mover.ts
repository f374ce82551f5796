// Workers' side of the intake: move each command from the intake stream into its BullMQ queue.
// Every worker process runs one mover in a consumer group, so each entry is moved by one of them;
// an entry is acknowledged and deleted only after its job is in the queue, and entries a mover took
// but never finished (it died) are claimed by another after `claimIdleMs`. Moving twice is harmless:
// the job id is deterministic, so BullMQ adds it once.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Logger } from '../infra/logger.js';
import { createRedis } from '../infra/redis.js';
import { type BaseJobData, errorSummary, type JobKind, type WorkerDeps } from './common.js';
import { INTAKE_GROUP, type IntakeEntry, intakeKey, parseEntry } from './intake.js';
import { jobOptions } from './queues.js';

export interface IntakeMover {
  /** Stops reading; an entry being moved is finished first. */
  close(): Promise<void>;
}

export interface MoverOptions {
  deps: WorkerDeps;
  redisUrl: string;
  prefix: string;
  // biome-ignore lint/suspicious/noExplicitAny: the registry holds kinds of different data types
  kinds: JobKind<any, unknown>[];
  logger: Logger;
  /** How long an entry may sit with a mover that took it before another mover claims it. */
  claimIdleMs?: number;
  /** How long one read blocks waiting for new entries (also the longest close() waits). */
  blockMs?: number;
}

type StreamEntry = [id: string, fields: string[]];

/** Starts moving intake entries into the queues of `kinds`. */
export function startIntakeMover(opts: MoverOptions): IntakeMover {
  const { deps, prefix } = opts;
  const key = intakeKey(prefix);
  const claimIdleMs = opts.claimIdleMs ?? 30_000;
  const blockMs = opts.blockMs ?? 1_000;
  const log = opts.logger.child({ component: 'intake' });
  const consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const conn = createRedis(opts.redisUrl, { blocking: true, name: 'chatops-intake' });
  conn.on('error', (err) => log.warn({ err: err.message }, 'intake connection error'));
  const kinds = new Map(opts.kinds.map((k) => [k.queue, k]));
  const queues = new Map<string, Queue>();
  const defaults = jobOptions(deps.config);
  const queueFor = (name: string): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: deps.redis, prefix, defaultJobOptions: defaults });
      queues.set(name, q);
    }
    return q;
  };

  const ensureGroup = async () => {
    try {
      // From the start of the stream: commands the bot took before any worker ran are moved too.
      await conn.xgroup('CREATE', key, INTAKE_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String(err).includes('BUSYGROUP')) throw err;
    }
  };

  const done = async (id: string) => {
    await conn.multi().xack(key, INTAKE_GROUP, id).xdel(key, id).exec();
  };

  const duplicate = async (e: IntakeEntry, kind: JobKind<BaseJobData, unknown>, existing: string) => {
    const target = kind.describe(e.data);
    log.info({ requestId: e.data.requestId, queue: e.queue, existing }, 'duplicate command not queued');
    await deps.audit.record({
      requestId: e.data.requestId,
      user: e.data.requester,
      action: kind.action,
      target,
      outcome: 'invalid',
      detail: `duplicate of job ${existing}`,
    });
    const ctx = { deps, log: log.child({ requestId: e.data.requestId }) };
    try {
      if (kind.onDuplicate) await kind.onDuplicate(e.data, existing, ctx);
      else {
        await deps.notifier.post(
          e.data.requester,
          `:hourglass: Not started twice: ${target} is already queued or running (job ${existing}). Request ${e.data.requestId}.`,
        );
      }
    } catch (err) {
      ctx.log.warn({ err: errorSummary(err) }, 'could not tell the requester about the duplicate');
    }
  };

  const move = async ([id, flat]: StreamEntry) => {
    const e = parseEntry(flat);
    const kind = e && kinds.get(e.queue);
    if (!e || !kind) {
      // Retrying cannot make it readable: log it and drop it, so it does not block the others.
      log.error({ entry: id, queue: e?.queue }, 'unreadable intake entry dropped');
      await done(id);
      return;
    }
    const job = await queueFor(e.queue).add(e.name, e.data, {
      jobId: e.jobId,
      ...(e.dedupKey ? { deduplication: { id: e.dedupKey } } : {}),
    });
    if (String(job.id) !== e.jobId) await duplicate(e, kind, String(job.id));
    await done(id);
  };

  // This connection's id, so close() can wake its blocking read at once (CLIENT UNBLOCK).
  let clientId: number | undefined;
  let stopping = false;
  let ownPending = true; // after a start or an error, first finish what this consumer already took
  let nextClaim = 0;
  const loop = (async () => {
    let failures = 0;
    while (!stopping) {
      try {
        // At start, and after an error (the stream may have been deleted, taking the group with it).
        if (failures > 0 || ownPending) {
          await ensureGroup();
          clientId = Number(await conn.client('ID'));
        }
        let entries: StreamEntry[] = [];
        if (Date.now() >= nextClaim) {
          nextClaim = Date.now() + claimIdleMs / 2;
          const claimed = (await conn.xautoclaim(
            key,
            INTAKE_GROUP,
            consumer,
            claimIdleMs,
            '0-0',
            'COUNT',
            100,
          )) as [string, (StreamEntry | null)[]];
          entries = (claimed[1] ?? []).filter((x): x is StreamEntry => Array.isArray(x));
        }
        if (!entries.length) {
          // This consumer's own unacknowledged entries first (id 0, no wait), then new ones.
          const res = (
            ownPending
              ? await conn.xreadgroup('GROUP', INTAKE_GROUP, consumer, 'COUNT', 100, 'STREAMS', key, '0')
              : await conn.xreadgroup(
                  'GROUP',
                  INTAKE_GROUP,
                  consumer,
                  'COUNT',
                  100,
                  'BLOCK',
                  blockMs,
                  'STREAMS',
                  key,
                  '>',
                )
          ) as [string, StreamEntry[]][] | null;
          ownPending = false;
          entries = res?.[0]?.[1] ?? [];
        }
        for (const entry of entries) await move(entry);
        failures = 0;
      } catch (err) {
        if (stopping) break;
        failures += 1;
        ownPending = true;
        log.warn({ err: errorSummary(err), failures }, 'moving intake entries failed; retrying');
        await sleep(Math.min(100 * 2 ** failures, 5_000));
      }
    }
  })();

  log.info({ consumer }, 'intake mover started');

  return {
    async close() {
      stopping = true;
      // A blocked read returns nothing when unblocked, so no entry is left half-taken.
      if (clientId !== undefined) await deps.redis.client('UNBLOCK', clientId).catch(() => undefined);
      await loop;
      // Leave the group tidy, but only when this consumer holds nothing: deleting a consumer drops
      // its pending entries, which then nobody could claim.
      try {
        const held = await conn.xpending(key, INTAKE_GROUP, '-', '+', 1, consumer);
        if (Array.isArray(held) && held.length === 0)
          await conn.xgroup('DELCONSUMER', key, INTAKE_GROUP, consumer);
      } catch (err) {
        log.warn({ err: errorSummary(err) }, 'could not remove the intake consumer');
      }
      await Promise.all([...queues.values()].map((q) => q.close()));
      conn.disconnect();
    },
  };
}
