import type { Store, StoreEntry, StoreUsage } from '../contracts/store.js';
import type { ChangeLog } from './change-log.js';

/**
 * The store as the core writes to it: every write, delete and clear is noted in the change log
 * once it has completed (or failed: it may have landed), and so is every change another process
 * announces. Reads pass straight through.
 */
export class TrackedStore implements Store {
  readonly kind: string;
  readonly peek?: (key: string) => unknown;
  readonly peekMany?: (keys: readonly string[]) => unknown[] | undefined;
  readonly peekVersion?: () => unknown;
  readonly subscribe?: Store['subscribe'];
  readonly connect?: () => Promise<void>;
  readonly usage?: () => Promise<StoreUsage>;
  readonly #store: Store;
  readonly #log: ChangeLog;

  constructor(store: Store, log: ChangeLog) {
    this.kind = store.kind;
    this.#store = store;
    this.#log = log;
    if (store.peek) this.peek = store.peek.bind(store);
    if (store.peekMany) this.peekMany = store.peekMany.bind(store);
    if (store.peekVersion) this.peekVersion = store.peekVersion.bind(store);
    if (store.connect) this.connect = store.connect.bind(store);
    if (store.usage) this.usage = store.usage.bind(store);
    if (store.subscribe) {
      const subscribe = store.subscribe.bind(store);
      this.subscribe = (listener) =>
        subscribe((change) => {
          if (change === 'clear') log.noteAll();
          else log.note(change);
          listener(change);
        });
    }
  }

  get(key: string): Promise<unknown> {
    return this.#store.get(key);
  }

  getMany(keys: readonly string[]): Promise<unknown[]> {
    return this.#store.getMany(keys);
  }

  set(key: string, value: unknown, ttlMs: number | undefined): Promise<void> {
    return this.#noted([key], this.#store.set(key, value, ttlMs));
  }

  setMany(entries: readonly StoreEntry[]): Promise<void> {
    return this.#noted(
      entries.map((entry) => entry.key),
      this.#store.setMany(entries),
    );
  }

  delete(key: string): Promise<boolean> {
    return this.#noted([key], this.#store.delete(key));
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return this.#noted(keys, this.#store.deleteMany(keys));
  }

  clear(): Promise<void> {
    return this.#store.clear().finally(() => this.#log.noteAll());
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  #noted<T>(keys: readonly string[], pending: Promise<T>): Promise<T> {
    return pending.finally(() => this.#log.note(keys));
  }
}
