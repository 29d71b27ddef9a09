/**
 * The `pg` driver, as `@keyv/postgres` itself loads it (so we use the very copy it depends on and
 * need no dependency of our own), typed by the few members we use.
 */
import { createRequire } from 'node:module';
import { requireDriver } from './drivers.js';

export interface PgQueryResult {
  rows: Array<Record<string, unknown>>;
  rowCount: number | null;
}

export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<PgQueryResult>;
}

export interface PgPool extends PgQueryable {
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): this;
}

export interface PgNotification {
  channel: string;
  payload?: string;
}

export interface PgClient extends PgQueryable {
  connect(): Promise<void>;
  end(): Promise<void>;
  on(event: 'notification', listener: (message: PgNotification) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'end', listener: () => void): this;
  removeAllListeners(): this;
}

export interface PgConfig {
  connectionString: string;
  max?: number;
  connectionTimeoutMillis?: number;
  idleTimeoutMillis?: number;
  keepAlive?: boolean;
  /** Shown in pg_stat_activity. */
  application_name?: string;
}

export interface PgModule {
  Pool: new (config: PgConfig) => PgPool;
  Client: new (config: PgConfig) => PgClient;
}

let loaded: PgModule | undefined;

export function loadPg(): PgModule {
  if (loaded === undefined) {
    requireDriver('@keyv/postgres', 'PostgreSQL');
    const fromKeyv = createRequire(createRequire(import.meta.url).resolve('@keyv/postgres'));
    loaded = fromKeyv('pg') as PgModule;
  }
  return loaded;
}

/** Quote an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
