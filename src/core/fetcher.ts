import type { Cacheability } from './cacheability.js';
import type { ChangeLog } from './change-log.js';
import type { Clock } from '../contracts/clock.js';
import type { Entries } from './entries.js';
import { freshness, isEnvelope, type Envelope } from './envelope.js';
import type { Flight, Flights } from './flights.js';
import type { GuardedStore } from './guarded-store.js';
import type { LockOptions } from './options.js';
import type { StatsRecorder } from './stats.js';
import { TagTokens, sameTags, tagsCurrent, tokenTime, type Tokens } from './tag-tokens.js';
import type { CommitOptions, FetchOptions, FetchResult, FetchStatus, Lease, LeaseOptions, LeaseResult, LookupEvent, Producer } from './types.js';

export interface FetcherOptions {
  io: GuardedStore;
  /** Every write this process made and every change its bus announced (see change-log.ts). */
  log: ChangeLog;
  entries: Entries;
  tags: TagTokens;
  flights: Flights<Settled>;
  stats: StatsRecorder;
  clock: Clock;
  lock: LockOptions | undefined;
  emit: (event: 'hit' | 'miss' | 'stale', payload: LookupEvent) => void;
  emitCoalesced: (payload: LookupEvent & { status: FetchStatus }) => void;
  report: (error: unknown, operation: string) => void;
}

type Found = { envelope: Envelope; tokens: Tokens };

/** What a flight hands its joiners; `alone`: no value to share, each joiner produces its own. */
export type Settled = { value: unknown; status: FetchStatus; cacheability?: Cacheability | undefined; alone?: true };

const ALONE: Settled = { value: undefined, status: 'miss', alone: true };

const LOCK_FAILED = Symbol('lock failed');

/**
 * How far apart the clocks of processes sharing a store may be, ms: a tag token written up to this
 * long before a lease was taken still counts as written while the value was produced (see
 * `KeyLease.store`).
 */
const CLOCK_SKEW_MS = 1_000;

/**
 * The one caching engine, under fragments, views, pages and `getOrSet`: the lease. Look the key
 * up (the entry and its tags' tokens in one store call); on a hit return it (a stale one with a
 * lease to refresh it in the background); on a miss join the flight already producing the key in
 * this process, or wait on the distributed lock for another process's, or take the lease. The
 * tokens and the invalidation generation are captured when the lease is taken, so any
 * invalidation that lands while the value is produced turns its commit into a no-op.
 */
export class Fetcher {
  readonly #o: FetcherOptions;
  /**
   * Peeked entries whose every tag token was found current, with the moment that was checked (the
   * change log's, and the store's `peekVersion`). An entry seen again with neither moved is not
   * checked again: no write at all happened since. Entries are the store's own parsed objects (a
   * rewrite makes a new one), so the map holds them weakly.
   */
  readonly #verified = new WeakMap<object, { seq: number; version: unknown }>();

  constructor(options: FetcherOptions) {
    this.#o = options;
  }

  /** `lease`, then produce and commit on a miss: the whole of `Cache.fetch`. */
  async fetch<T>(key: string, producer: Producer<T>, options: FetchOptions): Promise<FetchResult<T>> {
    const taken = await this.lease<T>(key, options);
    if (taken.refresh !== undefined) this.#refresh(taken.refresh, producer, options);
    if (taken.lease === undefined) {
      const found: FetchResult<T> = { value: taken.value, status: taken.status, coalesced: taken.coalesced };
      if (taken.cacheability !== undefined) found.cacheability = taken.cacheability;
      return found;
    }
    const lease = taken.lease;
    let produced: { value: T; ms: number };
    try {
      produced = await this.#produce(producer, options.label);
    } catch (error) {
      lease.abandon(error);
      throw error;
    }
    const inner = options.collected?.();
    const commit = { ...commitOptions(options, inner), ms: produced.ms };
    if (inner?.personal === true) {
      // Rendered for this caller alone (a hole inside): never stored, and never handed to the
      // callers that joined this render either; they look up again and render their own.
      lease.abandon(undefined, { alone: true });
      return { value: produced.value, status: 'miss', coalesced: false, ...(options.watch === undefined ? {} : { cacheability: { ...(lease as KeyLease<T>).cacheability(commit), personal: true } }) };
    }
    try {
      await lease.commit(produced.value, commit);
    } catch (error) {
      // Not storable (undefined, circular, BigInt): the callers still get what was produced.
      this.#o.report(error, 'set');
    }
    const result: FetchResult<T> = { value: produced.value, status: 'miss', coalesced: false };
    if (options.watch !== undefined) result.cacheability = (lease as KeyLease<T>).cacheability(commit);
    return result;
  }

  /** See `Cache.lease`. `key` is the stored key. */
  lease<T>(key: string, options: LeaseOptions): Promise<LeaseResult<T>> {
    const { flights, stats } = this.#o;
    const tags = options.tags ?? [];
    const signature = options.digest === undefined && tags.length === 0 ? '' : `${options.digest ?? ''}|${[...tags].sort().join('\u0000')}`;
    const running = flights.running(key, signature);
    if (running !== undefined) {
      stats.count('coalesced');
      // Registered here, so the event fires in this caller's async context (per-request tracing).
      return running.promise.then((settled) => {
        // Abandoned without an error: look up again (and maybe take the lease ourselves).
        if (settled === undefined) return this.lease<T>(key, options);
        // Nothing to share: look up and produce our own, side by side with the other joiners.
        if (settled.alone === true) return this.#alone<T>(key, options);
        this.#o.emitCoalesced({ key, label: options.label, status: settled.status });
        // The render joined may not have watched this caller's tags: those count as unknown tokens,
        // checked against the invalidations seen since the lease around this caller was taken.
        const cacheability = options.watch === undefined ? undefined : withWatched(settled.cacheability, options.watch);
        return settled.status === 'miss' ? { status: 'miss', value: settled.value as T, coalesced: true, cacheability } : { status: settled.status, value: settled.value as T, coalesced: true, cacheability };
      });
    }
    // Opened before the first await, so concurrent callers join it.
    const flight = flights.open(key, tags, signature);
    const generation = flights.generation;
    return this.#acquire<T>(key, options, flight, generation).catch((error: unknown) => {
      flight.settle(undefined, error);
      throw error;
    });
  }

  /** A lookup nobody joins, and that does not wait on the distributed lock. */
  #alone<T>(key: string, options: LeaseOptions): Promise<LeaseResult<T>> {
    const flight = this.#o.flights.unlisted(key, options.tags ?? []);
    return this.#acquire<T>(key, options, flight, this.#o.flights.generation, true).catch((error: unknown) => {
      flight.settle(undefined, error);
      throw error;
    });
  }

  /** Synchronous warm hit from a store that holds the entry in this process; see `Cache.peek`. */
  peek(key: string, options: FetchOptions): FetchResult<string | number | boolean | null> | undefined {
    const store = this.#o.io.store;
    if (store.peek === undefined || this.#o.io.closed) return undefined;
    const tags = options.tags ?? [];
    const watch = options.watch ?? [];
    let envelope: unknown;
    let tokens: unknown[] | undefined;
    if (options.scope !== undefined && store.peekMany !== undefined) {
      // A store that reads in this process, one statement at a time: the render's scope reads the
      // whole view in one (entries and tag tokens), as it does in one round trip elsewhere.
      const group = this.#group(key, tags, watch);
      const raws = options.scope.peek(group, store.peekMany, store.peekVersion);
      if (raws === undefined) return undefined;
      [envelope, ...tokens] = raws;
    } else {
      envelope = store.peek(key);
    }
    if (!isEnvelope(envelope)) return undefined;
    const value = envelope.v;
    if ((typeof value === 'object' && value !== null) || envelope.dg !== options.digest) return undefined;
    if (freshness(envelope, this.#o.clock.now()) !== 'fresh') return undefined;
    if (!sameTags(envelope, tags)) return undefined;
    if (!this.#tagsCurrentHere(envelope, tags, tokens)) return undefined;
    let cacheability: Cacheability | undefined;
    if (options.watch !== undefined) {
      const watched = new Map<string, string | undefined>();
      for (let i = 0; i < watch.length; i++) {
        const tag = watch[i] as string;
        const token = tokens !== undefined ? tokens[tags.length + i] : store.peek(this.#o.tags.key(tag));
        // A watched tag without a token gets one first: the async path writes it.
        if (typeof token !== 'string') return undefined;
        watched.set(tag, token);
      }
      cacheability = hitCacheability(envelope, watched);
    }
    this.#o.stats.lookup('hits', options.label, envelope.ms ?? 0);
    this.#o.emit('hit', { key, label: options.label });
    const hit: FetchResult<string | number | boolean | null> = { value: value as string | number | boolean | null, status: 'hit', coalesced: false };
    if (cacheability !== undefined) hit.cacheability = cacheability;
    return hit;
  }

  /**
   * The synchronous `get`; see `Cache.peekValue`. Like `get`, it counts nothing and emits nothing:
   * it serves callers' own bookkeeping (a version number, a page's header list), not lookups.
   */
  peekValue(key: string): string | number | boolean | null | undefined {
    const store = this.#o.io.store;
    if (store.peek === undefined || this.#o.io.closed) return undefined;
    const envelope = store.peek(key);
    if (!isEnvelope(envelope)) return undefined;
    const value = envelope.v;
    if (typeof value === 'object' && value !== null) return undefined;
    if (freshness(envelope, this.#o.clock.now()) === 'expired') return undefined;
    return this.#tagsCurrentHere(envelope, [], undefined) ? (value as string | number | boolean | null) : undefined;
  }

  /**
   * Whether every tag `envelope` carries (learned ones too) still holds the token it was stored
   * under, read in this process: from `tokens` (read with the entry, in the order of `tags`) or the
   * store's `peek`.
   */
  #tagsCurrentHere(envelope: Envelope, tags: readonly string[], tokens: unknown[] | undefined): boolean {
    const stored = envelope.tags;
    const store = this.#o.io.store;
    if (stored === undefined || this.#stillVerified(envelope, store.peekVersion)) return true;
    for (const tag in stored) {
      const i = tokens === undefined || tags.length === 0 ? -1 : tags.indexOf(tag);
      const token = i >= 0 ? tokens?.[i] : store.peek?.(this.#o.tags.key(tag));
      if (token !== stored[tag]) return false;
    }
    if (store.peekVersion !== undefined) this.#verified.set(envelope, { seq: this.#o.log.now(), version: store.peekVersion() });
    return true;
  }

  /** Whether `envelope`'s tags were found current with no write to the store since. */
  #stillVerified(envelope: Envelope, version: (() => unknown) | undefined): boolean {
    if (version === undefined) return false;
    const checked = this.#verified.get(envelope);
    return checked !== undefined && checked.seq === this.#o.log.now() && checked.version === version();
  }

  /** The keys one lookup reads: the entry, its tags' tokens, the watched tags' tokens. */
  #group(key: string, tags: readonly string[], watch: readonly string[]): string[] {
    if (tags.length === 0 && watch.length === 0) return [key];
    const group = [key];
    for (const tag of tags) group.push(this.#o.tags.key(tag));
    for (const tag of watch) group.push(this.#o.tags.key(tag));
    return group;
  }

  async #acquire<T>(key: string, options: LeaseOptions, flight: Flight<Settled>, generation: number, alone = false): Promise<LeaseResult<T>> {
    const looked = await this.#lookup(key, options);
    if (looked !== null && looked.envelope !== undefined) return this.#served<T>(key, { envelope: looked.envelope, tokens: looked.tokens }, options, flight, false);
    this.#o.stats.lookup('misses', options.label);
    this.#o.emit('miss', { key, label: options.label });
    // The store failed: produce uncached, and do not hammer it with writes.
    if (looked === null) return this.#miss(key, options, flight, generation, new Map(), { down: true });
    // Tags without a token get one before producing, so an invalidation meanwhile wins.
    const tagged = options.watch === undefined ? (options.tags ?? []) : [...(options.tags ?? []), ...options.watch];
    const lock = this.#o.lock;
    if (lock === undefined || alone) return this.#miss(key, options, flight, generation, await this.#o.tags.ensure(tagged, looked.tokens), {});

    const token = await this.#o.io.call('lock', () => lock.lock.acquire(key, lock.ttlMs), LOCK_FAILED);
    // The lock's backend failed: produce now rather than wait for a holder that may not exist.
    if (token === LOCK_FAILED) return this.#miss(key, options, flight, generation, await this.#o.tags.ensure(tagged, looked.tokens), {});
    const release = (): void => void this.#o.io.call('unlock', () => lock.lock.release(key, token as string), undefined);
    if (token !== null) {
      // The previous holder may have stored its result between our miss and our acquire.
      let again: Awaited<ReturnType<Fetcher['lookup']>>;
      let tokens: Tokens;
      try {
        again = await this.#lookup(key, options);
        if (again?.envelope !== undefined) {
          release();
          return this.#served<T>(key, { envelope: again.envelope, tokens: again.tokens }, options, flight, true);
        }
        // New tokens are written only by the lock's holder: processes waiting on it read ours.
        // Were each to write its own for a tag nobody used yet (a page's URL tag, on its first
        // render), the last writer would make every other process's result miss, and the crowd
        // the lock holds back would render again.
        tokens = await this.#o.tags.ensure(tagged, again?.tokens ?? looked.tokens);
      } catch (error) {
        release();
        throw error;
      }
      return this.#miss(key, options, flight, generation, tokens, { release });
    }
    // Another process is producing this key: wait for its result, then produce ourselves, with the
    // tokens as they are now (the other process may have created them).
    const waited = await this.#awaitOtherRender(key, options, lock);
    if (waited !== undefined) return this.#served<T>(key, waited, options, flight, true);
    const now = await this.#o.tags.read(tagged, true);
    return now === null ? this.#miss(key, options, flight, generation, new Map(), { down: true }) : this.#miss(key, options, flight, generation, now, {});
  }

  #miss<T>(key: string, options: LeaseOptions, flight: Flight<Settled>, generation: number, tokens: Tokens, how: { down?: boolean; release?: () => void }): LeaseResult<T> {
    const lease = new KeyLease<T>(this.#o, key, options, tokens, generation, how.down === true, (result, error) => {
      how.release?.();
      flight.settle(result, error);
    });
    return { status: 'miss', lease, coalesced: false };
  }

  /**
   * The entry at `key` and its tags' tokens, read in one store call (`io.read`); `null` when the
   * store failed. The single read of the engine: every lookup goes through here.
   */
  lookup(key: string, options: LeaseOptions): Promise<{ envelope: Envelope | undefined; tokens: Tokens } | null> {
    return this.#lookup(key, options);
  }

  async #lookup(key: string, options: LeaseOptions): Promise<{ envelope: Envelope | undefined; tokens: Tokens } | null> {
    const tags = options.tags ?? [];
    const group = this.#group(key, tags, options.watch ?? []);
    const read = (keys: readonly string[]) => this.#o.io.read('fetch', keys);
    // In a render, the scope answers from what it prefetched (one round trip for the whole view).
    const raws = await (options.scope === undefined ? read(group) : options.scope.read(group, read));
    if (raws === null) return null;
    const tokens = TagTokens.fromRaw(options.watch === undefined ? tags : [...tags, ...options.watch], raws.slice(1));
    const envelope = this.#o.entries.open(raws[0]);
    // Tags the producer learned at commit (bubbled up from inside the value): their readers could
    // not name them, so a second read — which the render's scope learns, so the next render of the
    // view reads them in its one prefetch.
    const learned = envelope?.lt?.filter((tag) => !tags.includes(tag)) ?? [];
    if (learned.length > 0) {
      const keys = learned.map((tag) => this.#o.tags.key(tag));
      const more = await (options.scope === undefined ? read(keys) : options.scope.more(key, keys, read));
      if (more === null) return null;
      learned.forEach((tag, i) => tokens.set(tag, typeof more[i] === 'string' ? (more[i] as string) : undefined));
    }
    return { envelope: envelope !== undefined && this.#usable(envelope, options, tokens) ? envelope : undefined, tokens };
  }

  /** Same digest, same tag set, every tag current, not past hard expiry. */
  #usable(envelope: Envelope, options: LeaseOptions, tokens: Tokens): boolean {
    return envelope.dg === options.digest && sameTags(envelope, options.tags ?? []) && tagsCurrent(envelope, tokens) && freshness(envelope, this.#o.clock.now()) !== 'expired';
  }

  /** Record and return a found entry; a stale one comes with a lease to refresh it, if none is under way. */
  #served<T>(key: string, found: Found, options: LeaseOptions, flight: Flight<Settled>, coalesced: boolean): LeaseResult<T> {
    const { envelope, tokens } = found;
    const fresh = freshness(envelope, this.#o.clock.now()) === 'fresh';
    const status = fresh ? 'hit' : 'stale';
    this.#o.stats.lookup(fresh ? 'hits' : 'stale', options.label, envelope.ms ?? 0);
    this.#o.emit(status, { key, label: options.label });
    // Computed for joiners too: a caller that joined this lookup reports what the value depends on.
    const shared = hitCacheability(envelope, watchedTokens(options.watch ?? [], tokens));
    flight.settle({ value: envelope.v, status, cacheability: shared });
    const cacheability = options.watch === undefined ? undefined : shared;
    if (fresh) return { status, value: envelope.v as T, coalesced, cacheability };
    const refreshing = this.#o.flights.openRefresh(key, options.tags ?? []);
    if (refreshing === undefined) return { status, value: envelope.v as T, coalesced, cacheability };
    const refresh = new KeyLease<T>(this.#o, key, options, tokens, this.#o.flights.generation, false, (_, error) => refreshing.settle(undefined, error), true);
    return { status, value: envelope.v as T, coalesced, refresh, cacheability };
  }

  #refresh<T>(lease: Lease<T>, producer: Producer<T>, options: FetchOptions): void {
    void (async () => {
      try {
        const { value, ms } = await this.#produce(producer, options.label);
        await lease.commit(value, { ...commitOptions(options, options.collected?.()), ms });
      } catch (error) {
        lease.abandon();
        this.#o.report(error, 'refresh');
      }
    })();
  }

  /**
   * Poll for the entry another process is producing, up to the lock's wait, or until its lock is
   * released without an entry to read (a value that may not be stored: a hole, a piece of TTL 0 or
   * served stale inside): then there is nothing to wait for, and this caller produces its own.
   */
  async #awaitOtherRender(key: string, options: LeaseOptions, lock: LockOptions): Promise<Found | undefined> {
    const deadline = performance.now() + lock.waitMs;
    const found = (looked: Awaited<ReturnType<Fetcher['lookup']>>): Found | undefined => (looked?.envelope === undefined ? undefined : { envelope: looked.envelope, tokens: looked.tokens });
    while (performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, lock.pollMs));
      const looked = await this.#lookup(key, options);
      if (looked === null) return undefined;
      if (looked.envelope !== undefined) return found(looked);
      const token = await this.#o.io.call('lock', () => lock.lock.acquire(key, lock.ttlMs), LOCK_FAILED);
      if (token === LOCK_FAILED) return undefined;
      if (token !== null) {
        // Free: the holder is done. Let go at once, so every waiter goes on in parallel, and look
        // once more in case it stored its value just before our last look.
        void this.#o.io.call('unlock', () => lock.lock.release(key, token), undefined);
        return found(await this.#lookup(key, options));
      }
    }
    return undefined;
  }

  async #produce<T>(producer: Producer<T>, label: string | undefined): Promise<{ value: T; ms: number }> {
    const started = performance.now();
    const value = await producer();
    const ms = performance.now() - started;
    this.#o.stats.render(label, ms);
    return { value, ms };
  }
}

/** A lease on one stored key: see `Lease`. */
class KeyLease<T> implements Lease<T> {
  readonly key: string;
  readonly #o: FetcherOptions;
  readonly #options: LeaseOptions;
  readonly #tokens: Tokens;
  readonly #generation: number;
  readonly #down: boolean;
  readonly #end: (result: Settled | undefined, error?: unknown) => void;
  readonly #refresh: boolean;
  /** When the lease was taken (before producing), by the cache's clock. */
  readonly #since: number;
  /** The tokens the value was stored with, once it was. */
  #written: Tokens | undefined;
  #ended = false;

  constructor(o: FetcherOptions, key: string, options: LeaseOptions, tokens: Tokens, generation: number, down: boolean, end: (result: Settled | undefined, error?: unknown) => void, refresh = false) {
    this.#o = o;
    this.key = key;
    this.#options = options;
    this.#tokens = tokens;
    this.#generation = generation;
    this.#down = down;
    this.#end = end;
    this.#refresh = refresh;
    this.#since = o.clock.now();
  }

  get void(): boolean {
    return this.#down || this.#ended || this.#o.flights.changedSince([this.key, ...this.#tokenKeys(this.#options.tags ?? [])], this.#generation);
  }

  async store(value: unknown, options: CommitOptions & { key?: string }): Promise<boolean> {
    if (this.#down) return false;
    const key = options.key ?? this.key;
    const { tags: tagsFor, tokens: observed } = this.#tagsOf(options);
    const watched = [key, ...this.#tokenKeys(tagsFor)];
    // Test-only: the guard switched off (no generation check, tokens read at commit), so the race
    // tests can show they fail without it. Never set this in an application.
    const unguarded = process.env.NJKC_TEST_UNGUARDED_LEASE === '1';
    if (!unguarded && this.#o.flights.changedSince(watched, this.#generation)) return false;
    const tokens: Tokens = new Map();
    const unknown: string[] = [];
    for (const tag of tagsFor) {
      const token = unguarded ? undefined : (this.#tokens.get(tag) ?? observed?.get(tag));
      if (token === undefined) unknown.push(tag);
      else tokens.set(tag, token);
    }
    if (unknown.length > 0) {
      // Tags known only now (a data loader declared them with its data): their tokens could not be
      // read before producing. A token written since the lease was taken means the tag was
      // invalidated meanwhile, maybe after its data was loaded; another process's invalidation is
      // in no log here (no bus), so the token's own time tells. A tag without a token was never
      // invalidated: it gets one now.
      const read = await this.#o.tags.read(unknown, false);
      if (read === null) return false;
      if (!unguarded) {
        for (const tag of unknown) {
          const token = read.get(tag);
          if (token !== undefined && !(tokenTime(token) < this.#since - CLOCK_SKEW_MS)) return false;
        }
      }
      const created = await this.#o.tags.ensure(unknown, read);
      for (const tag of unknown) tokens.set(tag, created.get(tag));
    }
    // Checked again after the last await: the write goes out in the same tick as the check.
    if (!unguarded && this.#o.flights.changedSince(watched, this.#generation)) return false;
    const own = this.#options.tags ?? [];
    const learned = tagsFor.filter((tag) => !own.includes(tag));
    this.#written = tokens;
    return this.#o.entries.write(key, value, options.ttl, { staleTtl: options.staleTtl, tags: tagsFor }, { digest: this.#options.digest, ms: options.ms, tokens, learned, freshUntil: options.freshUntil });
  }

  async commit(value: T, options: CommitOptions & { key?: string } = {}): Promise<boolean> {
    if (this.#ended) return false;
    try {
      return await this.store(value, options);
    } finally {
      // Computed for joiners too (they may watch tags this caller did not).
      this.#finish({ value, status: 'miss', cacheability: this.cacheability(options) });
    }
  }

  /**
   * What a value committed with `options` depends on: the tokens this lease read (its own tags and
   * the watched ones), the tags learned at commit, and when it stops being fresh.
   */
  cacheability(options: CommitOptions): Cacheability {
    const tokens = new Map(this.#tokens);
    if (options.tags !== undefined) for (const tag of options.tags) if (!tokens.has(tag)) tokens.set(tag, this.#written?.get(tag) ?? options.tokens?.get(tag));
    const lifetime = this.#o.entries.lifetime(options.ttl, options.freshUntil);
    const now = this.#o.clock.now();
    const freshUntil = lifetime === 'bounded-out' || lifetime.kind === 'skip' ? now : lifetime.ms === undefined ? null : now + lifetime.ms;
    return { tokens, freshUntil };
  }

  abandon(error?: unknown, options?: { alone?: boolean }): void {
    this.#finish(error === undefined && options?.alone === true ? ALONE : undefined, error);
  }

  #finish(result: Settled | undefined, error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#end(this.#refresh ? undefined : result, error);
  }

  #tagsOf(options: CommitOptions): { tags: string[]; tokens: ReadonlyMap<string, string | undefined> | undefined } {
    const own = this.#options.tags ?? [];
    const extra = options.tags ?? [];
    return { tags: extra.length === 0 ? [...own] : [...new Set([...own, ...extra])], tokens: options.tokens };
  }

  #tokenKeys(tags: readonly string[]): string[] {
    return tags.map((tag) => this.#o.tags.key(tag));
  }
}

/** What a found entry depends on: every tag it carries (learned ones too), the watched tags, its freshness. */
function hitCacheability(envelope: Envelope, watched: ReadonlyMap<string, string | undefined>): Cacheability {
  const tokens = new Map<string, string | undefined>(watched);
  for (const tag in envelope.tags ?? {}) tokens.set(tag, envelope.tags?.[tag]);
  return { tokens, freshUntil: envelope.fresh };
}

/** What a joined value depends on, with `watch` added (unknown tokens) where the producer did not read them. */
function withWatched(found: Cacheability | undefined, watch: readonly string[]): Cacheability {
  const tokens = new Map(found?.tokens ?? []);
  for (const tag of watch) if (!tokens.has(tag)) tokens.set(tag, undefined);
  return { tokens, freshUntil: found?.freshUntil ?? null, ...(found?.personal === true ? { personal: true } : {}) };
}

function watchedTokens(watch: readonly string[], tokens: Tokens): Map<string, string | undefined> {
  return new Map(watch.map((tag) => [tag, tokens.get(tag)]));
}

/** The commit of a produced value: its TTL rules, and what bubbled up from inside it. */
function commitOptions(options: FetchOptions, inner: Cacheability | undefined): CommitOptions {
  const commit: CommitOptions = { ttl: options.ttl, staleTtl: options.staleTtl };
  if (inner === undefined) return commit;
  if (inner.tokens.size > 0) {
    commit.tags = [...inner.tokens.keys()];
    commit.tokens = inner.tokens;
  }
  if (inner.freshUntil !== null) commit.freshUntil = inner.freshUntil;
  // Rendered per request inside (a hole): this value must not be stored and shared.
  if (inner.personal === true) commit.freshUntil = 0;
  return commit;
}
