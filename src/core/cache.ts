import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createStore, type StoreSpec } from '../stores/create-store.js';
import type { DistributedLock } from '../stores/lock.js';
import type { Store, StoreUsage } from '../stores/types.js';
import { systemClock, type Clock } from './clock.js';
import { isEnvelope, freshness, tagsCurrent, type Envelope } from './envelope.js';
import { CacheError, StoreTimeoutError } from './errors.js';
import { StoreGuard, type BreakerOptions, type CircuitState } from './guard.js';
import { defaultKeyFunction, fragmentKey, makeKey, tagKey, viewKey, type KeyFunction } from './keys.js';
import { StatsRecorder, type CacheStats } from './stats.js';
import { describe, resolveTtl, type TtlInput, type TtlSeconds } from './ttl.js';

export interface CacheOptions {
  /** Where values live: a URL (`"memory"`, `"sqlite://cache.db"`, `"redis://127.0.0.1:6379"`), a Keyv, an adapter or a Store. Default `"memory"`. */
  store?: StoreSpec;
  /** Prepended to every key (Django's KEY_PREFIX). Default `""`. */
  keyPrefix?: string;
  /** Default version of every key (Django's VERSION). Default 1. */
  version?: number;
  /** Seconds; `null` = never expire. Default 300 (Django's TIMEOUT). */
  defaultTtl?: TtlSeconds;
  /** Builds stored keys from key, prefix and version (Django's KEY_FUNCTION). */
  keyFunction?: KeyFunction;
  /** Longest a store call may take before the cache gives up and proceeds uncached, ms. Default 500. */
  timeoutMs?: number;
  /** `true` (default): store failures read as misses and skipped writes, reported as `error` events. `false`: they throw. */
  failOpen?: boolean;
  /** Stop calling a store that keeps failing; `false` turns it off. Default 5 failures, 5 000 ms cool-down. */
  breaker?: BreakerOptions | false;
  /** Values whose serialised size exceeds this many bytes are not stored (the caller still gets them). Default 1 MiB. */
  maxEntryBytes?: number;
  /** Default stale-while-revalidate window, seconds, for `getOrSet`, fragments and views. Default 0 (off). */
  staleTtl?: number;
  /** Time source; inject `ManualClock` in tests. */
  clock?: Clock;
  /**
   * Distributed single-flight: with a lock shared by all processes (e.g. `createRedisLock`), a cold
   * key is rendered by one process while the others wait for its result.
   */
  lock?: DistributedLock;
  /** How long a lock holder may render before its lock expires by itself, ms. Default 10 000. */
  lockTtlMs?: number;
  /** How long a process waits for another's render before rendering itself, ms. Default 5 000. */
  lockWaitMs?: number;
  /** How often a waiting process looks for the other's result, ms. Default 20. */
  lockPollMs?: number;
}

interface LockOptions {
  lock: DistributedLock;
  ttlMs: number;
  waitMs: number;
  pollMs: number;
}

export interface WriteOptions {
  /** Overrides the cache's version for this call. */
  version?: number;
  /** Tags this entry carries; `invalidateTags` on any of them makes it miss. */
  tags?: readonly string[];
  /** Seconds past the TTL during which the entry may be served stale while it is refreshed. */
  staleTtl?: number;
}

export interface FetchOptions extends WriteOptions {
  /** Seconds; as in `set`. */
  ttl?: TtlInput;
  /** Digest of whatever produced the value (a template's source); a different digest misses. */
  digest?: string;
  /** Name under which hits and misses are counted in `stats().byLabel`. */
  label?: string;
}

export type FetchStatus = 'hit' | 'miss' | 'stale';

export interface FetchResult<T> {
  value: T;
  status: FetchStatus;
  /** True when this caller waited for a lookup or render another caller had started. */
  coalesced: boolean;
}

export interface LookupEvent {
  key: string;
  label: string | undefined;
}
export interface InvalidateEvent {
  kind: 'keys' | 'tags' | 'clear';
  keys?: readonly string[];
  tags?: readonly string[];
}
export interface CacheErrorEvent {
  error: unknown;
  operation: string;
}

export interface CacheEvents {
  hit: [LookupEvent];
  miss: [LookupEvent];
  stale: [LookupEvent];
  invalidate: [InvalidateEvent];
  /** Store failures (always failed open) and failed background refreshes. Emitted only when someone listens. */
  error: [CacheErrorEvent];
  /** The store answered again after the circuit had opened. */
  recover: [];
}

interface Flight {
  promise: Promise<FetchResult<unknown>>;
  tags: readonly string[];
  /** Set by an invalidation: the render goes on for its callers but must not be stored. */
  detached: boolean;
}

const MISSING = Symbol('missing');

/**
 * A cache over one store — Django's `BaseCache`: a few guarded store primitives, and everything
 * else (get-or-set, versions, many-ops, tags, single-flight, stale-while-revalidate) composed once
 * on top. Obtain one with `createCache()`.
 */
export class Cache extends EventEmitter<CacheEvents> {
  readonly store: Store;
  readonly keyPrefix: string;
  readonly version: number;
  readonly defaultTtl: TtlSeconds;
  readonly keyFunction: KeyFunction;
  readonly clock: Clock;
  readonly failOpen: boolean;
  readonly maxEntryBytes: number;
  readonly staleTtl: number;
  readonly #guard: StoreGuard;
  readonly #lockOptions: LockOptions | undefined;
  readonly #connected: Promise<void>;
  readonly #stats = new StatsRecorder();
  readonly #flights = new Map<string, Flight>();
  readonly #refreshes = new Map<string, Flight>();
  readonly #locks = new Map<string, Promise<unknown>>();
  #closed = false;

  constructor(options: CacheOptions = {}) {
    super();
    this.store = createStore(options.store);
    this.keyPrefix = options.keyPrefix ?? '';
    this.version = checkInt(options.version ?? 1, 'version');
    this.defaultTtl = options.defaultTtl === undefined ? 300 : options.defaultTtl;
    resolveTtl(this.defaultTtl, null); // validates
    this.keyFunction = options.keyFunction ?? defaultKeyFunction;
    this.clock = options.clock ?? systemClock;
    this.failOpen = options.failOpen ?? true;
    this.maxEntryBytes = checkPositive(options.maxEntryBytes ?? 1024 * 1024, 'maxEntryBytes');
    this.staleTtl = checkNonNegative(options.staleTtl ?? 0, 'staleTtl');
    this.#lockOptions = options.lock === undefined ? undefined : {
      lock: options.lock,
      ttlMs: checkPositive(options.lockTtlMs ?? 10_000, 'lockTtlMs'),
      waitMs: checkNonNegative(options.lockWaitMs ?? 5_000, 'lockWaitMs'),
      pollMs: checkPositive(options.lockPollMs ?? 20, 'lockPollMs'),
    };
    const breaker = options.breaker === false ? false : { failureThreshold: 5, cooldownMs: 5_000, ...options.breaker };
    this.#guard = new StoreGuard({
      timeoutMs: checkPositive(options.timeoutMs ?? 500, 'timeoutMs'),
      breaker,
      clock: this.clock,
      onFailure: (error, operation) => {
        if (error instanceof StoreTimeoutError) this.#stats.count('timeouts');
        this.#report(error, operation);
      },
      onRecover: () => this.emit('recover'),
    });
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

  // ---------------------------------------------------------------- keys

  /** The stored key for `key` (prefix, version, hashing applied) — what lands in the store. */
  makeKey(key: string, version?: number): string {
    return makeKey(key, this.keyPrefix, version ?? this.version, this.keyFunction);
  }

  // ---------------------------------------------------------------- Django's low-level API

  /** The value, or `defaultValue` when absent, expired, invalidated by a tag, or the store failed. */
  async get<T = unknown>(key: string, defaultValue?: T, version?: number): Promise<T | undefined> {
    const found = await this.#getValid([this.makeKey(key, version)], 'get');
    const envelope = found[0];
    return envelope === undefined ? defaultValue : (envelope.v as T);
  }

  /** Store `value` for `ttl` seconds (default: the cache's; `null`: forever; `0` or less: remove). Returns whether it was stored. */
  async set(key: string, value: unknown, ttl?: TtlInput, options: WriteOptions = {}): Promise<boolean> {
    const k = this.makeKey(key, options.version);
    return this.#setResolved(k, value, ttl, options, undefined, undefined);
  }

  /** Store only if the key holds nothing (atomic within this process). Returns whether it stored. */
  async add(key: string, value: unknown, ttl?: TtlInput, options: WriteOptions = {}): Promise<boolean> {
    const k = this.makeKey(key, options.version);
    return this.#exclusive(k, async () => {
      const [existing] = await this.#getValid([k], 'add');
      if (existing !== undefined) return false;
      return this.#setResolved(k, value, ttl, options, undefined, undefined);
    });
  }

  /**
   * The cached value, or the result of `valueOrProducer` (a value, or a function called only on a
   * miss), stored and returned. Concurrent misses for one key call the producer once.
   */
  async getOrSet<T>(key: string, valueOrProducer: T | (() => T | Promise<T>), ttl?: TtlInput, options: WriteOptions & { label?: string } = {}): Promise<T> {
    const producer = typeof valueOrProducer === 'function' ? (valueOrProducer as () => T | Promise<T>) : () => valueOrProducer;
    const result = await this.fetch(key, producer, { ...options, ttl });
    return result.value;
  }

  /** The values found, by key; absent keys are left out (Django's `get_many`). */
  async getMany<T = unknown>(keys: readonly string[], version?: number): Promise<Map<string, T>> {
    const found = await this.#getValid(keys.map((key) => this.makeKey(key, version)), 'getMany');
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
    const resolved = resolveTtl(ttl, this.defaultTtl);
    if (resolved.kind === 'skip') {
      await this.deleteMany(entries.map(([key]) => key), options.version);
      return [];
    }
    const tokens = await this.#tokens(options.tags ?? [], true);
    if (tokens === null) return entries.map(([key]) => key);
    const writes: Array<{ key: string; value: Envelope; ttlMs: number | undefined }> = [];
    const failed: string[] = [];
    for (const [key, value] of entries) {
      const envelope = this.#envelope(value, resolved.ms, options.staleTtl, tokens, undefined, undefined);
      if (envelope === undefined) failed.push(key);
      else writes.push({ key: this.makeKey(key, options.version), value: envelope.envelope, ttlMs: envelope.ttlMs });
    }
    const ok = await this.#attempt('setMany', () => this.store.setMany(writes));
    if (!ok) return entries.map(([key]) => key);
    this.#stats.count('sets', writes.length);
    return failed;
  }

  /** Remove a key; returns whether something was there. An in-flight render of it will not be stored. */
  async delete(key: string, version?: number): Promise<boolean> {
    const k = this.makeKey(key, version);
    this.#detachKeys([k]);
    const removed = await this.#call('delete', () => this.store.delete(k), false);
    this.#stats.count('deletes');
    this.emit('invalidate', { kind: 'keys', keys: [k] });
    return removed;
  }

  async deleteMany(keys: readonly string[], version?: number): Promise<void> {
    const ks = keys.map((key) => this.makeKey(key, version));
    this.#detachKeys(ks);
    await this.#attempt('deleteMany', () => this.store.deleteMany(ks));
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
      const [envelope] = await this.#getValid([k], 'touch');
      if (envelope === undefined) return false;
      const stale = envelope.exp !== null && envelope.fresh !== null ? (envelope.exp - envelope.fresh) / 1000 : undefined;
      await this.#setResolved(k, envelope.v, ttl, stale === undefined ? {} : { staleTtl: stale }, envelope.dg, envelope.ms, envelope.tags ?? {});
      return true;
    });
  }

  /** Add `delta` to a stored number and return the result. Throws when the key is absent, like Django. */
  async incr(key: string, delta = 1, version?: number): Promise<number> {
    const k = this.makeKey(key, version);
    return this.#exclusive(k, async () => {
      // Counting must not fail open: a silently lost increment is worse than an error.
      const raw = (await this.#guard.run('incr', () => this.store.get(k)));
      const envelope = this.#open(raw);
      if (envelope === undefined || freshness(envelope, this.clock.now()) === 'expired') {
        throw new CacheError('ERR_CACHE_MISSING_KEY', `Key "${key}" not found; set it before incrementing it.`);
      }
      if (typeof envelope.v !== 'number') {
        throw new CacheError('ERR_CACHE_NOT_A_NUMBER', `Key "${key}" holds ${describe(envelope.v)}, not a number; it cannot be incremented.`);
      }
      const next = envelope.v + delta;
      const ttlMs = envelope.exp === null ? undefined : Math.max(1, envelope.exp - this.clock.now());
      await this.#guard.run('incr', () => this.store.set(k, { ...envelope, v: next }, ttlMs));
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
    const k = this.makeKey(key, from);
    const [raw] = (await this.#read('incrVersion', [k])) ?? [undefined];
    const envelope = this.#open(raw);
    if (envelope === undefined || freshness(envelope, this.clock.now()) === 'expired') {
      throw new CacheError('ERR_CACHE_MISSING_KEY', `Key "${key}" not found at version ${from}; nothing to move to version ${to}.`);
    }
    const ttlMs = envelope.exp === null ? undefined : Math.max(1, envelope.exp - this.clock.now());
    await this.#attempt('incrVersion', () => this.store.set(this.makeKey(key, to), envelope, ttlMs));
    await this.delete(key, from);
    return to;
  }

  async decrVersion(key: string, delta = 1, version?: number): Promise<number> {
    return this.incrVersion(key, -delta, version);
  }

  /** Remove every entry in this cache's namespace (other applications sharing the backend keep theirs). */
  async clear(): Promise<void> {
    for (const flight of [...this.#flights.values(), ...this.#refreshes.values()]) flight.detached = true;
    this.#flights.clear();
    this.#refreshes.clear();
    await this.#attempt('clear', () => this.store.clear());
    this.#stats.count('invalidations');
    this.emit('invalidate', { kind: 'clear' });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#guard.close();
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
    const wanted = new Set(tags);
    for (const map of [this.#flights, this.#refreshes]) {
      for (const [k, flight] of map) {
        if (flight.tags.some((tag) => wanted.has(tag))) {
          flight.detached = true;
          map.delete(k);
        }
      }
    }
    const writes = tags.map((tag) => ({ key: this.#tagKey(tag), value: newToken(this.clock), ttlMs: undefined }));
    await this.#attempt('invalidateTags', () => this.store.setMany(writes));
    this.#stats.count('invalidations', tags.length);
    this.emit('invalidate', { kind: 'tags', tags: [...tags], keys: writes.map((w) => w.key) });
  }

  /**
   * The engine under fragments, views, pages and `getOrSet`: look `key` up and, on a miss, call
   * `producer` once however many callers ask at the same time, store its result and return it.
   * Inside the stale window an expired value is returned at once and refreshed in the background.
   */
  fetch<T>(key: string, producer: () => T | Promise<T>, options: FetchOptions = {}): Promise<FetchResult<T>> {
    const k = this.makeKey(key, options.version);
    const running = this.#flights.get(k);
    if (running !== undefined) {
      this.#stats.count('coalesced');
      return running.promise.then((result) => ({ ...result, coalesced: true })) as Promise<FetchResult<T>>;
    }
    const flight: Flight = { promise: undefined as unknown as Promise<FetchResult<unknown>>, tags: options.tags ?? [], detached: false };
    flight.promise = this.#lookupOrProduce(k, producer, options, flight).finally(() => {
      if (this.#flights.get(k) === flight) this.#flights.delete(k);
    });
    this.#flights.set(k, flight);
    return flight.promise as Promise<FetchResult<T>>;
  }

  /**
   * Synchronous warm hit, for hot paths: the result when the store holds a fresh entry for `key`
   * in this process (the memory store, or a first tier) and its tags are current; `undefined`
   * otherwise — then call `fetch`. Only immutable values (strings, numbers, booleans, null) are
   * served this way, so no caller can mutate a shared object.
   */
  peek(key: string, options: FetchOptions = {}): FetchResult<string | number | boolean | null> | undefined {
    const store = this.store;
    if (store.peek === undefined || this.#closed) return undefined;
    const k = this.makeKey(key, options.version);
    const envelope = store.peek(k);
    if (!isEnvelope(envelope)) return undefined;
    const value = envelope.v;
    if (typeof value === 'object' && value !== null) return undefined;
    const tags = options.tags ?? [];
    const tokens = new Map<string, string | undefined>();
    for (const tag of tags) {
      const token = store.peek(this.#tagKey(tag));
      if (typeof token !== 'string') return undefined;
      tokens.set(tag, token);
    }
    if (!this.#usable(envelope, options, tokens) || freshness(envelope, this.clock.now()) !== 'fresh') return undefined;
    this.#stats.lookup('hits', options.label, envelope.ms ?? 0);
    this.emit('hit', { key: k, label: options.label });
    return { value: value as string | number | boolean | null, status: 'hit', coalesced: false };
  }

  /** Counters since start (or `resetStats`), overall and per label (fragment name, view, page). */
  stats(): CacheStats {
    return this.#stats.snapshot(this.#guard.state as CircuitState);
  }

  resetStats(): void {
    this.#stats.reset();
  }

  /** Entries and bytes held, where the store can tell. */
  async usage(): Promise<StoreUsage> {
    return this.store.usage ? this.store.usage() : {};
  }

  // ---------------------------------------------------------------- internals

  async #lookupOrProduce<T>(k: string, producer: () => T | Promise<T>, options: FetchOptions, flight: Flight): Promise<FetchResult<unknown>> {
    const tags = options.tags ?? [];
    const label = options.label;
    const looked = await this.#lookup(k, options);
    if (looked !== null && looked.envelope !== undefined) return this.#served(k, looked.envelope, looked.tokens, producer, options, false);
    this.#stats.lookup('misses', label);
    this.emit('miss', { key: k, label });
    // The store failed: render uncached, and do not hammer it with writes.
    if (looked === null) return { value: (await this.#produce(producer, label)).value, status: 'miss', coalesced: false };
    // Tags without a token get one before rendering, so an invalidation during the render wins.
    const tokens = await this.#ensureTokens(tags, looked.tokens);
    const lock = this.#lockOptions;
    if (lock !== undefined) {
      const token = await this.#call('lock', () => lock.lock.acquire(k, lock.ttlMs), null);
      if (token === null) {
        // Another process is rendering this key: wait for its result, then render ourselves.
        const waited = await this.#awaitOtherRender(k, options, lock);
        if (waited !== undefined) return { ...this.#served(k, waited.envelope, waited.tokens, producer, options, true), coalesced: true };
      } else {
        try {
          return await this.#produceAndStore(k, producer, options, flight, tokens);
        } finally {
          await this.#call('unlock', () => lock.lock.release(k, token), undefined);
        }
      }
    }
    return this.#produceAndStore(k, producer, options, flight, tokens);
  }

  async #produceAndStore<T>(k: string, producer: () => T | Promise<T>, options: FetchOptions, flight: Flight, tokens: Map<string, string | undefined>): Promise<FetchResult<unknown>> {
    const { value, ms } = await this.#produce(producer, options.label);
    if (!flight.detached) {
      await this.#setResolved(k, value, options.ttl, options, options.digest, ms, Object.fromEntries(tokens) as Record<string, string>);
    }
    return { value, status: 'miss', coalesced: false };
  }

  /** Read the entry and its tags' tokens in one store call. `null` when the store failed. */
  async #lookup(k: string, options: FetchOptions): Promise<{ envelope: Envelope | undefined; tokens: Map<string, string | undefined> } | null> {
    const tags = options.tags ?? [];
    const raws = await this.#read('fetch', [k, ...tags.map((tag) => this.#tagKey(tag))]);
    if (raws === null) return null;
    const tokens = new Map(tags.map((tag, i) => [tag, tokenOf(raws[i + 1])]));
    const envelope = this.#open(raws[0]);
    const usable = envelope !== undefined && this.#usable(envelope, options, tokens) ? envelope : undefined;
    return { envelope: usable, tokens };
  }

  /** Same digest, same tag set, every tag current, not past hard expiry. */
  #usable(envelope: Envelope, options: FetchOptions, tokens: ReadonlyMap<string, string | undefined>): boolean {
    return envelope.dg === options.digest && sameTags(envelope, options.tags ?? []) && tagsCurrent(envelope, tokens) && freshness(envelope, this.clock.now()) !== 'expired';
  }

  /** Record and return a found entry; a stale one is returned at once and refreshed in the background. */
  #served<T>(k: string, envelope: Envelope, tokens: Map<string, string | undefined>, producer: () => T | Promise<T>, options: FetchOptions, coalesced: boolean): FetchResult<unknown> {
    const fresh = freshness(envelope, this.clock.now()) === 'fresh';
    this.#stats.lookup(fresh ? 'hits' : 'stale', options.label, envelope.ms ?? 0);
    this.emit(fresh ? 'hit' : 'stale', { key: k, label: options.label });
    if (!fresh) this.#refresh(k, producer, options, tokens);
    return { value: envelope.v, status: fresh ? 'hit' : 'stale', coalesced };
  }

  /** Poll for the entry another process is rendering, up to the lock's wait. */
  async #awaitOtherRender(k: string, options: FetchOptions, lock: LockOptions): Promise<{ envelope: Envelope; tokens: Map<string, string | undefined> } | undefined> {
    const deadline = performance.now() + lock.waitMs;
    while (performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, lock.pollMs));
      const looked = await this.#lookup(k, options);
      if (looked === null) return undefined;
      if (looked.envelope !== undefined) return { envelope: looked.envelope, tokens: looked.tokens };
    }
    return undefined;
  }

  #refresh<T>(k: string, producer: () => T | Promise<T>, options: FetchOptions, tokens: Map<string, string | undefined>): void {
    if (this.#refreshes.has(k)) return;
    const flight: Flight = { promise: undefined as unknown as Promise<FetchResult<unknown>>, tags: options.tags ?? [], detached: false };
    flight.promise = (async () => {
      const { value, ms } = await this.#produce(producer, options.label);
      if (!flight.detached) {
        const current = await this.#ensureTokens(options.tags ?? [], tokens);
        await this.#setResolved(k, value, options.ttl, options, options.digest, ms, Object.fromEntries(current) as Record<string, string>);
      }
      return { value, status: 'miss' as const, coalesced: false };
    })();
    flight.promise
      .catch((error: unknown) => this.#report(error, 'refresh'))
      .finally(() => {
        if (this.#refreshes.get(k) === flight) this.#refreshes.delete(k);
      });
    this.#refreshes.set(k, flight);
  }

  async #produce<T>(producer: () => T | Promise<T>, label: string | undefined): Promise<{ value: T; ms: number }> {
    const started = performance.now();
    const value = await producer();
    const ms = performance.now() - started;
    this.#stats.render(label, ms);
    return { value, ms };
  }

  async #setResolved(
    k: string,
    value: unknown,
    ttl: TtlInput,
    options: WriteOptions,
    digest: string | undefined,
    ms: number | undefined,
    knownTokens?: Record<string, string>,
  ): Promise<boolean> {
    const resolved = resolveTtl(ttl, this.defaultTtl);
    if (resolved.kind === 'skip') {
      this.#detachKeys([k]);
      await this.#call('delete', () => this.store.delete(k), false);
      return false;
    }
    let tokens: ReadonlyMap<string, string | undefined> | null;
    if (knownTokens !== undefined) tokens = new Map(Object.entries(knownTokens));
    else tokens = await this.#tokens(options.tags ?? [], true);
    if (tokens === null) return false;
    const built = this.#envelope(value, resolved.ms, options.staleTtl, tokens, digest, ms);
    if (built === undefined) return false;
    const ok = await this.#attempt('set', () => this.store.set(k, built.envelope, built.ttlMs));
    if (ok) this.#stats.count('sets');
    return ok;
  }

  #envelope(
    value: unknown,
    ttlMs: number | undefined,
    staleTtl: number | undefined,
    tokens: ReadonlyMap<string, string | undefined>,
    digest: string | undefined,
    ms: number | undefined,
  ): { envelope: Envelope; ttlMs: number | undefined } | undefined {
    if (value === undefined) throw new CacheError('ERR_CACHE_OPTIONS', 'Cannot cache undefined (it would read back as a miss); store null instead.');
    const now = this.clock.now();
    const staleMs = Math.round(checkNonNegative(staleTtl ?? this.staleTtl, 'staleTtl') * 1000);
    const fresh = ttlMs === undefined ? null : now + ttlMs;
    const exp = fresh === null ? null : fresh + staleMs;
    const envelope: Envelope = { njkc: 1, v: value, exp, fresh };
    if (tokens.size > 0) envelope.tags = Object.fromEntries(tokens) as Record<string, string>;
    if (digest !== undefined) envelope.dg = digest;
    if (ms !== undefined) envelope.ms = Math.round(ms * 100) / 100;
    const size = typeof value === 'string' ? value.length * 2 : Buffer.byteLength(JSON.stringify(value) ?? '');
    if (size > this.maxEntryBytes) {
      this.#stats.count('oversize');
      return undefined;
    }
    return { envelope, ttlMs: exp === null ? undefined : Math.max(1, exp - now) };
  }

  /** Envelopes for `ks` that are present, unexpired and whose tags are current. */
  async #getValid(ks: readonly string[], operation: string): Promise<Array<Envelope | undefined>> {
    const raws = await this.#read(operation, ks);
    if (raws === null) return ks.map(() => undefined);
    const now = this.clock.now();
    const envelopes = raws.map((raw) => {
      const envelope = this.#open(raw);
      return envelope !== undefined && freshness(envelope, now) !== 'expired' ? envelope : undefined;
    });
    const tags = new Set<string>();
    for (const envelope of envelopes) for (const tag in envelope?.tags ?? {}) tags.add(tag);
    if (tags.size === 0) return envelopes;
    const tokens = await this.#tokens([...tags], false);
    return envelopes.map((envelope) => (envelope !== undefined && tokens !== null && tagsCurrent(envelope, tokens) ? envelope : undefined));
  }

  /** Current tokens of `tags`; with `create`, absent ones are written first. `null` if the store failed. */
  async #tokens(tags: readonly string[], create: boolean): Promise<Map<string, string | undefined> | null> {
    if (tags.length === 0) return new Map();
    const raws = await this.#read('tags', tags.map((tag) => this.#tagKey(tag)));
    if (raws === null) return null;
    const tokens = new Map(tags.map((tag, i) => [tag, tokenOf(raws[i])]));
    return create ? this.#ensureTokens(tags, tokens) : tokens;
  }

  async #ensureTokens(tags: readonly string[], tokens: Map<string, string | undefined>): Promise<Map<string, string | undefined>> {
    const missing = tags.filter((tag) => tokens.get(tag) === undefined);
    if (missing.length === 0) return tokens;
    const writes = missing.map((tag) => ({ key: this.#tagKey(tag), value: newToken(this.clock), ttlMs: undefined }));
    const ok = await this.#attempt('tags', () => this.store.setMany(writes));
    if (!ok) return tokens;
    const next = new Map(tokens);
    writes.forEach((write, i) => next.set(missing[i] as string, write.value));
    return next;
  }

  #tagKey(tag: string): string {
    return this.makeKey(tagKey(tag));
  }

  #open(raw: unknown): Envelope | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (isEnvelope(raw)) return raw;
    this.#stats.count('corrupt');
    return undefined;
  }

  #detachKeys(ks: readonly string[]): void {
    for (const k of ks) {
      for (const map of [this.#flights, this.#refreshes]) {
        const flight = map.get(k);
        if (flight !== undefined) {
          flight.detached = true;
          map.delete(k);
        }
      }
    }
  }

  /** Guarded read; `null` when the store failed and the cache fails open. */
  async #read(operation: string, ks: readonly string[]): Promise<unknown[] | null> {
    return this.#call(operation, () => (ks.length === 1 ? this.store.get(ks[0] as string).then((v) => [v]) : this.store.getMany(ks)), null);
  }

  /** Guarded write; whether it succeeded. */
  async #attempt(operation: string, fn: () => Promise<unknown>): Promise<boolean> {
    return this.#call(operation, async () => {
      await fn();
      return true;
    }, false);
  }

  async #call<T, F>(operation: string, fn: () => Promise<T>, fallback: F): Promise<T | F> {
    if (this.#closed) throw new CacheError('ERR_CACHE_CLOSED', 'This cache was closed; create a new one with createCache().');
    try {
      return await this.#guard.run(operation, fn);
    } catch (error) {
      if (!this.failOpen) throw error;
      return fallback;
    }
  }

  #report(error: unknown, operation: string): void {
    this.#stats.count('errors');
    if (this.listenerCount('error') > 0) this.emit('error', { error, operation });
  }

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

function tokenOf(raw: unknown): string | undefined {
  // Tag tokens are stored bare (not in an envelope): they never expire and carry nothing else.
  return typeof raw === 'string' ? raw : undefined;
}

function newToken(clock: Clock): string {
  return `${clock.now().toString(36)}.${randomBytes(6).toString('base64url')}`;
}

function sameTags(envelope: Envelope, tags: readonly string[]): boolean {
  const stored = envelope.tags === undefined ? 0 : Object.keys(envelope.tags).length;
  return stored === new Set(tags).size && tags.every((tag) => envelope.tags !== undefined && tag in envelope.tags);
}

function checkInt(value: number, name: string): number {
  if (!Number.isInteger(value)) throw new CacheError('ERR_CACHE_OPTIONS', `Cache option "${name}" must be a whole number; got ${describe(value)}.`);
  return value;
}

function checkPositive(value: number, name: string): number {
  if (typeof value !== 'number' || !(value > 0)) throw new CacheError('ERR_CACHE_OPTIONS', `Cache option "${name}" must be a positive number; got ${describe(value)}.`);
  return value;
}

function checkNonNegative(value: number, name: string): number {
  if (typeof value !== 'number' || !(value >= 0)) throw new CacheError('ERR_CACHE_OPTIONS', `"${name}" must be zero or a positive number; got ${describe(value)}.`);
  return value;
}

/** Create a cache. `createCache({ store: 'redis://127.0.0.1:6379' })`. */
export function createCache(options: CacheOptions = {}): Cache {
  return new Cache(options);
}
