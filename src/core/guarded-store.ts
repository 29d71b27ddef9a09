import type { Store } from '../stores/types.js';
import { CacheError } from './errors.js';
import type { StoreGuard } from './guard.js';

/**
 * The store as the cache uses it: every call under the guard (deadline, circuit breaker), and
 * failures turned into fallbacks when the cache fails open.
 */
export class GuardedStore {
  readonly store: Store;
  readonly guard: StoreGuard;
  readonly failOpen: boolean;
  closed = false;

  constructor(store: Store, guard: StoreGuard, failOpen: boolean) {
    this.store = store;
    this.guard = guard;
    this.failOpen = failOpen;
  }

  /** Values of `keys` in one store call; `null` when the store failed and the cache fails open. */
  read(operation: string, keys: readonly string[]): Promise<unknown[] | null> {
    const store = this.store;
    return this.call(operation, () => (keys.length === 1 ? store.get(keys[0] as string).then((value) => [value]) : store.getMany(keys)), null);
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
      if (!this.failOpen || (error instanceof CacheError && error.code === 'ERR_CACHE_CLOSED')) throw error;
      return fallback;
    }
  }

  /** Under the guard, but failures always throw (for operations that must not fail silently). */
  strict<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CacheError('ERR_CACHE_CLOSED', 'This cache was closed; create a new one with createCache().'));
    return this.guard.run(operation, fn);
  }
}
