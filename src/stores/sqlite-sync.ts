import { LRUCache } from 'lru-cache';
import { decodeRow, withFastPath } from './serialize.js';
import type { StoreEntry } from '../contracts/store.js';

/**
 * Synchronous access to the table `@keyv/sqlite` creates, through `better-sqlite3` (an optional
 * peer): a SQLite file is on this machine, so a read need not cross `sqlite3`'s thread pool. One
 * `SELECT` by primary key costs about a microsecond here, against ~70 µs through the pool, so a
 * warm fragment is answered without leaving the render (`Store.peek`); a cold page's writes are
 * one transaction.
 *
 * Rows stay exactly as `@keyv/sqlite` writes them (`namespace:key`, Keyv's serialiser, its
 * `expires` rule), so either driver reads what the other wrote.
 *
 * Decoded rows are kept in a bounded in-process memo, made coherent by SQLite itself: every read
 * first asks `PRAGMA data_version` (about a microsecond), which changes whenever another connection
 * (another process, or `@keyv/sqlite`'s own connection) has committed to the file, and then the
 * memo is dropped; this connection's own writes update it. So two processes on one file never
 * read each other's invalidated entries, and a warm page decodes nothing.
 */
export interface SqliteSync {
  /** The value Keyv would return for this (un-namespaced) key, or `undefined`. */
  get(key: string): unknown;
  getMany(keys: readonly string[]): unknown[];
  setMany(entries: readonly StoreEntry[]): void;
  /** Whether a row was removed. */
  deleteMany(keys: readonly string[]): boolean;
  /**
   * Changes whenever another connection committed to the file (`PRAGMA data_version`) and on every
   * write through this connection: several caches may share this store object, and one's write is
   * not in the others' change logs.
   */
  version(): unknown;
  close(): void;
}

interface Statement {
  get(...params: unknown[]): { value: string } | undefined;
  pluck(): { get(): unknown };
  all(...params: unknown[]): Array<{ key: string; value: string }>;
  run(...params: unknown[]): { changes: number };
}
interface Database {
  prepare(sql: string): Statement;
  pragma(source: string): unknown;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}
type DatabaseConstructor = new (path: string, options: { fileMustExist: boolean; timeout: number }) => Database;

export interface SqliteSyncOptions {
  path: string;
  table: string;
  /** Keyv's namespace: rows are keyed `namespace:key`. */
  namespace: string;
  busyTimeoutMs: number;
  /** The Keyv instance's own serialiser and deserialiser. */
  serialize: (data: unknown) => string;
  deserialize: (raw: string) => unknown;
  /** Bytes of decoded rows kept in memory (default 32 MiB; 0 turns the memo off). */
  memoBytes?: number;
}

/** A row as Keyv stores it, decoded. */
interface Row {
  value: unknown;
  expires?: unknown;
}

/** Open synchronous access to an existing file's table, or `undefined` when `better-sqlite3` is not installed. */
export async function openSqliteSync(options: SqliteSyncOptions): Promise<SqliteSync | undefined> {
  let Driver: DatabaseConstructor;
  try {
    ({ default: Driver } = (await import('better-sqlite3')) as unknown as { default: DatabaseConstructor });
  } catch {
    return undefined;
  }
  const { table, namespace, serialize, deserialize } = options;
  const db = new Driver(options.path, { fileMustExist: true, timeout: options.busyTimeoutMs });
  // A cache may lose its last writes on power loss; it must not wait for the disk on each one.
  db.pragma('synchronous = NORMAL');
  const many = db.prepare(`SELECT key, value FROM ${table} WHERE key IN (SELECT value FROM json_each(?))`);
  const upsert = db.prepare(`INSERT INTO ${table} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
  const remove = db.prepare(`DELETE FROM ${table} WHERE key IN (SELECT value FROM json_each(?))`);
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  const memoBytes = options.memoBytes ?? 32 * 1024 * 1024;
  const memo = memoBytes > 0 ? new LRUCache<string, Row>({ maxSize: memoBytes }) : undefined;
  let version: unknown;
  /** What `version()` answers: moved by another connection's commit, and by each write made here. */
  let stamp = 0;
  let stampedAt: unknown;
  const fast = withFastPath(deserialize);
  const decode = (raw: string): Row => decodeRow(raw, fast);
  /**
   * Keep a decoded row, if no caller could change it: a primitive, or one of our envelopes around a
   * primitive, frozen (with its tags) since every later reader is handed the same object. Any other
   * object (a value written through the store functions, a Buffer) is decoded afresh on each read.
   */
  const remember = (key: string, row: Row, raw: string): void => {
    if (memo === undefined) return;
    const value = row.value as { njkc?: unknown; v?: unknown; tags?: unknown } | null;
    if (typeof value === 'object' && value !== null) {
      if (value.njkc !== 1 || (typeof value.v === 'object' && value.v !== null) || Object.getPrototypeOf(value) !== Object.prototype) {
        memo.delete(key);
        return;
      }
      if (typeof value.tags === 'object' && value.tags !== null) Object.freeze(value.tags);
      Object.freeze(value);
    }
    memo.set(key, row, { size: raw.length * 2 + key.length * 2 });
  };
  const upsertAll = db.transaction((rows: ReadonlyArray<readonly [string, string]>) => {
    for (const [key, raw] of rows) upsert.run(key, raw);
  });
  const writeAll = (entries: readonly StoreEntry[]): void => {
    const now = Date.now();
    const rows = entries.map(({ key, value, ttlMs }) => [`${namespace}:${key}`, serialize({ value, expires: ttlMs === undefined ? undefined : now + ttlMs })] as const);
    // A failure rolls the whole transaction back: what the memo holds is still what the file holds.
    upsertAll(rows);
    stamp += 1;
    // Kept as it will read back (decoded from the text written), never the caller's own object, and
    // only once committed: a transaction that rolled back must leave nothing behind.
    if (memo !== undefined) for (const [key, raw] of rows) remember(key, decode(raw), raw);
  };
  const valueOf = (row: Row | undefined): unknown => (row === undefined || (typeof row.expires === 'number' && Date.now() > row.expires) ? undefined : row.value);
  /** Rows of `keys` (namespaced): from the memo while the file is unchanged, the rest in one statement. */
  const rows = (keys: readonly string[]): Array<Row | undefined> => {
    const found: Array<Row | undefined> = new Array(keys.length);
    let missing = keys as readonly string[];
    if (memo !== undefined) {
      const now = dataVersion.get();
      if (now !== version) {
        memo.clear();
        version = now;
      }
      missing = [];
      keys.forEach((key, i) => {
        found[i] = memo.get(key);
        if (found[i] === undefined) (missing as string[]).push(key);
      });
      if (missing.length === 0) return found;
    }
    const raw = new Map(many.all(JSON.stringify(missing)).map((row) => [row.key, row.value]));
    keys.forEach((key, i) => {
      if (found[i] !== undefined) return;
      const text = raw.get(key);
      if (text === undefined) return;
      const row = decode(text);
      found[i] = row;
      if (memo !== undefined) remember(key, row, text);
    });
    return found;
  };
  const ns = (keys: readonly string[]) => keys.map((key) => `${namespace}:${key}`);
  return {
    get: (key) => valueOf(rows([`${namespace}:${key}`])[0]),
    getMany: (keys) => rows(ns(keys)).map(valueOf),
    setMany: (entries) => writeAll(entries),
    deleteMany: (keys) => {
      const keyed = ns(keys);
      for (const key of keyed) memo?.delete(key);
      stamp += 1;
      return remove.run(JSON.stringify(keyed)).changes > 0;
    },
    version: () => {
      // data_version does not move for this connection's own commits (SQLite's rule).
      const now = dataVersion.get();
      if (now !== stampedAt) {
        stampedAt = now;
        stamp += 1;
      }
      return stamp;
    },
    close: () => db.close(),
  };
}
