import type { Store } from '../contracts/store.js';
import { CacheError } from '../contracts/errors.js';
import type { StoreGuard } from './guard.js';

interface PendingRead {
  operation: string;
  keys: readonly string[];
  resolve: (values: unknown[] | null) => void;
  reject: (error: unknown) => void;
}

/**
 * The store as the cache uses it: every call under the guard (deadline, circuit breaker), and
 * failures turned into fallbacks when the cache fails open.
 */
export class GuardedStore {
  readonly store: Store;
  readonly guard: StoreGuard;
  readonly failOpen: boolean;
  closed = false;
  /** Reads asked for since the last flush: joined into one store call at the next microtask. */
  #pending: PendingRead[] = [];

  constructor(store: Store, guard: StoreGuard, failOpen: boolean) {
    this.store = store;
    this.guard = guard;
    this.failOpen = failOpen;
  }

  /**
   * Values of `keys`; `null` when the store failed and the cache fails open. Reads asked for in the
   * same tick (fragments rendered in parallel, concurrent requests) are coalesced into one store
   * call: one `MGET` on Redis, one `WHERE key IN (…)` on SQL.
   */
  read(operation: string, keys: readonly string[]): Promise<unknown[] | null> {
    return new Promise((resolve, reject) => {
      if (this.#pending.push({ operation, keys, resolve, reject }) === 1) queueMicrotask(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 1) {
      const { operation, keys, resolve, reject } = batch[0] as PendingRead;
      this.call(operation, () => this.#get(keys), null).then(resolve, reject);
      return;
    }
    const union = [...new Set(batch.flatMap((read) => read.keys))];
    const operation = batch.every((read) => read.operation === batch[0]?.operation) ? (batch[0] as PendingRead).operation : 'getMany';
    this.strict(operation, () => this.#get(union)).then(
      (values) => {
        const byKey = new Map(union.map((key, i) => [key, values[i]]));
        // Each caller gets its own values: a key asked for by more than one read is copied for
        // every read after the first, as separate store calls would have decoded it afresh.
        const handed = new Set<string>();
        for (const read of batch) {
          read.resolve(
            read.keys.map((key) => {
              const value = byKey.get(key);
              if (!handed.has(key)) {
                handed.add(key);
                return value;
              }
              return own(value);
            }),
          );
        }
      },
      (error: unknown) => {
        for (const read of batch) {
          if (this.#failsOpen(error)) read.resolve(null);
          else read.reject(error);
        }
      },
    );
  }

  #get(keys: readonly string[]): Promise<unknown[]> {
    const store = this.store;
    return keys.length === 1 ? store.get(keys[0] as string).then((value) => [value]) : store.getMany(keys);
  }

  /** Run a write; whether it succeeded. */
  attempt(operation: string, fn: (store: Store) => Promise<unknown>): Promise<boolean> {
    return this.call(
      operation,
      async () => {
        await fn(this.store);
        return true;
      },
      false,
    );
  }

  async call<T, F>(operation: string, fn: () => Promise<T>, fallback: F): Promise<T | F> {
    try {
      return await this.strict(operation, fn);
    } catch (error) {
      if (!this.#failsOpen(error)) throw error;
      return fallback;
    }
  }

  /** Whether a failed call falls back instead of throwing (never once the cache is closed). */
  #failsOpen(error: unknown): boolean {
    return this.failOpen && !(error instanceof CacheError && error.code === 'ERR_CACHE_CLOSED');
  }

  /** Under the guard, but failures always throw (for operations that must not fail silently). */
  strict<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CacheError('ERR_CACHE_CLOSED', 'This cache was closed; create a new one with createCache().'));
    return this.guard.run(operation, fn);
  }
}

/** A fresh copy of a value a store decoded (JSON's types and Buffers); anything else as it is. */
function own(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (Array.isArray(value)) return value.map(own);
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) Object.defineProperty(out, key, { value: own(item), enumerable: true, writable: true, configurable: true });
  return out;
}
