/** Milliseconds since the Unix epoch. */
export type EpochMs = number;

/** Where the cache reads the time. Inject a fake one in tests so TTL tests never sleep. */
export interface Clock {
  now(): EpochMs;
}

export const systemClock: Clock = { now: () => Date.now() };
