import type { BusListener, Invalidation, InvalidationBus } from '../contracts/bus.js';
import { checkMs } from '../shared/ms.js';
import { withTimeout } from '../shared/timeout.js';
import { Backlog, BusLink, decode, newOrigin } from './bus.js';
import { StoreSpecError } from '../contracts/errors.js';
import { requireDriver } from './drivers.js';
import { loadPg, quoteIdent, type PgClient, type PgPool } from './pg.js';

export interface PostgresBusOptions {
  /** NOTIFY channel (default "njkc_invalidate"); processes sharing a store must use the same one. */
  channel?: string;
  /** How often the listening connection is checked, ms (default 1 000). */
  heartbeatMs?: number;
  /** A check unanswered for this long marks the bus down and opens a new connection, ms (default 2 000). */
  heartbeatTimeoutMs?: number;
  /** Connect timeout, ms (default 2 000). */
  connectTimeoutMs?: number;
}

/** PostgreSQL refuses NOTIFY payloads of 8 000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7_900;

/**
 * An invalidation bus over PostgreSQL `LISTEN/NOTIFY`, for first tiers in front of the PostgreSQL
 * store. One dedicated connection listens (it reports `up` once `LISTEN` has committed); a small
 * pool sends `pg_notify`. Since the store's writes commit before the notification is sent, a
 * process that receives it and reads again sees the new row.
 */
export function createPostgresBus(url: string, options: PostgresBusOptions = {}): InvalidationBus {
  requireDriver('@keyv/postgres', 'PostgreSQL bus');
  return new PostgresBus(url, options);
}

class PostgresBus implements InvalidationBus {
  readonly kind = 'postgres';
  readonly #url: string;
  readonly #channel: string;
  readonly #heartbeatMs: number;
  readonly #heartbeatTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #origin = newOrigin();
  readonly #backlog = new Backlog();
  readonly #link = new BusLink();
  #client: PgClient | undefined;
  #pool: PgPool | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #checking = false;
  #failures = 0;
  #retryAt = 0;

  constructor(url: string, options: PostgresBusOptions) {
    this.#url = url;
    this.#channel = options.channel ?? 'njkc_invalidate';
    if (Buffer.byteLength(this.#channel) > 63) throw new StoreSpecError(`PostgreSQL channel names are at most 63 bytes; got "${this.#channel}".`);
    this.#heartbeatMs = checkMs(options.heartbeatMs ?? 1_000, 'heartbeatMs', 'PostgreSQL bus');
    this.#heartbeatTimeoutMs = checkMs(options.heartbeatTimeoutMs ?? 2_000, 'heartbeatTimeoutMs', 'PostgreSQL bus');
    this.#connectTimeoutMs = checkMs(options.connectTimeoutMs ?? 2_000, 'connectTimeoutMs', 'PostgreSQL bus');
  }

  get live(): boolean {
    return this.#link.live;
  }

  listen(listener: BusListener): void {
    this.#link.attach(listener);
    this.#heartbeat = setInterval(() => void this.#check(), this.#heartbeatMs);
    this.#heartbeat.unref();
    void this.#check();
  }

  ready(timeoutMs = 5_000): Promise<void> {
    return this.#link.wait(timeoutMs, `LISTEN on PostgreSQL channel "${this.#channel}"`);
  }

  async publish(message: Invalidation): Promise<void> {
    await this.#backlog.send(this.#origin, message, MAX_PAYLOAD_BYTES, (text) => {
      this.#pool ??= this.#newPool();
      return this.#pool.query('SELECT pg_notify($1, $2)', [this.#channel, text]);
    });
  }

  async close(): Promise<void> {
    this.#link.close();
    clearInterval(this.#heartbeat);
    const client = this.#client;
    this.#client = undefined;
    const pool = this.#pool;
    this.#pool = undefined;
    client?.removeAllListeners().on('error', () => {});
    await Promise.all([client?.end().catch(() => {}), pool?.end().catch(() => {})]);
  }

  /** Heartbeat: (re)connect when there is no listening connection, else check the one there is. */
  async #check(): Promise<void> {
    if (this.#checking || this.#link.closed) return;
    this.#checking = true;
    try {
      const client = this.#client;
      if (client === undefined) {
        if (Date.now() >= this.#retryAt) await this.#subscribe();
        return;
      }
      try {
        await withTimeout(client.query('SELECT 1'), this.#heartbeatTimeoutMs, 'PostgreSQL bus heartbeat');
        if (!this.#backlog.empty) await this.publish({ keys: [] }).catch(() => {});
      } catch (error) {
        this.#drop(client, error);
      }
    } finally {
      this.#checking = false;
    }
  }

  async #subscribe(): Promise<void> {
    const { Client } = loadPg();
    const client = new Client({ connectionString: this.#url, connectionTimeoutMillis: this.#connectTimeoutMs, keepAlive: true, application_name: `njkc-listen:${this.#channel}`.slice(0, 63) });
    this.#client = client;
    client.on('error', (error) => this.#drop(client, error));
    client.on('end', () => this.#drop(client, 'connection ended'));
    client.on('notification', (notification) => {
      if (this.#client !== client || notification.channel !== this.#channel || notification.payload === undefined) return;
      const message = decode(notification.payload, this.#origin);
      if (message !== undefined) this.#link.invalidate(message);
    });
    try {
      await client.connect();
      // In autocommit, LISTEN has taken effect once it returns: every later NOTIFY reaches us.
      await client.query(`LISTEN ${quoteIdent(this.#channel)}`);
      if (this.#client !== client || this.#link.closed) return;
      this.#failures = 0;
      this.#link.up();
    } catch (error) {
      this.#drop(client, error);
    }
  }

  /** Forget a broken listening connection; the heartbeat opens a new one, backing off to 2 s. */
  #drop(client: PgClient, reason: unknown): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#failures += 1;
    this.#retryAt = Date.now() + Math.min(this.#failures * 100, 2_000);
    client.removeAllListeners().on('error', () => {});
    client.end().catch(() => {});
    this.#link.down(reason);
  }

  #newPool(): PgPool {
    const { Pool } = loadPg();
    const pool = new Pool({ connectionString: this.#url, max: 2, connectionTimeoutMillis: this.#connectTimeoutMs, keepAlive: true, application_name: `njkc-notify:${this.#channel}`.slice(0, 63) });
    pool.on('error', () => {});
    return pool;
  }
}
