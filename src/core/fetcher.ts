import type { Clock } from './clock.js';
import type { Entries } from './entries.js';
import { freshness, isEnvelope, type Envelope } from './envelope.js';
import type { Flight, Flights } from './flights.js';
import type { GuardedStore } from './guarded-store.js';
import type { LockOptions } from './options.js';
import type { StatsRecorder } from './stats.js';
import { TagTokens, sameTags, tagsCurrent, type Tokens } from './tag-tokens.js';
import type { FetchOptions, FetchResult, FetchStatus, LookupEvent, Producer } from './types.js';

export interface FetcherOptions {
  io: GuardedStore;
  entries: Entries;
  tags: TagTokens;
  flights: Flights<FetchResult<unknown>>;
  stats: StatsRecorder;
  clock: Clock;
  lock: LockOptions | undefined;
  emit: (event: 'hit' | 'miss' | 'stale', payload: LookupEvent) => void;
  emitCoalesced: (payload: LookupEvent & { status: FetchStatus }) => void;
  report: (error: unknown, operation: string) => void;
}

type Found = { envelope: Envelope; tokens: Tokens };

const LOCK_FAILED = Symbol('lock failed');

/**
 * The engine under fragments, views, pages and `getOrSet`: one flight per key (callers join it),
 * lookup of the entry and its tags' tokens in one store call, stale-while-revalidate, the optional
 * distributed lock, and a write that an invalidation during the render cancels.
 */
export class Fetcher {
  readonly #o: FetcherOptions;

  constructor(options: FetcherOptions) {
    this.#o = options;
  }

  fetch<T>(key: string, producer: Producer<T>, options: FetchOptions): Promise<FetchResult<T>> {
    const { flights, stats } = this.#o;
    const tags = options.tags ?? [];
    const signature = options.digest === undefined && tags.length === 0 ? '' : `${options.digest ?? ''}|${[...tags].sort().join('\u0000')}`;
    const running = flights.running(key, signature);
    if (running !== undefined) {
      stats.count('coalesced');
      // Registered here, so the event fires in this caller's async context (per-request tracing).
      return running.promise.then((result) => {
        this.#o.emitCoalesced({ key, label: options.label, status: result.status });
        return { ...result, coalesced: true };
      }) as Promise<FetchResult<T>>;
    }
    const flight = flights.start(key, tags, (f) => this.#lookupOrProduce(key, producer, options, f), signature);
    return flight.promise as Promise<FetchResult<T>>;
  }

  /** Synchronous warm hit from a store that holds the entry in this process; see `Cache.peek`. */
  peek(key: string, options: FetchOptions): FetchResult<string | number | boolean | null> | undefined {
    const store = this.#o.io.store;
    if (store.peek === undefined || this.#o.io.closed) return undefined;
    const tags = options.tags;
    let envelope: unknown;
    let tokens: unknown[] | undefined;
    if (options.scope !== undefined && store.peekMany !== undefined) {
      // A store that reads in this process, one statement at a time: the render's scope reads the
      // whole view in one (entries and tag tokens), as it does in one round trip elsewhere.
      const group = tags === undefined || tags.length === 0 ? [key] : [key, ...tags.map((tag) => this.#o.tags.key(tag))];
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
    if (tags !== undefined && tags.length > 0) {
      const current: Tokens = new Map();
      for (let i = 0; i < tags.length; i += 1) {
        const tag = tags[i] as string;
        const token = tokens === undefined ? store.peek(this.#o.tags.key(tag)) : tokens[i];
        if (typeof token !== 'string') return undefined;
        current.set(tag, token);
      }
      if (!sameTags(envelope, tags) || !tagsCurrent(envelope, current)) return undefined;
    } else if (envelope.tags !== undefined) {
      return undefined;
    }
    if (options.quiet !== true) {
      this.#o.stats.lookup('hits', options.label, envelope.ms ?? 0);
      this.#o.emit('hit', { key, label: options.label });
    }
    return { value: value as string | number | boolean | null, status: 'hit', coalesced: false };
  }

  async #lookupOrProduce<T>(key: string, producer: Producer<T>, options: FetchOptions, flight: Flight<FetchResult<unknown>>): Promise<FetchResult<unknown>> {
    const looked = await this.#lookup(key, options);
    if (looked !== null && looked.envelope !== undefined) return this.#served(key, { envelope: looked.envelope, tokens: looked.tokens }, producer, options, false);
    this.#o.stats.lookup('misses', options.label);
    this.#o.emit('miss', { key, label: options.label });
    // The store failed: render uncached, and do not hammer it with writes.
    if (looked === null) return { value: (await this.#produce(producer, options.label)).value, status: 'miss', coalesced: false };
    // Tags without a token get one before rendering, so an invalidation during the render wins.
    const tokens = await this.#o.tags.ensure(options.tags ?? [], looked.tokens);
    const lock = this.#o.lock;
    if (lock === undefined) return this.#produceAndStore(key, producer, options, flight, tokens);

    const token = await this.#o.io.call('lock', () => lock.lock.acquire(key, lock.ttlMs), LOCK_FAILED);
    // The lock's backend failed: render now rather than wait for a holder that may not exist.
    if (token === LOCK_FAILED) return this.#produceAndStore(key, producer, options, flight, tokens);
    if (token !== null) {
      try {
        // The previous holder may have stored its result between our miss and our acquire.
        const again = await this.#lookup(key, options);
        if (again?.envelope !== undefined) return this.#served(key, { envelope: again.envelope, tokens: again.tokens }, producer, options, true);
        return await this.#produceAndStore(key, producer, options, flight, tokens);
      } finally {
        await this.#o.io.call('unlock', () => lock.lock.release(key, token), undefined);
      }
    }
    // Another process is rendering this key: wait for its result, then render ourselves.
    const waited = await this.#awaitOtherRender(key, options, lock);
    if (waited !== undefined) return this.#served(key, waited, producer, options, true);
    return this.#produceAndStore(key, producer, options, flight, tokens);
  }

  async #produceAndStore<T>(key: string, producer: Producer<T>, options: FetchOptions, flight: Flight<unknown>, tokens: Tokens): Promise<FetchResult<unknown>> {
    const { value, ms } = await this.#produce(producer, options.label);
    if (!flight.detached) {
      try {
        await this.#o.entries.write(key, value, options.ttl, options, { digest: options.digest, ms, tokens });
      } catch (error) {
        // Not storable (undefined, circular, BigInt): the callers still get what was produced.
        this.#o.report(error, 'set');
      }
    }
    return { value, status: 'miss', coalesced: false };
  }

  /** The entry and its tags' tokens, read in one store call. `null` when the store failed. */
  async #lookup(key: string, options: FetchOptions): Promise<{ envelope: Envelope | undefined; tokens: Tokens } | null> {
    const tags = options.tags ?? [];
    const group = tags.length === 0 ? [key] : [key, ...tags.map((tag) => this.#o.tags.key(tag))];
    const read = (keys: readonly string[]) => this.#o.io.read('fetch', keys);
    // In a render, the scope answers from what it prefetched (one round trip for the whole view).
    const raws = await (options.scope === undefined ? read(group) : options.scope.read(group, read));
    if (raws === null) return null;
    const tokens = TagTokens.fromRaw(tags, raws.slice(1));
    const envelope = this.#o.entries.open(raws[0]);
    return { envelope: envelope !== undefined && this.#usable(envelope, options, tokens) ? envelope : undefined, tokens };
  }

  /** Same digest, same tag set, every tag current, not past hard expiry. */
  #usable(envelope: Envelope, options: FetchOptions, tokens: Tokens): boolean {
    return envelope.dg === options.digest && sameTags(envelope, options.tags ?? []) && tagsCurrent(envelope, tokens) && freshness(envelope, this.#o.clock.now()) !== 'expired';
  }

  /** Record and return a found entry; a stale one is returned at once and refreshed in the background. */
  #served<T>(key: string, found: Found, producer: Producer<T>, options: FetchOptions, coalesced: boolean): FetchResult<unknown> {
    const { envelope, tokens } = found;
    const fresh = freshness(envelope, this.#o.clock.now()) === 'fresh';
    this.#o.stats.lookup(fresh ? 'hits' : 'stale', options.label, envelope.ms ?? 0);
    this.#o.emit(fresh ? 'hit' : 'stale', { key, label: options.label });
    if (!fresh) {
      this.#o.flights.refresh(
        key,
        options.tags ?? [],
        async (flight) => {
          const { value, ms } = await this.#produce(producer, options.label);
          if (flight.detached) return;
          const current = await this.#o.tags.ensure(options.tags ?? [], tokens);
          await this.#o.entries.write(key, value, options.ttl, options, { digest: options.digest, ms, tokens: current });
        },
        (error) => this.#o.report(error, 'refresh'),
      );
    }
    return { value: envelope.v, status: fresh ? 'hit' : 'stale', coalesced };
  }

  /** Poll for the entry another process is rendering, up to the lock's wait. */
  async #awaitOtherRender(key: string, options: FetchOptions, lock: LockOptions): Promise<Found | undefined> {
    const deadline = performance.now() + lock.waitMs;
    while (performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, lock.pollMs));
      const looked = await this.#lookup(key, options);
      if (looked === null) return undefined;
      if (looked.envelope !== undefined) return { envelope: looked.envelope, tokens: looked.tokens };
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
