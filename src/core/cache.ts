import { EventEmitter } from 'node:events';
import { createStore } from '../stores/create-store.js';
import type { Store, StoreUsage } from '../stores/types.js';
import type { Clock } from './clock.js';
import { Entries } from './entries.js';
import { freshness } from './envelope.js';
import { CacheError, StoreTimeoutError } from './errors.js';
import { Fetcher, type Settled } from './fetcher.js';
import { Flights } from './flights.js';
import { GuardedStore } from './guarded-store.js';
import { StoreGuard } from './guard.js';
import { fragmentKey, makeKey, tagKey, viewKey, type KeyFunction } from './keys.js';
import { resolveOptions, type CacheOptions } from './options.js';
import { StatsRecorder, type CacheStats } from './stats.js';
import { TagTokens } from './tag-tokens.js';
import { describe, type TtlInput, type TtlSeconds } from './ttl.js';
import type { CacheEvents, FetchOptions, FetchResult, LeaseOptions, LeaseResult, Producer, WriteOptions } from './types.js';

export type { CacheOptions } from './options.js';
export type { CacheErrorEvent, CacheEvents, CommitOptions, FetchOptions, FetchResult, FetchStatus, InvalidateEvent, Lease, LeaseOptions, LeaseResult, LookupEvent, Producer, WriteOptions } from './types.js';

const MISSING = Symbol('missing');

/**
 * A cache over one store — Django's `BaseCache`: a few guarded store primitives, and everything
 * else (get-or-set, versions, many-ops, tags, single-flight, stale-while-revalidate) composed once
 * on top. Obtain one with `createCache()`.
 *
 * Every method takes your key; the stored key is `makeKey(key)`: prefix, version, your key.
 */
export class Cache extends EventEmitter<CacheEvents> {
  readonly store: Store;
  readonly keyPrefix: string;
  readonly version: number;
  readonly defaultTtl: TtlSeconds;
  readonly keyFunction: KeyFunction;
  readonly clock: Clock;
  readonly failOpen: boolean;
  /** Values bigger than this (bytes, serialised) are not stored. */
  readonly maxEntryBytes: number;
  /** Default stale-while-revalidate window, seconds. */
  readonly staleTtl: number;
  readonly #io: GuardedStore;
  readonly #stats = new StatsRecorder();
  readonly #flights = new Flights<Settled>();
  readonly #tags: TagTokens;
  readonly #entries: Entries;
  readonly #fetcher: Fetcher;
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #keys = new Map<string, string>();
  readonly #connected: Promise<void>;

  constructor(options: CacheOptions = {}) {
    super();
    const o = resolveOptions(options);
    this.store = createStore(options.store);
    this.keyPrefix = o.keyPrefix;
    this.version = o.version;
    this.defaultTtl = o.defaultTtl;
    this.keyFunction = o.keyFunction;
    this.clock = o.clock;
    this.failOpen = o.failOpen;
    this.maxEntryBytes = o.maxEntryBytes;
    this.staleTtl = o.staleTtl;
    const guard = new StoreGuard({
      timeoutMs: o.timeoutMs,
      breaker: o.breaker,
      clock: o.clock,
      onFailure: (error, operation) => {
        if (error instanceof StoreTimeoutError) this.#stats.count('timeouts');
        this.#report(error, operation);
      },
      onRecover: () => this.emit('recover'),
    });
    this.#io = new GuardedStore(this.store, guard, o.failOpen);
    this.#tags = new TagTokens(this.#io, (tag) => this.makeKey(tagKey(tag)), o.clock);
    this.#entries = new Entries({ io: this.#io, tags: this.#tags, flights: this.#flights, stats: this.#stats, clock: o.clock, defaultTtl: o.defaultTtl, staleTtl: o.staleTtl, maxEntryBytes: o.maxEntryBytes });
    this.#fetcher = new Fetcher({
      io: this.#io,
      entries: this.#entries,
      tags: this.#tags,
      flights: this.#flights,
      stats: this.#stats,
      clock: o.clock,
      lock: o.lock,
      emit: (event, payload) => this.emit(event, payload),
      emitCoalesced: (payload) => this.emit('coalesced', payload),
      report: (error, operation) => this.#report(error, operation),
    });
    // Another process's invalidation cancels the store of our renders of those keys, as ours do.
    this.store.subscribe?.((change) => (change === 'clear' ? this.#flights.detachAll() : this.#flights.detachKeys(change)));
    // Load the driver and connect in the background, so the first request does not pay for it
    // (and does not run into the operation timeout). Failures surface as ordinary store errors.
    this.#connected = this.store.connect === undefined ? Promise.resolve() : this.store.connect();
    this.#connected.catch(() => {});
  }

  /**
   * Wait until the store is connected (optional; useful at start-up and in tests). Rejects when
   * the store cannot be reached within `timeoutMs` milliseconds (default 5 000).
   */
  async connect(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CacheError('ERR_CACHE_STORE_TIMEOUT', `Could not reach the ${this.store.kind} store within ${timeoutMs} ms. Is it running, and is the URL right?`)), timeoutMs);
    });
    try {
      await Promise.race([this.#connected, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The stored key for `key` (prefix, version, hashing applied) — what lands in the store. */
  makeKey(key: string, version?: number): string {
    if (version !== undefined && version !== this.version) return makeKey(key, this.keyPrefix, version, this.keyFunction);
    // Renders build the same keys over and over: memoise the default version's (bounded).
    let stored = this.#keys.get(key);
    if (stored === undefined) {
      stored = makeKey(key, this.keyPrefix, this.version, this.keyFunction);
      if (this.#keys.size >= 10_000) this.#keys.clear();
      this.#keys.set(key, stored);
    }
    return stored;
  }

  // ---------------------------------------------------------------- Django's low-level API

  /** The value, or `defaultValue` when absent, expired, invalidated by a tag, or the store failed. */
  async get<T = unknown>(key: string, defaultValue?: T, version?: number): Promise<T | undefined> {
    const [envelope] = await this.#entries.readValid([this.makeKey(key, version)], 'get');
    return envelope === undefined ? defaultValue : (envelope.v as T);
  }

  /** Store `value` for `ttl` seconds (default: the cache's; `null`: forever; `0` or less: remove). Returns whether it was stored. */
  async set(key: string, value: unknown, ttl?: TtlInput, options: WriteOptions = {}): Promise<boolean> {
    return this.#entries.write(this.makeKey(key, options.version), value, ttl, options);
  }

  /** Store only if the key holds nothing (atomic within this process). Returns whether it stored. */
  async add(key: string, value: unknown, ttl?: TtlInput, options: WriteOptions = {}): Promise<boolean> {
    const k = this.makeKey(key, options.version);
    return this.#exclusive(k, async () => {
      const [existing] = await this.#entries.readValid([k], 'add');
      return existing === undefined && this.#entries.write(k, value, ttl, options);
    });
  }

  /**
   * The cached value, or the result of `valueOrProducer` (a value, or a function called only on a
   * miss), stored and returned. Concurrent misses for one key call the producer once.
   */
  async getOrSet<T>(key: string, valueOrProducer: T | Producer<T>, ttl?: TtlInput, options: WriteOptions & { label?: string } = {}): Promise<T> {
    const producer = typeof valueOrProducer === 'function' ? (valueOrProducer as Producer<T>) : () => valueOrProducer;
    return (await this.fetch(key, producer, { ...options, ttl })).value;
  }

  /** The values found, by key; absent keys are left out (Django's `get_many`). */
  async getMany<T = unknown>(keys: readonly string[], version?: number): Promise<Map<string, T>> {
    const found = await this.#entries.readValid(keys.map((key) => this.makeKey(key, version)), 'getMany');
    const result = new Map<string, T>();
    keys.forEach((key, i) => {
      const envelope = found[i];
      if (envelope !== undefined) result.set(key, envelope.v as T);
    });
    return result;
  }

  /** Store several values in one store call. Returns the keys that could not be stored (Django's `set_many`). */
  async setMany(values: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>, ttl?: TtlInput, options: WriteOptions = {}): Promise<string[]> {
    const entries = values instanceof Map ? [...values.entries()] : Object.entries(values);
    const byStoredKey = new Map(entries.map(([key]) => [this.makeKey(key, options.version), key]));
    const failed = await this.#entries.writeMany(entries.map(([key, value]) => [this.makeKey(key, options.version), value] as const), ttl, options);
    return failed.map((k) => byStoredKey.get(k) ?? k);
  }

  /**
   * Remove a key; returns whether something was there. An in-flight render of it will not be
   * stored. Invalidations never fail open: a store error throws, because a lost invalidation
   * would keep serving the old value.
   */
  async delete(key: string, version?: number): Promise<boolean> {
    const k = this.makeKey(key, version);
    this.#flights.detachKeys([k]);
    const removed = await this.#io.strict('delete', () => this.store.delete(k));
    this.#stats.count('deletes');
    this.emit('invalidate', { kind: 'keys', keys: [k] });
    return removed;
  }

  async deleteMany(keys: readonly string[], version?: number): Promise<void> {
    const ks = keys.map((key) => this.makeKey(key, version));
    this.#flights.detachKeys(ks);
    await this.#io.strict('deleteMany', () => this.store.deleteMany(ks));
    this.#stats.count('deletes', ks.length);
    this.emit('invalidate', { kind: 'keys', keys: ks });
  }

  async has(key: string, version?: number): Promise<boolean> {
    return (await this.get<unknown>(key, MISSING, version)) !== MISSING;
  }

  /** Give an existing key a new TTL from now. Returns whether the key existed. */
  async touch(key: string, ttl?: TtlInput, version?: number): Promise<boolean> {
    const k = this.makeKey(key, version);
    return this.#exclusive(k, async () => {
      const [envelope] = await this.#entries.readValid([k], 'touch');
      if (envelope === undefined) return false;
      const staleTtl = envelope.exp !== null && envelope.fresh !== null ? (envelope.exp - envelope.fresh) / 1000 : undefined;
      const tokens = new Map(Object.entries(envelope.tags ?? {}));
      await this.#entries.write(k, envelope.v, ttl, staleTtl === undefined ? {} : { staleTtl }, { digest: envelope.dg, ms: envelope.ms, tokens });
      return true;
    });
  }

  /** Add `delta` to a stored number and return the result. Throws when the key is absent, like Django. */
  async incr(key: string, delta = 1, version?: number): Promise<number> {
    const k = this.makeKey(key, version);
    return this.#exclusive(k, async () => {
      // Counting must not fail open: a silently lost increment is worse than an error.
      const envelope = this.#entries.open(await this.#io.strict('incr', () => this.store.get(k)));
      if (envelope === undefined || freshness(envelope, this.clock.now()) === 'expired') {
        throw new CacheError('ERR_CACHE_MISSING_KEY', `Key "${key}" not found; set it before incrementing it.`);
      }
      if (typeof envelope.v !== 'number') {
        throw new CacheError('ERR_CACHE_NOT_A_NUMBER', `Key "${key}" holds ${describe(envelope.v)}, not a number; it cannot be incremented.`);
      }
      const next = envelope.v + delta;
      await this.#io.strict('incr', () => this.store.set(k, { ...envelope, v: next }, this.#entries.remainingMs(envelope)));
      return next;
    });
  }

  async decr(key: string, delta = 1, version?: number): Promise<number> {
    return this.incr(key, -delta, version);
  }

  /**
   * Move a key to a higher version and return the new version (Django's `incr_version`): the old
   * version is removed, so readers at the old version miss. The remaining TTL is kept.
   */
  async incrVersion(key: string, delta = 1, version?: number): Promise<number> {
    const from = version ?? this.version;
    const to = from + delta;
    // Like incr, this must not fail open: a store error is not "key not found".
    const envelope = this.#entries.open(await this.#io.strict('incrVersion', () => this.store.get(this.makeKey(key, from))));
    if (envelope === undefined || freshness(envelope, this.clock.now()) === 'expired') {
      throw new CacheError('ERR_CACHE_MISSING_KEY', `Key "${key}" not found at version ${from}; nothing to move to version ${to}.`);
    }
    // Written before the old version is removed, and never failing open: the value must not be lost.
    await this.#io.strict('incrVersion', () => this.store.set(this.makeKey(key, to), envelope, this.#entries.remainingMs(envelope)));
    await this.delete(key, from);
    return to;
  }

  async decrVersion(key: string, delta = 1, version?: number): Promise<number> {
    return this.incrVersion(key, -delta, version);
  }

  /**
   * Remove every entry in the store's namespace ("njkc" for stores built from a URL), whatever its
   * key prefix, as Django's `clear()` empties the whole backend. Keys outside the namespace (other
   * applications on the same Redis or database) are kept.
   */
  async clear(): Promise<void> {
    this.#flights.detachAll();
    await this.#io.strict('clear', () => this.store.clear());
    this.#stats.count('invalidations');
    this.emit('invalidate', { kind: 'clear' });
  }

  async close(): Promise<void> {
    if (this.#io.closed) return;
    this.#io.closed = true;
    this.#io.guard.close();
    await this.store.close();
  }

  // ---------------------------------------------------------------- beyond Django

  /** Remove one fragment, exactly as the `cache` tag keyed it. */
  async invalidateFragment(name: string, varyOn: readonly unknown[] = []): Promise<boolean> {
    this.#stats.count('invalidations');
    return this.delete(fragmentKey(name, varyOn));
  }

  /** Remove one `renderView` entry. */
  async invalidateView(template: string, key?: string | number, version?: number): Promise<boolean> {
    this.#stats.count('invalidations');
    return this.delete(viewKey(template, key), version);
  }

  /**
   * Make every entry carrying any of `tags` miss: one new generation token per tag, whatever the
   * number of entries (no key scans). Renders already under way with these tags are not stored.
   */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    this.#flights.detachTags(tags, tags.map((tag) => this.#tags.key(tag)));
    const keys = await this.#tags.bump(tags);
    this.#stats.count('invalidations', tags.length);
    this.emit('invalidate', { kind: 'tags', tags: [...tags], keys });
  }

  /**
   * The engine under fragments, views, pages and `getOrSet`: look `key` up and, on a miss, call
   * `producer` once however many callers ask at the same time, store its result and return it.
   * Inside the stale window an expired value is returned at once and refreshed in the background.
   */
  fetch<T>(key: string, producer: Producer<T>, options: FetchOptions = {}): Promise<FetchResult<T>> {
    return this.#fetcher.fetch(this.makeKey(key, options.version), producer, options);
  }

  /**
   * The lease under `fetch`, for callers that decide what to store only after producing (a page
   * learns whether it may be stored once the app has answered). Looks `key` up; on a hit returns
   * the value (a stale one with a `refresh` lease when no refresh is under way here); on a miss
   * joins the flight already producing it (here, or another process's through the `lock`), or
   * returns a `lease`. Commit the produced value with `lease.commit(value, { ttl, tags, staleTtl })`
   * or give up with `lease.abandon()`; always do one of the two, or joiners wait. Any invalidation
   * of the key, its tags or the cache after the lease was taken makes the commit a no-op.
   */
  lease<T = unknown>(key: string, options: LeaseOptions = {}): Promise<LeaseResult<T>> {
    return this.#fetcher.lease<T>(this.makeKey(key, options.version), options);
  }

  /**
   * Synchronous warm hit, for hot paths: the result when the store holds a fresh entry for `key`
   * in this process (the memory store, or a first tier) and its tags are current; `undefined`
   * otherwise — then call `fetch`. Only immutable values (strings, numbers, booleans, null) are
   * served this way, so no caller can mutate a shared object.
   */
  peek(key: string, options: FetchOptions = {}): FetchResult<string | number | boolean | null> | undefined {
    return this.#fetcher.peek(this.makeKey(key, options.version), options);
  }

  /** Counters since start (or `resetStats`), overall and per label (fragment name, view, page). */
  stats(): CacheStats {
    return this.#stats.snapshot(this.#io.guard.state);
  }

  resetStats(): void {
    this.#stats.reset();
  }

  /** Entries and bytes held, where the store can tell. */
  async usage(): Promise<StoreUsage> {
    return this.store.usage ? this.store.usage() : {};
  }

  #report(error: unknown, operation: string): void {
    this.#stats.count('errors');
    if (this.listenerCount('error') > 0) this.emit('error', { error, operation });
  }

  /** Run `fn` after any other exclusive work on `k` in this process (add, touch, incr). */
  async #exclusive<T>(k: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(k) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => {});
    this.#locks.set(k, tail);
    void tail.then(() => {
      if (this.#locks.get(k) === tail) this.#locks.delete(k);
    });
    return next;
  }
}

/** Create a cache. `createCache({ store: 'redis://127.0.0.1:6379' })`. */
export function createCache(options: CacheOptions = {}): Cache {
  return new Cache(options);
}
