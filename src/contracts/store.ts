import type { Keyv, KeyvStoreAdapter } from 'keyv';

/** One entry for `setMany`. */
export interface StoreEntry {
  key: string;
  /** Any JSON-serialisable value. */
  value: unknown;
  /** Time to live in milliseconds; `undefined` means it never expires. Never 0 or negative. */
  ttlMs: number | undefined;
}

/** What a store can report about its own size, where it can tell cheaply. */
export interface StoreUsage {
  /** Entries currently held (may include expired ones not yet swept). */
  entries?: number;
  /** Approximate bytes held. */
  bytes?: number;
  /** Byte budget, for bounded stores. */
  maxBytes?: number;
}

/**
 * The narrow contract between the cache and a backend. A store does no policy: no TTL rules, no
 * key building, no fail-open. It only keeps values. Every method may reject; the cache guards them.
 */
export interface Store {
  /** Short name for stats and error messages: "memory", "sqlite", "redis", "postgres", "keyv". */
  readonly kind: string;
  /** The value, or `undefined` when absent or expired. */
  get(key: string): Promise<unknown>;
  /** Values in the order of `keys`; `undefined` where absent or expired. */
  getMany(keys: readonly string[]): Promise<unknown[]>;
  /** Store a value. `ttlMs` is milliseconds; `undefined` means it never expires. */
  set(key: string, value: unknown, ttlMs: number | undefined): Promise<void>;
  setMany(entries: readonly StoreEntry[]): Promise<void>;
  /** Whether something was removed. */
  delete(key: string): Promise<boolean>;
  deleteMany(keys: readonly string[]): Promise<void>;
  /** Remove every entry this store's namespace holds (never other applications' keys). */
  clear(): Promise<void>;
  /** Release connections and timers. */
  close(): Promise<void>;
  /** Load the driver and make one round trip, so the first real operation does not pay for it. */
  connect?(): Promise<void>;
  /**
   * Synchronous look-up of a value this process already holds (an in-process tier), exactly as
   * `get` would return it; `undefined` when it is not held here. Lets a warm hit skip the event loop.
   */
  peek?(key: string): unknown;
  /**
   * Synchronous `getMany` for a store that reads in this process without a round trip (SQLite
   * through better-sqlite3); `undefined` when it cannot answer now. A render's lookups then read
   * one statement's worth at a time.
   */
  peekMany?(keys: readonly string[]): unknown[] | undefined;
  /**
   * For a store that `peek`/`peekMany` read in this process: a value that changes whenever the
   * store may have changed other than through this cache's own writes (another connection's commit
   * to a SQLite file, SQLite's `PRAGMA data_version`, or a write through the same store object; for
   * the memory store, any write: another cache may share the store object, and its writes are not
   * in this cache's change log). What was peeked is still current while it is unchanged and this
   * cache's change log saw no write: a render keeps its snapshot that long, and a warm entry's tag
   * tokens are checked again only then.
   */
  peekVersion?(): unknown;
  /**
   * Changes other processes made to this store, as they arrive (stored keys, or "clear"), for
   * stores that learn of them (a first tier on an invalidation bus). The cache uses them to stop
   * its in-flight renders of those keys from storing older results. May return a function that
   * removes the listener (the cache calls it on `close()`); any other return value is ignored.
   */
  subscribe?(listener: (change: readonly string[] | 'clear') => void): unknown;
  /**
   * Calls `listener` each time the store's connection becomes ready: when it first connects, and
   * again after every reconnection (node-redis's `ready`). The cache then lets a probe through its
   * circuit breaker at once instead of waiting out the cool-down, so caching resumes as soon as a
   * restarted server is reachable. May return a function that removes the listener (the cache
   * calls it on `close()`); any other return value is ignored.
   */
  onReady?(listener: () => void): unknown;
  /** Entries and bytes, where the backend can tell. */
  usage?(): Promise<StoreUsage>;
  /** Create the backing table now (SQL stores) — Django's `createcachetable`. Idempotent. */
  createTable?(): Promise<void>;
  /** Delete expired rows now (SQL stores); returns how many were removed. */
  sweep?(): Promise<number>;
  /** The Keyv instance behind the store, for adapter-specific features. */
  keyv?(): Promise<Keyv>;
}

/**
 * Anything that names a store:
 * - `"memory"` or `"memory://?maxBytes=1048576"` — in-process LRU bounded by bytes (default 64 MiB);
 * - `"sqlite://cache.db"` (relative), `"sqlite:///var/cache/app.db"` (absolute), `"sqlite://:memory:"`,
 *   optionally `?table=name`;
 * - `"redis://host:6379/0"`, `"rediss://…"`; a Redis Cluster: `"redis+cluster://host:port,host:port"`;
 * - `"postgres://user@host:5432/db"` (or `postgresql://`), optionally `?table=name`;
 * - any of the shared ones with `?tier=memory` (and `&tierBytes=N`): an in-process first tier kept
 *   coherent across processes (see `docs/scaling.md`);
 * - a `Store`, a `Keyv` instance, any Keyv storage adapter, or a `Map` (unbounded; tests only).
 */
export type StoreSpec = string | Store | Keyv | KeyvStoreAdapter | Map<unknown, unknown>;

/** Whether `value` is a `Store` (and not, say, a Keyv: that is a `StoreSpec` to be wrapped). */
export function isStore(value: unknown): value is Store {
  const v = value as Partial<Store> | null;
  return typeof v === 'object' && v !== null && typeof v.kind === 'string' && typeof v.getMany === 'function' && typeof v.deleteMany === 'function';
}
