import type { Redis } from './redis.js';

/** Appends entries to Redis streams in batches. */
export interface StreamBatcher {
  /** XADD `key` `args…`; resolves once Redis has it, rejects if Redis fails or is silent for `timeoutMs`. */
  xadd(key: string, args: (string | number)[]): Promise<void>;
  /** Sends whatever is waiting now; resolves when Redis has answered (for shutdown). */
  flush(): Promise<void>;
}

interface Waiting {
  key: string;
  args: (string | number)[];
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Stream appends made within `windowMs` (default 1 ms) go to Redis in one pipeline: one write and
 * one reply to wake up for, instead of one per entry. On this project's 2-core machines a Redis
 * round trip costs the bot as much CPU as a third of a whole Slack request; batching within one
 * event-loop turn only helped under load, a 1 ms window also helps one user at a time (bot CPU per
 * command at c=1: 1.9x bare Bolt -> 1.6x, npm run bench). The price: a job starts up to 1 ms later.
 * Callers that answer before Redis confirms must say so (see bot/command.ts).
 */
export function createStreamBatcher(
  redis: Redis,
  opts: { maxBatch?: number; windowMs?: number; timeoutMs?: number } = {},
): StreamBatcher {
  const maxBatch = opts.maxBatch ?? 200;
  const windowMs = opts.windowMs ?? 1;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  let waiting: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();

  const send = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = waiting;
    waiting = [];
    if (!batch.length) return Promise.resolve();
    const confirmed = redis
      .pipeline(batch.map((w) => ['xadd', w.key, ...w.args.map(String)]))
      .exec()
      .then(
        (results) => {
          batch.forEach((w, i) => {
            const err = results?.[i]?.[0];
            if (err) w.reject(err);
            else w.resolve();
          });
        },
        (err: Error) => {
          for (const w of batch) w.reject(err);
        },
      );
    // One timer per batch rather than one per entry; an entry settles once, whichever comes first.
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      deadline = setTimeout(() => {
        const err = new Error(`writing to Redis timed out after ${timeoutMs} ms`);
        for (const w of batch) w.reject(err);
        resolve();
      }, timeoutMs);
    });
    const sent = Promise.race([confirmed, timedOut]).finally(() => {
      clearTimeout(deadline);
      inFlight.delete(sent);
    });
    inFlight.add(sent);
    return sent;
  };

  return {
    xadd(key, args) {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ key, args, resolve, reject });
        if (waiting.length >= maxBatch) void send();
        else timer ??= setTimeout(send, windowMs);
      });
    },
    async flush() {
      await send();
      await Promise.all(inFlight);
    },
  };
}
