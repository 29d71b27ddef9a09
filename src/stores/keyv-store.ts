import type { Keyv } from 'keyv';
import { CacheError } from '../contracts/errors.js';
import { FOREIGN_VALUE, withFastPath } from './serialize.js';

export { FOREIGN_VALUE } from './serialize.js';
import type { Store, StoreEntry, StoreUsage } from '../contracts/store.js';

export interface KeyvStoreOptions {
  kind: string;
  /** Builds the Keyv lazily, so a driver is loaded only when the store is first used. */
  connect: () => Promise<Keyv>;
  /** Synchronous look-up in an in-process backend (see `Store.peek`). */
  peek?: (key: string) => unknown;
  /** With `peek`: a value that moves on every write to the backend, whoever made it (see `Store.peekVersion`). */
  peekVersion?: () => unknown;
  /**
   * Synchronous access to the same data, once it is open (SQLite through better-sqlite3): reads,
   * writes and `peek` use it instead of Keyv's asynchronous path.
   */
  sync?: () => SyncAccess | undefined;
  /**
   * Decode rows without Keyv's reviver where no escaped string can be in them (serialize.ts), for
   * stores whose Keyv we build with the default serialiser.
   */
  fastDeserialize?: boolean;
  /** How to disconnect, when Keyv's own `disconnect()` is not enough. */
  disconnect?: (keyv: Keyv) => Promise<void>;
  /**
   * Call `ready` whenever the backend's connection becomes ready (first connection and every
   * reconnection), for drivers that say so (node-redis's `ready`); called once per Keyv built.
   * Gives the store its `onReady`.
   */
  watchReady?: (keyv: Keyv, ready: () => void) => void;
  /** Extra clean-up after Keyv disconnects (timers, file handles). */
  onClose?: () => Promise<void> | void;
  usage?: (keyv: Keyv) => Promise<StoreUsage>;
  createTable?: (keyv: Keyv) => Promise<void>;
  sweep?: (keyv: Keyv) => Promise<number>;
  /**
   * Run `sweep` this often once connected, ms (SQL stores delete expired rows in bulk: Keyv drops
   * one only when it is read again); 0 or absent: never. The timer does not keep the process alive.
   */
  sweepEveryMs?: number;
}

/** The store's data, synchronously, exactly as Keyv would read and write it. */
export interface SyncAccess {
  get(key: string): unknown;
  getMany(keys: readonly string[]): unknown[];
  setMany(entries: readonly StoreEntry[]): void;
  /** Whether something was removed. */
  deleteMany(keys: readonly string[]): boolean;
  /** Changes whenever another connection committed to the store (see `Store.peekVersion`). */
  version(): unknown;
}

/** Make Keyv's deserialisation read a text it cannot parse (or that lacks Keyv's `{ value }` wrapper) as `FOREIGN_VALUE`. */
function tolerateForeignValues(keyv: Keyv): void {
  const deserialize = keyv.deserialize;
  if (typeof deserialize !== 'function') return;
  keyv.deserialize = (async (data: string) => {
    let parsed: unknown;
    try {
      parsed = await deserialize(data);
    } catch {
      return { value: FOREIGN_VALUE };
    }
    if (parsed === undefined || parsed === null) return parsed as undefined;
    if (typeof parsed !== 'object' || !('value' in parsed)) return { value: FOREIGN_VALUE };
    return parsed;
  }) as Keyv['deserialize'];
}

/** Adapts any Keyv instance to the narrow `Store` contract. */
export class KeyvStore implements Store {
  readonly kind: string;
  readonly peek?: (key: string) => unknown;
  readonly peekMany?: (keys: readonly string[]) => unknown[] | undefined;
  readonly peekVersion?: () => unknown;
  readonly usage?: () => Promise<StoreUsage>;
  readonly createTable?: () => Promise<void>;
  readonly sweep?: () => Promise<number>;
  readonly onReady?: (listener: () => void) => () => void;
  readonly #options: KeyvStoreOptions;
  readonly #readyListeners = new Set<() => void>();
  #keyv: Promise<Keyv> | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: KeyvStoreOptions) {
    this.kind = options.kind;
    this.#options = options;
    // Optional capabilities exist only where the backend has them, so callers can test for them.
    const { peek, peekVersion, sync, usage, createTable, sweep } = options;
    if (peek) {
      this.peek = peek;
      if (peekVersion) this.peekVersion = peekVersion;
    } else if (sync) {
      // Not answered here when reading fails: the asynchronous read that follows reports the error.
      this.peek = (key) => {
        try {
          return sync()?.get(key);
        } catch {
          return undefined;
        }
      };
      this.peekMany = (keys) => {
        try {
          return sync()?.getMany(keys);
        } catch {
          return undefined;
        }
      };
      // A fresh object when it cannot tell: never equal to the last one, so nothing is kept.
      this.peekVersion = () => {
        try {
          return sync()?.version() ?? {};
        } catch {
          return {};
        }
      };
    }
    if (usage) this.usage = async () => usage(await this.keyv());
    if (createTable) this.createTable = async () => createTable(await this.keyv());
    if (sweep) this.sweep = async () => sweep(await this.keyv());
    if (options.watchReady) {
      this.onReady = (listener) => {
        // Each registration is its own (a listener added twice is called twice, removed once each).
        const own = (): void => listener();
        this.#readyListeners.add(own);
        return () => void this.#readyListeners.delete(own);
      };
    }
  }

  keyv(): Promise<Keyv> {
    this.#keyv ??= this.#options.connect().then(
      (keyv) => {
        // Errors must reach the caller (which fails open), not vanish into Keyv's event emitter.
        keyv.throwOnErrors = true;
        keyv.on('error', () => {});
        if (this.#options.fastDeserialize === true) keyv.deserialize = withFastPath(keyv.deserialize as (raw: string) => unknown) as typeof keyv.deserialize;
        tolerateForeignValues(keyv);
        this.#startSweeper(keyv);
        this.#options.watchReady?.(keyv, () => {
          for (const listener of [...this.#readyListeners]) listener();
        });
        return keyv;
      },
      (error: unknown) => {
        // Forget a failed connection (a driver that failed to load, a refused connect), so the
        // next call tries again.
        this.#keyv = undefined;
        throw error;
      },
    );
    return this.#keyv;
  }

  async connect(): Promise<void> {
    const keyv = await this.keyv();
    // A read of a key nobody writes: loads the driver, opens the connection, creates SQL tables.
    // Some drivers never reject it while they cannot connect: node-redis retries forever and only
    // emits an error per attempt. The first error emitted meanwhile is the answer.
    let onError: ((error: unknown) => void) | undefined;
    const failed = new Promise<never>((_, reject) => {
      onError = reject;
      keyv.on('error', onError);
    });
    try {
      await Promise.race([keyv.get('__njkc_connect__'), failed]);
    } finally {
      if (onError) keyv.off('error', onError);
    }
  }

  async get(key: string): Promise<unknown> {
    const sync = this.#options.sync?.();
    if (sync !== undefined) return sync.get(key);
    return (await this.keyv()).get(key);
  }

  async getMany(keys: readonly string[]): Promise<unknown[]> {
    if (keys.length === 0) return [];
    const sync = this.#options.sync?.();
    if (sync !== undefined) return sync.getMany(keys);
    const keyv = await this.keyv();
    return keyv.getMany([...keys]);
  }

  async set(key: string, value: unknown, ttlMs: number | undefined): Promise<void> {
    const sync = this.#options.sync?.();
    if (sync !== undefined) return sync.setMany([{ key, value, ttlMs }]);
    const ok = await (await this.keyv()).set(key, value, ttlMs);
    if (ok === false) throw new CacheError('ERR_CACHE_STORE_WRITE', `The ${this.kind} store refused to write "${key}".`);
  }

  async setMany(entries: readonly StoreEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const sync = this.#options.sync?.();
    if (sync !== undefined) return sync.setMany(entries);
    const keyv = await this.keyv();
    await keyv.setMany(entries.map((e) => ({ key: e.key, value: e.value, ttl: e.ttlMs })));
  }

  async delete(key: string): Promise<boolean> {
    const sync = this.#options.sync?.();
    if (sync !== undefined) return sync.deleteMany([key]);
    return (await this.keyv()).delete(key);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const sync = this.#options.sync?.();
    if (sync !== undefined) {
      sync.deleteMany(keys);
      return;
    }
    await (await this.keyv()).deleteMany([...keys]);
  }

  async clear(): Promise<void> {
    await (await this.keyv()).clear();
  }

  #startSweeper(keyv: Keyv): void {
    const { sweep, sweepEveryMs = 0 } = this.#options;
    if (sweep === undefined || sweepEveryMs <= 0) return;
    clearInterval(this.#sweeper);
    this.#sweeper = setInterval(() => void sweep(keyv).catch(() => {}), sweepEveryMs);
    this.#sweeper.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    const pending = this.#keyv;
    this.#keyv = undefined;
    if (pending) {
      const keyv = await pending.catch(() => undefined);
      if (keyv !== undefined) await (this.#options.disconnect ?? ((k: Keyv) => k.disconnect()))(keyv).catch(() => {});
    }
    await this.#options.onClose?.();
  }
}
