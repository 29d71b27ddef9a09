import type { Clock } from '../contracts/clock.js';
import { CacheError, CircuitOpenError, StoreTimeoutError } from '../contracts/errors.js';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long the circuit stays open before one probe is let through, ms (default 5 000). */
  cooldownMs?: number;
}

export interface GuardOptions {
  /** Longest a store operation may take, ms. */
  timeoutMs: number;
  breaker: Required<BreakerOptions> | false;
  clock: Clock;
  onFailure: (error: unknown, operation: string) => void;
  /** The circuit opened (from closed; a failed probe keeps it open and is not reported). */
  onOpen?: (failures: number, cooldownMs: number) => void;
  onRecover: () => void;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

interface Pending {
  deadline: number;
  expire: () => void;
}

/**
 * Every store call goes through here: a deadline, then a circuit breaker. A hung store delays a
 * caller by at most `timeoutMs`; a store that keeps failing is not called at all for `cooldownMs`,
 * then one probe decides whether to close the circuit again. Deadlines share one ticker instead
 * of a timer per call, which keeps the hit path cheap.
 */
export class StoreGuard {
  readonly #options: GuardOptions;
  #failures = 0;
  #openUntil = 0;
  #probing = false;
  #state: CircuitState = 'closed';
  readonly #pending = new Set<Pending>();
  #ticker: NodeJS.Timeout | undefined;

  constructor(options: GuardOptions) {
    this.#options = options;
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** Run `fn` under the deadline and the breaker; rejects with the store's error, a timeout, or CircuitOpenError. */
  run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const { breaker, clock } = this.#options;
    let probe = false;
    if (breaker && this.#state !== 'closed') {
      const now = clock.now();
      if (this.#state === 'open' && now >= this.#openUntil) this.#state = 'half-open';
      if (this.#state === 'open' || this.#probing) return Promise.reject(new CircuitOpenError(Math.max(0, this.#openUntil - now)));
      probe = true;
      this.#probing = true;
    }
    let started: Promise<T>;
    try {
      started = fn();
    } catch (error) {
      started = Promise.reject(error);
    }
    return this.#withDeadline(started, operation).then(
      (value) => {
        if (probe) this.#probing = false;
        if (this.#failures > 0 || this.#state !== 'closed') {
          const wasBroken = this.#state !== 'closed';
          this.#failures = 0;
          this.#state = 'closed';
          if (wasBroken) this.#options.onRecover();
        }
        return value;
      },
      (error: unknown) => {
        if (probe) this.#probing = false;
        // The store answered, refusing one value for its size: it is healthy, so the breaker does not count it.
        if (error instanceof CacheError && error.code === 'ERR_CACHE_ENTRY_TOO_LARGE') {
          this.#options.onFailure(error, operation);
          throw error;
        }
        this.#failures += 1;
        if (breaker && (probe || this.#failures >= breaker.failureThreshold)) {
          const opened = this.#state === 'closed';
          this.#state = 'open';
          this.#openUntil = clock.now() + breaker.cooldownMs;
          if (opened) this.#options.onOpen?.(this.#failures, breaker.cooldownMs);
        }
        this.#options.onFailure(error, operation);
        throw error;
      },
    );
  }

  /**
   * The store says it can be reached again (its client reconnected): an open circuit does not wait
   * out the rest of its cool-down, the next call is the probe. A closed circuit is left alone, and
   * a probe under way decides as usual. Without this, a restarted server would wait up to
   * `cooldownMs` (5 s by default) for the next probe.
   */
  reachable(): void {
    if (this.#state === 'open') this.#openUntil = Number.NEGATIVE_INFINITY;
  }

  #withDeadline<T>(promise: Promise<T>, operation: string): Promise<T> {
    const { timeoutMs } = this.#options;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const entry: Pending = {
        deadline: performance.now() + timeoutMs,
        expire: () => {
          settled = true;
          reject(new StoreTimeoutError(operation, timeoutMs));
        },
      };
      this.#pending.add(entry);
      this.#tick();
      promise.then(
        (value) => {
          if (settled) return;
          settled = true;
          this.#pending.delete(entry);
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          this.#pending.delete(entry);
          reject(error);
        },
      );
    });
  }

  #tick(): void {
    if (this.#ticker !== undefined) return;
    const every = Math.max(1, Math.min(25, Math.floor(this.#options.timeoutMs / 10)));
    this.#ticker = setInterval(() => {
      const now = performance.now();
      for (const entry of this.#pending) {
        if (now >= entry.deadline) {
          this.#pending.delete(entry);
          entry.expire();
        }
      }
      if (this.#pending.size === 0) {
        clearInterval(this.#ticker);
        this.#ticker = undefined;
      }
    }, every);
    this.#ticker.unref();
  }

  close(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    for (const entry of this.#pending) entry.expire();
    this.#pending.clear();
  }
}
