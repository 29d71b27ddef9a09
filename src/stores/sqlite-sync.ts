import type { StoreEntry } from './types.js';

/**
 * Synchronous access to the table `@keyv/sqlite` creates, through `better-sqlite3` (an optional
 * peer): a SQLite file is on this machine, so a read need not cross `sqlite3`'s thread pool. One
 * `SELECT` by primary key costs about a microsecond here, against ~70 µs through the pool, so a
 * warm fragment is answered without leaving the render (`Store.peek`); a cold page's writes are
 * one transaction.
 *
 * Rows stay exactly as `@keyv/sqlite` writes them (`namespace:key`, Keyv's serialiser, its
 * `expires` rule), so either driver reads what the other wrote. Every read goes to the file, so two
 * processes on one file never see each other's invalidated entries.
 */
export interface SqliteSync {
  /** The value Keyv would return for this (un-namespaced) key, or `undefined`. */
  get(key: string): unknown;
  getMany(keys: readonly string[]): unknown[];
  setMany(entries: readonly StoreEntry[]): void;
  /** Whether a row was removed. */
  deleteMany(keys: readonly string[]): boolean;
  close(): void;
}

interface Statement {
  get(...params: unknown[]): { value: string } | undefined;
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
  const one = db.prepare(`SELECT value FROM ${table} WHERE key = ?`);
  const many = db.prepare(`SELECT key, value FROM ${table} WHERE key IN (SELECT value FROM json_each(?))`);
  const upsert = db.prepare(`INSERT INTO ${table} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
  const remove = db.prepare(`DELETE FROM ${table} WHERE key IN (SELECT value FROM json_each(?))`);
  const writeAll = db.transaction((entries: readonly StoreEntry[]) => {
    const now = Date.now();
    for (const { key, value, ttlMs } of entries) upsert.run(`${namespace}:${key}`, serialize({ value, expires: ttlMs === undefined ? undefined : now + ttlMs }));
  });
  const decode = (raw: string | undefined): unknown => {
    if (raw === undefined) return undefined;
    const data = deserialize(raw) as { value?: unknown; expires?: unknown } | null | undefined;
    if (data === null || data === undefined) return undefined;
    if (typeof data.expires === 'number' && Date.now() > data.expires) return undefined;
    return data.value;
  };
  const namespaced = (keys: readonly string[]) => JSON.stringify(keys.map((key) => `${namespace}:${key}`));
  return {
    get: (key) => decode(one.get(`${namespace}:${key}`)?.value),
    getMany: (keys) => {
      const rows = new Map(many.all(namespaced(keys)).map((row) => [row.key, row.value]));
      return keys.map((key) => decode(rows.get(`${namespace}:${key}`)));
    },
    setMany: (entries) => writeAll(entries),
    deleteMany: (keys) => remove.run(namespaced(keys)).changes > 0,
    close: () => db.close(),
  };
}
