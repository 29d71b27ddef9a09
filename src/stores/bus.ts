/**
 * What the Redis and PostgreSQL buses share: the message encoding, the backlog of messages that
 * could not be sent, readiness, and the link that keeps a subscription alive. The contract they
 * implement is `InvalidationBus` (src/contracts/bus.ts).
 */
import { randomBytes } from 'node:crypto';
import { CacheError, StoreSpecError } from '../contracts/errors.js';
import { withTimeout } from '../shared/timeout.js';
import type { BusListener, Invalidation, InvalidationBus } from '../contracts/bus.js';

/** Identifies this process's messages, so it ignores its own. */
export function newOrigin(): string {
  return randomBytes(9).toString('base64url');
}

interface Wire {
  /** Origin. */
  o: string;
  /** Keys; absent for a clear. */
  k?: string[];
}

/**
 * Encode one invalidation as messages of at most `maxBytes` each (PostgreSQL's NOTIFY payload is
 * limited to 8 000 bytes). A key too long for any message turns the invalidation into a clear.
 */
export function encode(origin: string, message: Invalidation, maxBytes: number): string[] {
  if (message === 'clear') return [JSON.stringify({ o: origin } satisfies Wire)];
  const out: string[] = [];
  const head = Buffer.byteLength(JSON.stringify({ o: origin, k: [] }));
  let batch: string[] = [];
  let bytes = head;
  for (const key of message.keys) {
    const size = Buffer.byteLength(JSON.stringify(key)) + 1;
    if (head + size > maxBytes) return encode(origin, 'clear', maxBytes);
    if (bytes + size > maxBytes) {
      out.push(JSON.stringify({ o: origin, k: batch } satisfies Wire));
      batch = [];
      bytes = head;
    }
    batch.push(key);
    bytes += size;
  }
  if (batch.length > 0) out.push(JSON.stringify({ o: origin, k: batch } satisfies Wire));
  return out;
}

/** The invalidation in `text`, or `undefined` when it is this process's own or not ours at all. */
export function decode(text: string, origin: string): Invalidation | undefined {
  let wire: Partial<Wire>;
  try {
    wire = JSON.parse(text) as Partial<Wire>;
  } catch {
    return undefined;
  }
  if (typeof wire !== 'object' || wire === null || typeof wire.o !== 'string' || wire.o === origin) return undefined;
  if (wire.k === undefined) return 'clear';
  if (!Array.isArray(wire.k) || !wire.k.every((key) => typeof key === 'string')) return undefined;
  return { keys: wire.k };
}

/**
 * Invalidations that could not be sent, merged: sending them late is safe because dropping a key
 * is idempotent and order does not matter. Past `maxKeys` it collapses into one clear.
 */
export class Backlog {
  #keys = new Set<string>();
  #clear = false;

  constructor(readonly maxKeys = 10_000) {}

  get empty(): boolean {
    return !this.#clear && this.#keys.size === 0;
  }

  add(message: Invalidation): void {
    if (this.#clear) return;
    if (message === 'clear') {
      this.#clear = true;
      this.#keys.clear();
      return;
    }
    for (const key of message.keys) this.#keys.add(key);
    if (this.#keys.size > this.maxKeys) this.add('clear');
  }

  /**
   * Send `message`, and everything held back from earlier failures with it (order does not
   * matter, promptness does), as texts of at most `maxBytes`; on failure hold all of it again.
   */
  async send(origin: string, message: Invalidation, maxBytes: number, sendText: (text: string) => Promise<unknown>): Promise<void> {
    const held = this.take();
    try {
      const texts = [...(held === undefined ? [] : encode(origin, held, maxBytes)), ...encode(origin, message, maxBytes)];
      await Promise.all(texts.map(sendText));
    } catch (error) {
      if (held !== undefined) this.add(held);
      this.add(message);
      throw error;
    }
  }

  /** Everything held, emptied. */
  take(): Invalidation | undefined {
    if (this.empty) return undefined;
    const message: Invalidation = this.#clear ? 'clear' : { keys: [...this.#keys] };
    this.#keys = new Set();
    this.#clear = false;
    return message;
  }
}

/** Resolves when `isLive()` turns true (checked on `wake`), or rejects after `timeoutMs`. */
export class Readiness {
  #waiters = new Set<() => void>();

  wake(): void {
    for (const resolve of this.#waiters) resolve();
    this.#waiters.clear();
  }

  async wait(isLive: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (isLive()) return;
    let resolve!: () => void;
    const woken = new Promise<void>((r) => (resolve = r));
    this.#waiters.add(resolve);
    try {
      await withTimeout(woken, timeoutMs, what);
    } finally {
      this.#waiters.delete(resolve);
    }
  }
}

/**
 * The state every bus shares: whether its subscription is confirmed (`live`), its one listener,
 * and who waits for it to go live. A bus calls `up()` when the server confirms the subscription
 * and `down(reason)` when messages may be missed from then on.
 */
export class BusLink {
  readonly #readiness = new Readiness();
  #listener: BusListener | undefined;
  #live = false;
  #closed = false;

  get live(): boolean {
    return this.#live;
  }

  get closed(): boolean {
    return this.#closed;
  }

  attach(listener: BusListener): void {
    if (this.#listener !== undefined) throw new CacheError('ERR_CACHE_OPTIONS', 'This invalidation bus already has a listener; create one bus per tiered store.');
    this.#listener = listener;
  }

  wait(timeoutMs: number, what: string): Promise<void> {
    return this.#readiness.wait(() => this.#live, timeoutMs, what);
  }

  invalidate(message: Invalidation): void {
    this.#listener?.invalidate(message);
  }

  up(): void {
    if (this.#live || this.#closed) return;
    this.#live = true;
    this.#listener?.up();
    this.#readiness.wake();
  }

  down(reason: unknown): void {
    if (!this.#live) return;
    this.#live = false;
    this.#listener?.down(reason);
  }

  /** Closed for good: down, and never up again. */
  close(): void {
    this.#closed = true;
    this.down('closed');
    // Whoever waits for the subscription (a store's connect()) stops waiting: it will not come.
    this.#readiness.wake();
  }
}
