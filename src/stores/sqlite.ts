import { Keyv } from 'keyv';
import { StoreSpecError } from '../contracts/errors.js';
import { importDriver, requireDriver } from './drivers.js';
import { KeyvStore } from './keyv-store.js';
import { openSqliteSync, type SqliteSync } from './sqlite-sync.js';
import type { Store } from '../contracts/store.js';
import { checkMs } from '../shared/ms.js';

export interface SqliteStoreOptions {
  /** File path, or ":memory:". */
  path: string;
  /** Table name (default "njkc_cache"); letters, digits and underscores. */
  table?: string;
  /** How often expired rows are deleted, in ms (default 60 000); 0 turns the timer off. */
  sweepIntervalMs?: number;
  /** How long a writer waits for a lock held by another process, in ms (default 5 000). */
  busyTimeoutMs?: number;
  /**
   * Read and write synchronously through `better-sqlite3` when it is installed (default true): warm
   * hits are answered inside the render, at local speed. `false` uses `@keyv/sqlite`'s driver only.
   */
  syncReads?: boolean;
}

interface SqliteAdapter {
  query(sql: string, ...params: unknown[]): Promise<Array<Record<string, unknown>>>;
  opts: { table: string };
}

/**
 * SQLite through `@keyv/sqlite` — Django's database cache, in a file. The table is created on first
 * use; `createTable()` creates it explicitly (Django's `createcachetable`). Keyv drops an expired
 * row only when it is read again, so a timer deletes expired rows in bulk, keeping the file bounded.
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  const table = options.table ?? 'njkc_cache';
  if (!/^\w+$/.test(table)) throw new StoreSpecError(`SQLite table name must be letters, digits and underscores; got "${table}".`);
  requireDriver('@keyv/sqlite', 'sqlite://');
  const sweepEvery = checkMs(options.sweepIntervalMs ?? 60_000, 'sweepIntervalMs', 'SQLite store', true);
  const busyTimeout = checkMs(options.busyTimeoutMs ?? 5_000, 'busyTimeoutMs', 'SQLite store', true);
  let sync: SqliteSync | undefined;

  const adapterOf = (keyv: Keyv): SqliteAdapter => keyv.store as SqliteAdapter;
  const sweep = async (keyv: Keyv): Promise<number> => {
    const adapter = adapterOf(keyv);
    const rows = await adapter.query(
      `DELETE FROM ${adapter.opts.table} WHERE json_extract(value, '$.expires') IS NOT NULL AND json_extract(value, '$.expires') < ? RETURNING key`,
      Date.now(),
    );
    return rows.length;
  };

  const setUp = async (adapter: SqliteAdapter, keyv: Keyv): Promise<void> => {
    // The adapter runs CREATE TABLE IF NOT EXISTS when it connects; a query waits for that.
    await adapter.query('SELECT 1');
    if (options.path === ':memory:') return;
    // WAL lets readers in other processes proceed while one process writes; a cache need not
    // wait for the disk on every commit.
    await adapter.query('PRAGMA journal_mode = WAL');
    await adapter.query('PRAGMA synchronous = NORMAL');
    // Local speed when better-sqlite3 is installed (a second connection, so not for an
    // in-memory database, which is private to its connection).
    if (options.syncReads !== false) {
      sync = await openSqliteSync({ path: options.path, table: adapterOf(keyv).opts.table, namespace: 'njkc', busyTimeoutMs: busyTimeout, serialize: keyv.serialize as (data: unknown) => string, deserialize: keyv.deserialize as (raw: string) => unknown });
    }
  };

  return new KeyvStore({
    kind: 'sqlite',
    fastDeserialize: true,
    connect: async () => {
      const { default: KeyvSqlite } = await importDriver('@keyv/sqlite', 'sqlite://', () => import('@keyv/sqlite'));
      // Two processes opening one new file at the same moment can meet SQLITE_BUSY while the table
      // is created or the file switched to WAL (that switch does not wait on the busy timeout):
      // set up again, a little later, until the busy timeout has passed.
      const deadline = Date.now() + Math.max(busyTimeout, 1_000);
      for (let attempt = 1; ; attempt++) {
        const adapter = new KeyvSqlite({ uri: `sqlite://${options.path}`, table, busyTimeout });
        const keyv = new Keyv({ store: adapter, namespace: 'njkc' });
        try {
          await setUp(adapter as unknown as SqliteAdapter, keyv);
          return keyv;
        } catch (error) {
          sync?.close();
          sync = undefined;
          await keyv.disconnect().catch(() => {});
          if (!isBusy(error) || Date.now() >= deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.min(200, 20 * attempt)));
        }
      }
    },
    sync: () => sync,
    onClose: () => {
      sync?.close();
      sync = undefined;
    },
    createTable: async (keyv) => {
      // The adapter runs CREATE TABLE IF NOT EXISTS when it connects; a query waits for that.
      await adapterOf(keyv).query('SELECT 1');
    },
    sweep,
    sweepEveryMs: sweepEvery,
    usage: async (keyv) => {
      const adapter = adapterOf(keyv);
      const [row] = await adapter.query(`SELECT COUNT(*) AS entries, COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0) AS bytes FROM ${adapter.opts.table}`);
      return { entries: Number(row?.entries ?? 0), bytes: Number(row?.bytes ?? 0) };
    },
  });
}

/** Whether a SQLite error is "the database is locked" (another connection holds the lock). */
function isBusy(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return typeof e === 'object' && e !== null && (e.code === 'SQLITE_BUSY' || (typeof e.message === 'string' && e.message.includes('SQLITE_BUSY')));
}
