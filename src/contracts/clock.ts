/** Milliseconds since the Unix epoch. */
export type EpochMs = number;

/** Where the cache reads the time. Inject a fake one in tests so TTL tests never sleep. */
export interface Clock {
  now(): EpochMs;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests. */
export class ManualClock implements Clock {
  #now: EpochMs;

  constructor(start: EpochMs = Date.now()) {
    this.#now = start;
  }

  now(): EpochMs {
    return this.#now;
  }

  /** Move the clock forward by `seconds` (fractions allowed). */
  advance(seconds: number): void {
    this.#now += seconds * 1000;
  }
}
