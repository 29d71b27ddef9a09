import type { Cacheability } from './cacheability.js';
import type { EpochMs } from '../contracts/clock.js';
import type { ReadScope } from './read-plans.js';
import type { TtlInput } from './ttl.js';

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
  /**
   * The render this lookup belongs to (`cache.readScope(id)`): lookups of one render are answered
   * from one prefetch of what the last render of `id` looked up.
   */
  scope?: ReadScope;
  /**
   * Tags read with the entry but neither stored in it nor matched against it: their current tokens
   * come back in the result's `cacheability` (and tags without a token get one on a miss). The tag
   * uses the implicit tag of the entry's own key, so the values it is rendered into learn when
   * it is invalidated. Given (even empty), the result carries `cacheability`.
   */
  watch?: readonly string[];
  /**
   * Called once the producer has resolved: what the value depends on besides its own tags (what
   * bubbled up from the pieces rendered inside it). Its tags are stored with the entry and its
   * `freshUntil` bounds the entry's lifetime.
   */
  collected?: () => Cacheability | undefined;
}

/** Produces a value on a miss: a fragment body, a view, a page handler, a `getOrSet` function. */
export type Producer<T> = () => T | Promise<T>;

export type FetchStatus = 'hit' | 'miss' | 'stale';

export interface FetchResult<T> {
  value: T;
  status: FetchStatus;
  /** True when this caller waited for a lookup or render another caller had started. */
  coalesced: boolean;
  /** What the value depends on, for the values around it (when `watch` was given). */
  cacheability?: Cacheability;
}

/** Options of `Cache.lease`: what the value will be looked up and joined by. */
export interface LeaseOptions {
  /** Overrides the cache's version for this call. */
  version?: number;
  /** Tags the entry must carry; their tokens are read (and created) when the lease is taken. */
  tags?: readonly string[];
  /** Digest of whatever produces the value; a different digest misses. */
  digest?: string;
  /** Name under which hits and misses are counted in `stats().byLabel`. */
  label?: string;
  /** The render this lookup belongs to (`cache.readScope(id)`), as for `fetch`. */
  scope?: ReadScope;
  /** As for `fetch`. */
  watch?: readonly string[];
}

/** What a lease holder decides once the value is produced. */
export interface CommitOptions {
  /** Seconds; as in `set` (`0` or less: nothing is stored). */
  ttl?: TtlInput;
  /** Seconds past the TTL during which the entry may be served stale. */
  staleTtl?: number;
  /**
   * Tags decided after producing (e.g. learned from nested fragments). Tags given to `lease` are
   * always carried. For each tag, pass the token it was observed under in `tokens` (so an
   * invalidation since then voids the commit); a tag without one is checked against the
   * invalidations this process has seen since the lease was taken.
   */
  tags?: readonly string[];
  tokens?: ReadonlyMap<string, string | undefined>;
  /**
   * The value stops being fresh no later than this (epoch ms; a lifetime bubbled up from inside it).
   * At or before now, nothing is stored.
   */
  freshUntil?: EpochMs | null;
  /** How long producing took, ms (reported as time saved by hits). */
  ms?: number;
}

/**
 * The right to store one produced value, taken on a miss. `commit` stores it unless the key, one of
 * its tags or the whole cache was invalidated (here, or in another process through the store's
 * subscribe hook) since the lease was taken; `abandon` gives up. Either settles the callers who
 * joined this lease. Other keys may be written under the same guard with `store` before `commit`.
 */
export interface Lease<T> {
  /** The stored key. */
  readonly key: string;
  /** Whether a commit would now be a no-op (an invalidation since the lease was taken). */
  readonly void: boolean;
  /** Store `value` at `key` (or at another stored key) under this lease's guard; whether it was stored. */
  store(value: unknown, options: CommitOptions & { key?: string }): Promise<boolean>;
  /** Store `value` at the lease's key (or another stored key), hand it to joiners and end the lease; whether it was stored. */
  commit(value: T, options?: CommitOptions & { key?: string }): Promise<boolean>;
  /**
   * End the lease without storing; joiners get `error` (or look up again themselves). With `alone`,
   * the value was for this caller only (it may not be shared: a personal part, a `private`
   * response): each joiner looks up and produces its own, side by side, rather than one after
   * another.
   */
  abandon(error?: unknown, options?: { alone?: boolean }): void;
}

/** `Cache.lease`: a value found (fresh or stale), a value a joined flight produced, or a lease to produce it. */
export type LeaseResult<T> =
  | {
      status: 'hit' | 'stale';
      value: T;
      coalesced: boolean;
      /** On a stale hit: a lease to refresh the value in the background, when no refresh of it is under way here. */
      refresh?: Lease<T>;
      lease?: undefined;
      /** What the value depends on (when `watch` was given). */
      cacheability?: Cacheability;
    }
  | { status: 'miss'; value: T; coalesced: true; lease?: undefined; refresh?: undefined; cacheability?: Cacheability }
  | { status: 'miss'; lease: Lease<T>; coalesced: false; refresh?: undefined };

export interface LookupEvent {
  /** The stored key. */
  key: string;
  /** Fragment name, `view:<template>`, or the label passed to `fetch`. */
  label: string | undefined;
}

export interface InvalidateEvent {
  kind: 'keys' | 'tags' | 'clear';
  /** Stored keys removed (kind "keys") or tag token keys rewritten (kind "tags"). */
  keys?: readonly string[];
  tags?: readonly string[];
  /** For `invalidateFragment`: the fragment's name and vary-on values (the key only has their hash). */
  fragment?: { name: string; varyOn: readonly unknown[] };
}

export interface CacheErrorEvent {
  error: unknown;
  /** The store operation that failed ("fetch", "set", "refresh", …). */
  operation: string;
}

export interface CacheEvents {
  hit: [LookupEvent];
  miss: [LookupEvent];
  stale: [LookupEvent];
  /** A caller joined a lookup or render another caller had started, and got its result. */
  coalesced: [LookupEvent & { status: FetchStatus }];
  invalidate: [InvalidateEvent];
  /** Store failures (always failed open) and failed background refreshes. Emitted only when someone listens. */
  error: [CacheErrorEvent];
  /** The store answered again after the circuit had opened. */
  recover: [];
}
