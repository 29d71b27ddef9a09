/**
 * A small promise wrapper over `sqlite3` that reports every query (SQL and duration) to a hook,
 * so the demo can count queries per request. It knows nothing about requests or caching.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sqlite3 from 'sqlite3';

export type Row = Record<string, unknown>;

export interface DatabaseOptions {
  /** File path, or ":memory:". Parent directories are created. */
  path: string;
  /** Called after every query with its SQL and how long it took, ms. */
  onQuery?: (sql: string, ms: number) => void;
  /**
   * Added to every query, ms, to imitate a database across the network (a local SQLite file
   * answers in microseconds, which hides what caching saves). Default 0.
   */
  delayMs?: number;
}

export class Database {
  readonly path: string;
  readonly #db: sqlite3.Database;
  readonly #onQuery: ((sql: string, ms: number) => void) | undefined;
  readonly #delayMs: number;

  private constructor(db: sqlite3.Database, options: DatabaseOptions) {
    this.path = options.path;
    this.#db = db;
    this.#onQuery = options.onQuery;
    this.#delayMs = options.delayMs ?? 0;
  }

  static async open(options: DatabaseOptions): Promise<Database> {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const handle = new sqlite3.Database(options.path, (error) => (error ? reject(new Error(`Cannot open the demo database at ${options.path}: ${error.message}`, { cause: error })) : resolve(handle)));
    });
    const database = new Database(db, options);
    await database.exec('PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
    if (options.path !== ':memory:') await database.exec('PRAGMA journal_mode = WAL;');
    return database;
  }

  all<T = Row>(sql: string, ...params: unknown[]): Promise<T[]> {
    return this.#timed(sql, (done) => this.#db.all(sql, params, (error, rows) => done(error, rows as T[])));
  }

  async get<T = Row>(sql: string, ...params: unknown[]): Promise<T | undefined> {
    return this.#timed(sql, (done) => this.#db.get(sql, params, (error, row) => done(error, row as T | undefined)));
  }

  /** Run a statement; returns the rows changed and the last inserted id. */
  run(sql: string, ...params: unknown[]): Promise<{ changes: number; lastId: number }> {
    return this.#timed(sql, (done) =>
      this.#db.run(sql, params, function (this: sqlite3.RunResult, error: Error | null) {
        done(error, { changes: this.changes, lastId: this.lastID });
      }),
    );
  }

  /** Run several statements (schema, pragmas). Not counted as queries. */
  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.#db.exec(sql, (error) => (error ? reject(error) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.#db.close((error) => (error ? reject(error) : resolve())));
  }

  async #timed<T>(sql: string, call: (done: (error: Error | null, value: T) => void) => void): Promise<T> {
    if (this.#delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#delayMs));
    const started = performance.now();
    try {
      return await new Promise<T>((resolve, reject) => call((error, value) => (error ? reject(error) : resolve(value))));
    } finally {
      // The imitated network delay counts as query time: that is what it stands for.
      this.#onQuery?.(sql, performance.now() - started + this.#delayMs);
    }
  }
}
