import { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';
import { withTimeout } from '../shared/timeout.js';
import { isStore, type Store, type StoreUsage } from '../contracts/store.js';
import type { Clock } from '../contracts/clock.js';
import { implicitTag } from './cacheability.js';
import { ChangeLog } from './change-log.js';
import { Entries } from './entries.js';
import { CacheError, StoreConnectError, StoreSpecError, StoreTimeoutError } from '../contracts/errors.js';
import { Fetcher, type Settled } from './fetcher.js';
import { Flights } from './flights.js';
import { GuardedStore } from './guarded-store.js';
import { StoreGuard } from './guard.js';
import { fragmentKey, makeKey, tagKey, viewKey, type KeyFunction } from './keys.js';
import { checkTimer, resolveOptions, type CoreCacheOptions, type LockOptions } from './options.js';
import { PurgeQueue } from './purge.js';
import { Reporter } from './report.js';
import { ReadPlans, type ReadScope } from './read-plans.js';
import { StatsRecorder, type CacheStats } from './stats.js';
import { TagTokens } from './tag-tokens.js';
import { TrackedStore } from './tracked-store.js';
import { describe, type TtlInput, type TtlSeconds } from './ttl.js';
import type { CacheEvents, FetchOptions, FetchResult, FetchStatus, InvalidateEvent, LeaseOptions, LeaseResult, Producer, WriteOptions } from './types.js';

export type { CacheOptions } from './options.js';
export type { ReadScope } from './read-plans.js';
export type { CacheErrorEvent, CacheEvents, CommitOptions, FetchOptions, FetchResult, FetchStatus, InvalidateEvent, Lease, LeaseOptions, LeaseResult, LookupEvent, Producer, WriteOptions } from './types.js';

const MISSING = Symbol('missing');

/** Bounds of each cache's stored-key memo. */
const KEY_MEMO = { entries: 10_000, bytes: 4 * 1024 * 1024, longestKey: 1024 } as const;

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
  /** Stored keys of the default version, by your key: bounded by entries and bytes (see docs/reliability.md). */
  readonly #keys = new LRUCache<string, string>({ max: KEY_MEMO.entries, maxSize: KEY_MEMO.bytes, sizeCalculation: (stored, key) => 2 * (stored.length + key.length) + 256 });
  #connected: Promise<void>;
  #connectFailed = false;
  readonly #plans = new ReadPlans(new ChangeLog());
  readonly #lock: LockOptions | undefined;
  /** Removes the listeners this cache added to its store (see `Store.subscribe`, `Store.onReady`). */
  readonly #unsubscribe: Array<() => void> = [];
  readonly #purges: PurgeQueue;

  /** Takes a built store; `createCache` builds one from a URL, a Keyv or an adapter. */
  constructor(options: CoreCacheOptions) {
    super();
    if (!isStore(options?.store)) throw new StoreSpecError(`new Cache({ store }) takes a Store; got ${typeof options?.store === 'string' ? 'a URL' : Object.prototype.toString.call(options?.store)}. Use createCache({ store: 'redis://…' }) to build one from a URL, a Keyv or an adapter.`);
    const o = resolveOptions(options);
    this.store = options.store;
    this.keyPrefix = o.keyPrefix;
    this.version = o.version;
    this.defaultTtl = o.defaultTtl;
    this.keyFunction = o.keyFunction;
    this.clock = o.clock;
    this.failOpen = o.failOpen;
    this.maxEntryBytes = o.maxEntryBytes;
    this.staleTtl = o.staleTtl;
    const reporter = new Reporter(o.logger, this.store.kind, o.clock);
    this.#lock = o.lock;
    const guard = new StoreGuard({
      timeoutMs: o.timeoutMs,
      breaker: o.breaker,
      clock: o.clock,
      onFailure: (error, operation) => {
        if (error instanceof StoreTimeoutError) this.#stats.count('timeouts');
        // A value refused for its size is not a store failure: an `error` event, no log line.
        if (!(error instanceof CacheError && error.code === 'ERR_CACHE_ENTRY_TOO_LARGE')) reporter.failure(error, operation);
        this.#report(error, operation);
      },
      onOpen: (failures, cooldownMs) => reporter.breakerOpened(failures, cooldownMs),
      onRecover: () => {
        reporter.breakerClosed();
        this.emit('recover');
      },
    });
    // Every write goes through the change log, so a prefetched read never outlives a change.
    this.#io = new GuardedStore(new TrackedStore(this.store, this.#plans.log), guard, o.failOpen);
    // A new tag token lives at least as long as an entry of the default TTL, and at least a day (tag-tokens.ts).
    const defaultLifeMs = o.defaultTtl === null ? undefined : Math.max(1, (o.defaultTtl + o.staleTtl) * 1000);
    this.#tags = new TagTokens(this.#io, (tag) => this.makeKey(tagKey(tag)), o.clock, defaultLifeMs);
    this.#entries = new Entries({ io: this.#io, tags: this.#tags, flights: this.#flights, stats: this.#stats, clock: o.clock, defaultTtl: o.defaultTtl, staleTtl: o.staleTtl, maxEntryBytes: o.maxEntryBytes });
    this.#fetcher = new Fetcher({
      io: this.#io,
      log: this.#plans.log,
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
    this.#purges = new PurgeQueue(o.purgers, o.purgeRetry, {
      report: (error) => {
        if (this.listenerCount('error') > 0) this.emit('error', { error, operation: `purge:${error.purger}` });
        // A purge given up is never silent, even with no `error` listener.
        else if (error.final && o.logger) o.logger.warn(`nunjucks-fragment-cache: ${error.message}`);
      },
      count: (counter) => this.#stats.count(counter),
    });
    // Another process's invalidation cancels the store of our renders of those keys, as ours do.
    const unsubscribe = this.#io.store.subscribe?.((change) => (change === 'clear' ? this.#flights.detachAll() : this.#flights.detachKeys(change)));
    if (typeof unsubscribe === 'function') this.#unsubscribe.push(unsubscribe as () => void);
    // The store's client reconnected (a restarted Redis): probe now rather than after the cool-down.
    const unready = this.store.onReady?.(() => guard.reachable());
    if (typeof unready === 'function') this.#unsubscribe.push(unready as () => void);
    // Load the driver and connect in the background, so the first request does not pay for it
    // (and does not run into the operation timeout). A failure is reported once through the
    // logger, and rejects connect(); the store keeps trying to reach its server.
    this.#connected = this.store.connect === undefined ? Promise.resolve() : this.store.connect();
    this.#connected.catch((error: unknown) => {
      this.#connectFailed = true;
      if (!this.#io.closed) reporter.connectFailed(error);
    });
  }

  /**
   * Wait until the store is connected, for apps that want to fail fast at start-up (optional: the
   * cache connects in the background anyway). Rejects with `StoreConnectError` naming the cause
   * (connection refused, DNS, authentication; the driver's error as `cause`) as soon as the
   * driver reports it, or with `ERR_CACHE_STORE_TIMEOUT` after `timeoutMs` (default 5 000).
   */
  async connect(timeoutMs = 5_000): Promise<void> {
    checkTimer(timeoutMs, 'timeoutMs');
    if (this.#connectFailed && this.store.connect !== undefined) {
      // Asked again after a failure: try again rather than repeat the old answer.
      this.#connectFailed = false;
      this.#connected = this.store.connect();
      this.#connected.catch(() => {
        this.#connectFailed = true;
      });
    }
    try {
      await withTimeout(this.#connected, timeoutMs, 'connect', `Could not reach the ${this.store.kind} store within ${timeoutMs} ms. Is it running, and is the URL right?`);
    } catch (error) {
      throw error instanceof CacheError ? error : new StoreConnectError(this.store.kind, error);
    }
  }

  /** The stored key for `key` (prefix, version, hashing applied) — what lands in the store. */
  makeKey(key: string, version?: number): string {
    if (version !== undefined && version !== this.version) return makeKey(key, this.keyPrefix, version, this.keyFunction);
    // Renders build the same keys over and over: memoise the default version's (bounded; long
    // keys, which are hashed anyway, are not held).
    let stored = this.#keys.get(key);
    if (stored === undefined) {
      stored = makeKey(key, this.keyPrefix, this.version, this.keyFunction);
      if (key.length <= KEY_MEMO.longestKey) this.#keys.set(key, stored);
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
    const k = this.makeKey(key, options.version);
    // A write that arrives while incrVersion (or incr, add, touch) works on the key lands after it,
    // never under it. No such work under way: no waiting, no bookkeeping.
    if (this.#locks.has(k)) return this.#exclusive(k, () => this.#entries.write(k, value, ttl, options));
    return this.#entries.write(k, value, ttl, options);
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
    return this.#remove(key, version);
  }

  async #remove(key: string, version: number | undefined, fragment?: InvalidateEvent['fragment']): Promise<boolean> {
    const k = this.makeKey(key, version);
    this.#flights.detachKeys([k]);
    const removed = await this.#io.strict('delete', () => this.#io.store.delete(k));
    this.#stats.count('deletes');
    this.emit('invalidate', fragment === undefined ? { kind: 'keys', keys: [k] } : { kind: 'keys', keys: [k], fragment });
    return removed;
  }

  async deleteMany(keys: readonly string[], version?: number): Promise<void> {
    const ks = keys.map((key) => this.makeKey(key, version));
    this.#flights.detachKeys(ks);
    await this.#io.strict('deleteMany', () => this.#io.store.deleteMany(ks));
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
      // Counting must not fail open: a silently lost increment is worse than an error. The same
      // read as get(): an entry whose tag was invalidated is gone for incr too.
      const [envelope] = await this.#entries.readValid([k], 'incr', true);
      if (envelope === undefined) {
        throw new CacheError('ERR_CACHE_MISSING_KEY', `Key "${key}" not found; set it before incrementing it.`);
      }
      if (typeof envelope.v !== 'number') {
        throw new CacheError('ERR_CACHE_NOT_A_NUMBER', `Key "${key}" holds ${describe(envelope.v)}, not a number; it cannot be incremented.`);
      }
      const next = envelope.v + delta;
      await this.#io.strict('incr', () => this.#io.store.set(k, { ...envelope, v: next }, this.#entries.remainingMs(envelope)));
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
    const source = this.makeKey(key, from);
    const target = this.makeKey(key, to);
    // Serialised with every other exclusive operation on both keys in this process (add, touch,
    // incr, set), and across processes through the distributed lock when the cache has one: two
    // concurrent moves must not both succeed, and a write during the move must not be lost.
    return this.#exclusive([source, target], () =>
      this.#acrossProcesses(source, async () => {
        // Like incr, this must not fail open: a store error is not "key not found".
        const [envelope] = await this.#entries.readValid([source], 'incrVersion', true);
        if (envelope === undefined) {
          throw new CacheError('ERR_CACHE_MISSING_KEY', `Key "${key}" not found at version ${from}; nothing to move to version ${to}.`);
        }
        if (target === source) return to; // delta 0: nothing moves
        // Written before the old version is removed, and never failing open: the value must not be lost.
        await this.#io.strict('incrVersion', () => this.#io.store.set(target, envelope, this.#entries.remainingMs(envelope)));
        this.#flights.detachKeys([source]);
        await this.#io.strict('incrVersion', () => this.#io.store.delete(source));
        this.#stats.count('deletes');
        this.emit('invalidate', { kind: 'keys', keys: [source] });
        return to;
      }),
    );
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
    await this.#io.strict('clear', () => this.#io.store.clear());
    this.#stats.count('invalidations');
    this.emit('invalidate', { kind: 'clear' });
  }

  async close(): Promise<void> {
    if (this.#io.closed) return;
    this.#io.closed = true;
    await this.#purges.close();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#io.guard.close();
    await this.store.close();
  }

  // ---------------------------------------------------------------- beyond Django

  /**
   * Remove one fragment, exactly as the `cache` tag keyed it — and every fragment, view and page
   * it was rendered into (they carry its implicit tag, `implicitTag(key)`).
   */
  async invalidateFragment(name: string, varyOn: readonly unknown[] = []): Promise<boolean> {
    this.#stats.count('invalidations');
    const key = fragmentKey(name, varyOn);
    const [removed] = await Promise.all([this.#remove(key, undefined, { name, varyOn: [...varyOn] }), this.#bumpImplicit(key)]);
    return removed;
  }

  /** Remove one `renderView` entry, and every page it was rendered into. */
  async invalidateView(template: string, key?: string | number, version?: number): Promise<boolean> {
    this.#stats.count('invalidations');
    const k = viewKey(template, key);
    const [removed] = await Promise.all([this.delete(k, version), this.#bumpImplicit(k)]);
    return removed;
  }

  /** Invalidate the implicit tag of `key`: what it was rendered into misses, in this store and at the edge. */
  async #bumpImplicit(key: string): Promise<void> {
    const tag = implicitTag(key);
    this.#flights.detachTags([tag], [this.#tags.key(tag)]);
    await this.#tags.bump([tag]);
    this.#purges.push([tag]);
  }

  /**
   * Make every entry carrying any of `tags` miss: one new generation token per tag, whatever the
   * number of entries (no key scans). Renders already under way with these tags are not stored.
   */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    this.#flights.detachTags(tags, tags.map((tag) => this.#tags.key(tag)));
    const keys = await this.#tags.bump(tags);
    this.#purges.push(tags);
    this.#stats.count('invalidations', tags.length);
    this.emit('invalidate', { kind: 'tags', tags: [...tags], keys });
  }

  /**
   * Resolves when every reverse-proxy purge started by `invalidateTags` so far has been confirmed
   * or given up (and reported). Purges never hold up `invalidateTags`; await this when you need
   * the proxy to be clean before going on (tests, a deploy script).
   */
  async purged(): Promise<void> {
    await this.#purges.idle();
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
   * The reads of one render of `id` (a template name): pass it to `fetch` as `scope`, and call
   * `end()` when the render is done. The scope learns what renders of `id` look up, and the next
   * one reads all of it in one store round trip (see docs/fragments.md, "Round trips").
   */
  readScope(id: string): ReadScope {
    return this.#plans.scope(id);
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

  /**
   * The synchronous `get`: the value when the store holds a usable entry for `key` in this process
   * (the memory store, a first tier, SQLite through better-sqlite3) — present, unexpired, every tag
   * current — and `undefined` otherwise (then call `get`). Like `get`, it is not a lookup: nothing
   * is counted in `stats()` and no event is emitted. For bookkeeping values read on a hot path (a
   * version number a key is built from, the page cache's header list). Only strings, numbers,
   * booleans and `null` are served this way.
   */
  peekValue<T extends string | number | boolean | null = string | number | boolean | null>(key: string, version?: number): T | undefined {
    return this.#fetcher.peekValue(this.makeKey(key, version)) as T | undefined;
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
    // A value the store refused for its size is counted where values too big for maxEntryBytes are.
    this.#stats.count(error instanceof CacheError && error.code === 'ERR_CACHE_ENTRY_TOO_LARGE' ? 'oversize' : 'errors');
    if (this.listenerCount('error') > 0) this.emit('error', { error, operation });
  }

  /**
   * Run `fn` holding the distributed lock on `k` when the cache has one (`createCache({ lock })`),
   * so processes sharing the store serialise too; without one, only this process is serialised.
   */
  async #acrossProcesses<T>(k: string, fn: () => Promise<T>): Promise<T> {
    const lock = this.#lock;
    if (lock === undefined) return fn();
    const deadline = performance.now() + lock.waitMs;
    let token: string | null = null;
    for (;;) {
      token = await this.#io.strict('lock', () => lock.lock.acquire(`${k}\u0000version`, lock.ttlMs));
      if (token !== null) break;
      if (performance.now() >= deadline) {
        throw new CacheError('ERR_CACHE_STORE_TIMEOUT', `Another process kept "${k}" locked for more than lockWaitMs (${lock.waitMs} ms); try again.`);
      }
      await new Promise((resolve) => setTimeout(resolve, lock.pollMs));
    }
    try {
      return await fn();
    } finally {
      await this.#io.call('unlock', () => lock.lock.release(`${k}\u0000version`, token as string), undefined);
    }
  }

  /**
   * Run `fn` after any other exclusive work on any of `keys` in this process (add, touch, incr,
   * incrVersion, and a set that arrives meanwhile). All keys are claimed at once, at call time, so
   * work on overlapping keys never waits in a cycle.
   */
  async #exclusive<T>(keys: string | readonly string[], fn: () => Promise<T>): Promise<T> {
    const ks = typeof keys === 'string' ? [keys] : [...new Set(keys)];
    const previous = ks.map((k) => this.#locks.get(k)).filter((p): p is Promise<unknown> => p !== undefined);
    const ready = previous.length === 0 ? Promise.resolve() : previous.length === 1 ? (previous[0] as Promise<unknown>) : Promise.all(previous);
    const next = ready.then(fn, fn);
    const tail = next.catch(() => {});
    for (const k of ks) this.#locks.set(k, tail);
    void tail.then(() => {
      for (const k of ks) if (this.#locks.get(k) === tail) this.#locks.delete(k);
    });
    return next;
  }
}
