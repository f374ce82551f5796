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
 * Stream appends go to Redis in batches, one pipeline each: one write and one reply to wake up
 * for, instead of one per entry. A batch goes at the end of the event-loop turn when nothing was
 * sent in the last `windowMs` (default 1 ms), so a lone command is not delayed; otherwise it waits
 * until `windowMs` after the previous one. On this project's 2-core machines a Redis round trip
 * costs the bot as much CPU as a third of a whole Slack request; batching only within one turn
 * helped under load, the window also helps one user at a time (bot CPU per command at c=1: about
 * 1.8x bare Bolt -> 1.6x, npm run bench). Callers that answer before Redis confirms must say so
 * (see bot/command.ts).
 */
export function createStreamBatcher(
  redis: Redis,
  opts: { maxBatch?: number; windowMs?: number; timeoutMs?: number } = {},
): StreamBatcher {
  const maxBatch = opts.maxBatch ?? 200;
  const windowMs = opts.windowMs ?? 1;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  let waiting: Waiting[] = [];
  /** Cancels the pending send, if one is scheduled. */
  let scheduled: (() => void) | undefined;
  let lastSent = Number.NEGATIVE_INFINITY;
  const inFlight = new Set<Promise<void>>();

  const send = (): Promise<void> => {
    scheduled?.();
    scheduled = undefined;
    const batch = waiting;
    waiting = [];
    if (!batch.length) return Promise.resolve();
    lastSent = performance.now();
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
        else if (!scheduled) {
          const wait = lastSent + windowMs - performance.now();
          if (wait <= 0) {
            const t = setImmediate(send);
            scheduled = () => clearImmediate(t);
          } else {
            const t = setTimeout(send, wait);
            scheduled = () => clearTimeout(t);
          }
        }
      });
    },
    async flush() {
      await send();
      await Promise.all(inFlight);
    },
  };
}
