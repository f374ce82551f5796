/** Where every "now" comes from, so time-dependent decisions can be reasoned about and tested. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => Date.now() };
