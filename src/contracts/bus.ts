/**
 * The invalidation bus contract: how processes sharing one store tell each other which keys
 * changed, so each can drop them from its first tier. Redis pub/sub and PostgreSQL LISTEN/NOTIFY
 * implement it (src/stores/bus-redis.ts, bus-postgres.ts); the first tier consumes it.
 *
 * Delivery is at most once (neither transport stores messages), so a bus also reports when it may
 * have missed some: `down` when the subscription is lost or its heartbeat is late, `up` once the
 * server has confirmed a new subscription. A first tier trusts nothing it holds across a `down`.
 */

/** What changed in the shared store: some keys, or everything in its namespace. */
export type Invalidation = { readonly keys: readonly string[] } | 'clear';

export interface BusListener {
  /** Another process changed these keys, or cleared the store. */
  invalidate(message: Invalidation): void;
  /** From now on messages may be missed (connection lost, heartbeat late). */
  down(reason: unknown): void;
  /** Subscribed and confirmed by the server: every message published from now on arrives. */
  up(): void;
}

export interface InvalidationBus {
  /** "redis" or "postgres", for error messages. */
  readonly kind: string;
  /** Subscribed and confirmed (between an `up` and the next `down`). */
  readonly live: boolean;
  /** Start listening; one listener per bus. Connection work happens in the background. */
  listen(listener: BusListener): void;
  /** Resolves once `connected`, or rejects after `timeoutMs` (default 5 000). */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * Tell every other process. Resolves once the server accepted the message; rejects when it could
   * not be sent, and then keeps it to send again as soon as the connection is back.
   */
  publish(message: Invalidation): Promise<void>;
  close(): Promise<void>;
}
