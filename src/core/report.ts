/**
 * What the cache tells an operator. The cache fails open, so a store that is down costs latency
 * and hit rate but breaks no page, and would go unnoticed: the first store error, every circuit
 * breaker opening and closing, and every burst of timeouts are written once to a logger (console
 * by default). The rest is counted in `stats()` and emitted as `error` events.
 */
import type { Clock } from '../contracts/clock.js';
import { explainConnectError, StoreTimeoutError } from '../contracts/errors.js';

/**
 * Where the cache reports trouble: `console`, a pino or winston logger, or anything with a `warn`
 * method taking one string. `info`, when present, receives the all-clear messages.
 */
export interface CacheLogger {
  warn(message: string): void;
  info?(message: string): void;
}

/** Timeouts closer together than this belong to one burst, reported once. */
const BURST_GAP_MS = 30_000;
const PREFIX = 'nunjucks-fragment-cache:';

export class Reporter {
  readonly #logger: CacheLogger | false;
  readonly #store: string;
  readonly #clock: Clock;
  #errorReported = false;
  #lastTimeoutAt = Number.NEGATIVE_INFINITY;

  constructor(logger: CacheLogger | false, store: string, clock: Clock) {
    this.#logger = logger;
    this.#store = store;
    this.#clock = clock;
  }

  /** The background connection at start-up failed. */
  connectFailed(error: unknown): void {
    if (this.#errorReported) return;
    this.#errorReported = true;
    this.#warn(`cannot connect to the ${this.#store} store: ${explainConnectError(error).text} Until it answers, lookups read as misses and pages render uncached.`);
  }

  /** A store call failed (or timed out). */
  failure(error: unknown, operation: string): void {
    if (error instanceof StoreTimeoutError) {
      const now = this.#clock.now();
      const quiet = now - this.#lastTimeoutAt > BURST_GAP_MS;
      this.#lastTimeoutAt = now;
      if (quiet) this.#warn(`${this.#store} store calls are timing out: ${error.message} Further timeouts of this burst are only counted, in stats().timeouts.`);
      return;
    }
    if (this.#errorReported) return;
    this.#errorReported = true;
    this.#warn(`the ${this.#store} store failed ("${operation}"): ${explainConnectError(error).text} The cache fails open: lookups read as misses. Further errors are only counted, in stats().errors, and emitted as "error" events.`);
  }

  breakerOpened(failures: number, cooldownMs: number): void {
    this.#warn(`circuit breaker open after ${failures} failed calls: the ${this.#store} store is not called for ${cooldownMs} ms, then one probe decides.`);
  }

  breakerClosed(): void {
    // A new outage deserves a new first-error report.
    this.#errorReported = false;
    const message = `${PREFIX} the ${this.#store} store answers again; circuit breaker closed.`;
    if (this.#logger) (this.#logger.info ? this.#logger.info(message) : this.#logger.warn(message));
  }

  #warn(text: string): void {
    if (this.#logger) this.#logger.warn(`${PREFIX} ${text}`);
  }
}
