import { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';
import { StoreSpecError } from '../contracts/errors.js';
import type { Invalidation, InvalidationBus } from '../contracts/bus.js';
import type { EpochMs } from '../contracts/clock.js';
import { copy, hold, normalise, type Held } from './tier-values.js';
import type { Store, StoreEntry, StoreUsage } from '../contracts/store.js';
import { checkMs } from '../shared/ms.js';

export interface TieredStoreOptions {
  /**
   * How this process hears about other processes' writes (`createRedisBus`, `createPostgresBus`).
   * `null` only when no other process writes to the shared store: nothing would tell this one.
   */
  bus: InvalidationBus | null;
  /** Byte budget of the first tier (default 32 MiB). Least recently used entries go first. */
  maxBytes?: number;
  /**
   * Longest an entry stays in the first tier, ms (default: its own TTL). A bound on staleness
   * should an invalidation be lost in a way the bus cannot notice.
   */
  maxAgeMs?: number;
  /**
   * The absolute expiry a value carries, epoch ms (`undefined`: none it can tell). A value read
   * from the shared store comes without a TTL, so this bounds how long the tier keeps it. The tier
   * knows nothing of what the cache stores: `createTieredStore` passes the cache's own reader of
   * its envelopes; without one, a value read is kept until evicted, invalidated or `maxAgeMs`.
   */
  expiryOf?: (value: unknown) => EpochMs | undefined;
}

export interface TierEvents {
  /** Another process's invalidation was applied to this first tier. */
  invalidate: [Invalidation];
  /** The bus may miss messages: the first tier is dropped and not used until `up`. */
  down: [unknown];
  /** The bus is subscribed again: the first tier starts empty and is used again. */
  up: [];
}

/** Counters of the first tier, for dashboards and tests. */
export interface TierStats {
  /** Whether the first tier is in use (the bus is subscribed, or there is no bus). */
  live: boolean;
  entries: number;
  bytes: number;
  maxBytes: number;
  /** Reads answered by the first tier (`get`, `getMany` per key, `peek`). */
  hits: number;
  /** Keys read from the shared store. */
  misses: number;
  /** Invalidations from other processes applied here. */
  invalidations: number;
}

export const DEFAULT_TIER_BYTES = 32 * 1024 * 1024;
const ENTRY_OVERHEAD_BYTES = 96;

/** An entry of the first tier: a held value and when it expires (epoch ms; `undefined`: never). */
interface Entry extends Held {
  readonly expires: number | undefined;
}
/** Past this many keys touched during reads in flight, all those reads simply skip filling. */
const MAX_TOUCHED = 100_000;

/**
 * A bounded in-process first tier in front of a shared store. A warm hit costs no round trip
 * (and `peek` answers it synchronously). Reads fill the tier; writes go through to the shared
 * store, then update the tier and are published on the bus, so every other process drops those
 * keys. That covers every invalidation the cache makes (a tag invalidation is a write of a new
 * token to its `tag:` key, a version bump a write and a delete, `clear` a clear), each O(1).
 *
 * Coherence: an entry is never filled from a read that overlapped a write or an invalidation of
 * its key (the read may have returned the old value after the message arrived); while the bus is
 * down the tier is empty and unused, and it starts empty again once the bus is back.
 */
export class TieredStore extends EventEmitter<TierEvents> implements Store {
  readonly kind: string;
  readonly shared: Store;
  readonly bus: InvalidationBus | null;
  readonly createTable?: () => Promise<void>;
  readonly onReady?: (listener: () => void) => unknown;
  readonly sweep?: () => Promise<number>;
  readonly #lru: LRUCache<string, Entry>;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number | undefined;
  readonly #expiryOf: (value: unknown) => EpochMs | undefined;
  #serving: boolean;
  /** Bumped by every invalidation seen here; reads note it when they start. */
  #epoch = 0;
  /** Epoch of the last wholesale drop. */
  #clearedAt = 0;
  /** Epoch at which each key was last invalidated, kept only while some operation is in flight. */
  readonly #touched = new Map<string, number>();
  #inFlight = 0;
  readonly #counts = { hits: 0, misses: 0, invalidations: 0 };

  constructor(shared: Store, options: TieredStoreOptions) {
    super();
    if (options === undefined || options.bus === undefined) {
      throw new StoreSpecError('createTieredStore needs a "bus" (createRedisBus(url), createPostgresBus(url)), or bus: null when no other process writes to the shared store.');
    }
    this.shared = shared;
    this.bus = options.bus;
    this.kind = `memory+${shared.kind}`;
    this.#maxBytes = options.maxBytes ?? DEFAULT_TIER_BYTES;
    if (!Number.isInteger(this.#maxBytes) || this.#maxBytes <= 0) throw new StoreSpecError(`first tier "maxBytes" must be a positive whole number of bytes; got ${String(options.maxBytes)}.`);
    if (options.maxAgeMs !== undefined) checkMs(options.maxAgeMs, 'maxAgeMs', 'first tier');
    this.#maxAgeMs = options.maxAgeMs;
    this.#expiryOf = options.expiryOf ?? (() => undefined);
    // Expiry is checked here on every read rather than given to lru-cache, whose per-entry TTL
    // bookkeeping costs time on every hit; expired entries wait for eviction within the budget.
    this.#lru = new LRUCache<string, Entry>({
      maxSize: this.#maxBytes,
      sizeCalculation: (entry, key) => entry.bytes + 2 * key.length + ENTRY_OVERHEAD_BYTES,
      maxEntrySize: this.#maxBytes,
    });
    if (shared.createTable) this.createTable = () => shared.createTable!();
    if (shared.sweep) this.sweep = () => shared.sweep!();
    if (shared.onReady) this.onReady = (listener) => shared.onReady!(listener);
    this.#serving = this.bus === null;
    this.bus?.listen({
      invalidate: (message) => this.#applyRemote(message),
      down: (reason) => this.#setServing(false, reason),
      up: () => this.#setServing(true, undefined),
    });
  }

  /** The value this process holds for `key`, frozen (read-only); `undefined` when not held here. */
  peek(key: string): unknown {
    const held = this.#held(key);
    if (held === undefined) return undefined;
    this.#counts.hits += 1;
    return held.value;
  }

  async get(key: string): Promise<unknown> {
    const held = this.#held(key);
    if (held !== undefined) {
      this.#counts.hits += 1;
      return copy(held.value);
    }
    this.#counts.misses += 1;
    const start = this.#begin();
    try {
      const value = await this.shared.get(key);
      this.#fillFromRead(key, value, start);
      return value;
    } finally {
      this.#end();
    }
  }

  async getMany(keys: readonly string[]): Promise<unknown[]> {
    const out: unknown[] = new Array(keys.length);
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const held = this.#held(key);
      if (held === undefined) missing.push(i);
      else out[i] = copy(held.value);
    });
    this.#counts.hits += keys.length - missing.length;
    if (missing.length === 0) return out;
    this.#counts.misses += missing.length;
    const start = this.#begin();
    try {
      const values = await this.shared.getMany(missing.map((i) => keys[i] as string));
      missing.forEach((i, j) => {
        out[i] = values[j];
        this.#fillFromRead(keys[i] as string, values[j], start);
      });
      return out;
    } finally {
      this.#end();
    }
  }

  async set(key: string, value: unknown, ttlMs: number | undefined): Promise<void> {
    await this.setMany([{ key, value, ttlMs }]);
  }

  async setMany(entries: readonly StoreEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const keys = entries.map((entry) => entry.key);
    await this.#write(keys, () => this.shared.setMany(entries), (untouched) => {
      for (const entry of entries) if (untouched(entry.key)) this.#fill(entry.key, hold(normalise(entry.value)), entry.ttlMs);
    });
  }

  async delete(key: string): Promise<boolean> {
    let removed = false;
    await this.#write([key], async () => {
      removed = await this.shared.delete(key);
    });
    return removed;
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#write(keys, () => this.shared.deleteMany(keys));
  }

  async clear(): Promise<void> {
    this.#dropAll();
    this.#inFlight += 1;
    try {
      await this.shared.clear();
    } catch (error) {
      await this.bus?.publish('clear').catch(() => {});
      throw error;
    } finally {
      // Reads that overlapped the clear may carry old values: they must not fill.
      this.#dropAll();
      this.#end();
    }
    await this.bus?.publish('clear');
  }

  async connect(): Promise<void> {
    await Promise.all([this.shared.connect?.(), this.bus?.ready()]);
  }

  async close(): Promise<void> {
    this.#serving = false;
    this.#lru.clear();
    await Promise.all([this.bus?.close(), this.shared.close()]);
  }

  usage(): Promise<StoreUsage> {
    return this.shared.usage ? this.shared.usage() : Promise.resolve({});
  }

  /** The first tier's size and counters. */
  /** Other processes' invalidations, as stored keys or "clear" (see `Store.subscribe`). */
  subscribe(listener: (change: readonly string[] | 'clear') => void): () => void {
    const forward = (message: Invalidation): void => listener(message === 'clear' ? 'clear' : message.keys);
    // Once messages may be lost anything may have changed: the first tier starts over, and so must
    // whatever a subscriber kept of what it read (a render's prefetch). Reads made while the bus is
    // down go to the shared store, so its coming back changes nothing already read.
    const gap = (): void => listener('clear');
    this.on('invalidate', forward);
    this.on('down', gap);
    return () => {
      this.off('invalidate', forward);
      this.off('down', gap);
    };
  }

  tierStats(): TierStats {
    return { live: this.#serving, entries: this.#lru.size, bytes: this.#lru.calculatedSize, maxBytes: this.#maxBytes, ...this.#counts };
  }

  // ---------------------------------------------------------------- internals

  /**
   * Write-through for `keys`: invalidate them here, write the shared store, invalidate them again
   * (reads that overlapped the write may have fetched the old value), let `fill` put the new
   * values in unless something else touched a key meanwhile, then tell the other processes.
   */
  async #write(keys: readonly string[], write: () => Promise<void>, fill?: (untouched: (key: string) => boolean) => void): Promise<void> {
    this.#inFlight += 1;
    try {
      const first = this.#touch(keys);
      await write();
      const mine = new Set(keys.filter((key) => this.#touched.get(key) === first && this.#clearedAt < first));
      this.#touch(keys);
      if (fill !== undefined && this.#serving) fill((key) => mine.has(key));
    } catch (error) {
      this.#touch(keys);
      // A failed write may still have landed (a timeout, a lost reply): tell the others anyway;
      // dropping a key is harmless. The write's own error is the one to report.
      await this.bus?.publish({ keys }).catch(() => {});
      throw error;
    } finally {
      this.#end();
    }
    await this.bus?.publish({ keys });
  }

  #applyRemote(message: Invalidation): void {
    this.#counts.invalidations += 1;
    if (message === 'clear') this.#dropAll();
    else this.#touch(message.keys);
    this.emit('invalidate', message);
  }

  #setServing(serving: boolean, reason: unknown): void {
    // Either way the tier starts over: entries kept across a gap in the messages can be stale.
    this.#dropAll();
    if (this.#serving === serving) return;
    this.#serving = serving;
    if (serving) this.emit('up');
    else this.emit('down', reason);
  }

  /** Invalidate `keys` here; returns the epoch of this invalidation. */
  #touch(keys: readonly string[]): number {
    const epoch = ++this.#epoch;
    for (const key of keys) {
      this.#lru.delete(key);
      if (this.#inFlight > 0) this.#touched.set(key, epoch);
    }
    if (this.#touched.size > MAX_TOUCHED) {
      // Too much to track: let every read in flight skip filling instead (the tier keeps its entries).
      this.#touched.clear();
      this.#clearedAt = ++this.#epoch;
    }
    return epoch;
  }

  #dropAll(): void {
    this.#lru.clear();
    this.#touched.clear();
    this.#clearedAt = ++this.#epoch;
  }

  #begin(): number {
    this.#inFlight += 1;
    return this.#epoch;
  }

  #end(): void {
    this.#inFlight -= 1;
    if (this.#inFlight === 0) this.#touched.clear();
  }

  #fillFromRead(key: string, value: unknown, start: number): void {
    if (value === undefined || !this.#serving || this.#clearedAt > start || (this.#touched.get(key) ?? 0) > start) return;
    const exp = this.#expiryOf(value);
    const ttlMs = exp === undefined ? undefined : exp - Date.now();
    if (ttlMs !== undefined && ttlMs <= 0) return;
    this.#fill(key, hold(copy(value)), ttlMs);
  }

  #held(key: string): Entry | undefined {
    if (!this.#serving) return undefined;
    const entry = this.#lru.get(key);
    if (entry === undefined || entry.expires === undefined || Date.now() < entry.expires) return entry;
    this.#lru.delete(key);
    return undefined;
  }

  #fill(key: string, held: Held | undefined, ttlMs: number | undefined): void {
    if (held === undefined) return;
    const ttl = this.#maxAgeMs === undefined ? ttlMs : Math.min(ttlMs ?? Infinity, this.#maxAgeMs);
    this.#lru.set(key, { value: held.value, bytes: held.bytes, expires: ttl === undefined ? undefined : Date.now() + ttl });
  }
}
