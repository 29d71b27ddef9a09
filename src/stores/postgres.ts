import { Keyv } from 'keyv';
import { StoreSpecError } from '../contracts/errors.js';
import { importDriver, requireDriver } from './drivers.js';
import { KeyvStore } from './keyv-store.js';
import { loadPg } from './pg.js';
import type { Store } from '../contracts/store.js';
import { checkMs } from '../shared/ms.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database` (or `postgresql://`). */
  url: string;
  /** Table (default "njkc_cache"): letters, digits and underscores, folded to lower case like any unquoted SQL name. */
  table?: string;
  /** Schema (default "public"); created if missing. */
  schema?: string;
  /** Most connections this store opens (default 10). */
  poolSize?: number;
  /** How often expired rows are deleted, ms (default 60 000); 0 turns the timer off. */
  sweepIntervalMs?: number;
  /** Connect timeout, ms (default 2 000). */
  connectTimeoutMs?: number;
  /**
   * Create the table UNLOGGED (default false): faster writes, no WAL, emptied after a crash and not
   * replicated. A fair trade for a cache, unless readers use a replica.
   */
  unlogged?: boolean;
}

const NAMESPACE = 'njkc';

interface QueryingAdapter {
  query: (sql: string, values?: unknown[]) => Promise<Array<Record<string, unknown>>>;
}

/**
 * PostgreSQL through `@keyv/postgres` — Django's database cache on a real server. One row per key
 * in a `(key VARCHAR(255) PRIMARY KEY, value TEXT)` table; the value is Keyv's JSON with the expiry
 * inside, checked on every read, and a timer deletes expired rows in bulk. The table is created on
 * first use (and again should it disappear); `createTable()` creates it explicitly and reports
 * failures (Django's `createcachetable`).
 *
 * Each store owns its connection pool: `@keyv/postgres` shares one pool per process and ends it
 * when any store closes, which would break every other store still open.
 */
export function createPostgresStore(options: PostgresStoreOptions): Store {
  requireDriver('@keyv/postgres', 'postgres://');
  const table = checkName(options.table ?? 'njkc_cache', 'table');
  const schema = checkName(options.schema ?? 'public', 'schema');
  const qualified = `${schema}.${table}`;
  const sweepEvery = checkMs(options.sweepIntervalMs ?? 60_000, 'sweepIntervalMs', 'PostgreSQL store', true);
  const connectTimeoutMs = checkMs(options.connectTimeoutMs ?? 2_000, 'connectTimeoutMs', 'PostgreSQL store');
  const createSql = `${schema === 'public' ? '' : `CREATE SCHEMA IF NOT EXISTS ${schema}; `}CREATE${options.unlogged ? ' UNLOGGED' : ''} TABLE IF NOT EXISTS ${qualified} (key VARCHAR(255) PRIMARY KEY, value TEXT)`;
  let endPool: (() => Promise<void>) | undefined;

  const adapterOf = (keyv: Keyv): QueryingAdapter => keyv.store as QueryingAdapter;
  const sweep = async (keyv: Keyv): Promise<number> => {
    const rows = await adapterOf(keyv).query(
      `DELETE FROM ${qualified} WHERE key LIKE $1 AND (value::json->>'expires')::bigint < $2 RETURNING 1`,
      [`${NAMESPACE}:%`, Date.now()],
    );
    return rows.length;
  };

  return new KeyvStore({
    kind: 'postgres',
    fastDeserialize: true,
    connect: async () => {
      const { KeyvPostgres } = await importDriver('@keyv/postgres', 'postgres://', () => import('@keyv/postgres'));
      const pg = loadPg();
      const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, connectionTimeoutMillis: connectTimeoutMs, keepAlive: true });
      // An idle connection dropped by a server restart must not crash the process; the next query reconnects.
      pool.on('error', () => {});
      endPool = () => pool.end();
      const run = async (sql: string, values?: unknown[]) => (await pool.query(sql, values)).rows;
      class OwnPoolPostgres extends KeyvPostgres {
        override async connect() {
          return run;
        }
        override async disconnect() {
          await endPool?.();
          endPool = undefined;
        }
      }
      const adapter = new OwnPoolPostgres({ uri: options.url, table, schema, useUnloggedTable: options.unlogged ?? false });
      // @keyv/postgres tries CREATE TABLE once, when it starts; a server that was down then would
      // leave the cache without a table for good. Create it whenever a query finds it missing.
      const query = adapter.query;
      adapter.query = async (sql, values) => {
        try {
          return await query(sql, values);
        } catch (error) {
          if ((error as { code?: string }).code !== '42P01') throw error; // undefined_table
          await run(createSql).catch(() => {});
          return query(sql, values);
        }
      };
      return new Keyv({ store: adapter, namespace: NAMESPACE });
    },
    onClose: async () => {
      await endPool?.();
      endPool = undefined;
    },
    createTable: async (keyv) => {
      await adapterOf(keyv).query(createSql);
    },
    sweep,
    sweepEveryMs: sweepEvery,
    usage: async (keyv) => {
      const [row] = await adapterOf(keyv).query(
        `SELECT COUNT(*) AS entries, COALESCE(SUM(octet_length(key) + octet_length(value)), 0) AS bytes FROM ${qualified} WHERE key LIKE $1`,
        [`${NAMESPACE}:%`],
      );
      return { entries: Number(row?.entries ?? 0), bytes: Number(row?.bytes ?? 0) };
    },
  });
}

function checkName(name: string, what: string): string {
  if (!/^[A-Za-z_]\w*$/.test(name) || name.length > 63) {
    throw new StoreSpecError(`PostgreSQL ${what} name must be letters, digits and underscores (at most 63, not starting with a digit); got "${name}".`);
  }
  return name.toLowerCase();
}
