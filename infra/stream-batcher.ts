import type { Redis } from './redis.js';

/** Appends entries to Redis streams in batches. */
export interface StreamBatcher {
  /** XADD `key` `args…`; resolves once Redis has it. */
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
 * Stream appends made in the same event-loop turn go to Redis in one pipeline: one write instead
 * of one per entry (under load, one turn handles many requests). On this project's 2-core machines a loopback write costs as much CPU
 * as a fifth of a whole Slack request, so under load this is most of what Redis costs the bot.
 * Callers that answer before Redis confirms must say so (see bot/command.ts).
 */
export function createStreamBatcher(redis: Redis, opts: { maxBatch?: number } = {}): StreamBatcher {
  const maxBatch = opts.maxBatch ?? 200;
  let waiting: Waiting[] = [];
  let timer: NodeJS.Immediate | undefined;
  const inFlight = new Set<Promise<void>>();

  const send = (): Promise<void> => {
    if (timer) clearImmediate(timer);
    timer = undefined;
    const batch = waiting;
    waiting = [];
    if (!batch.length) return Promise.resolve();
    const sent = redis
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
      )
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    return sent;
  };

  return {
    xadd(key, args) {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ key, args, resolve, reject });
        if (waiting.length >= maxBatch) void send();
        else timer ??= setImmediate(send);
      });
    },
    async flush() {
      await send();
      await Promise.all(inFlight);
    },
  };
}
