import type { Clock, EpochMs } from '../contracts/clock.js';

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
