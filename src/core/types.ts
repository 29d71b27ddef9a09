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
   * An integration's own bookkeeping read (a page cache's Vary index): not counted in `stats()`
   * and no `hit` event, so one page view counts as one lookup. `peek` only.
   */
  quiet?: boolean;
  /**
   * The render this lookup belongs to (`cache.readScope(id)`): lookups of one render are answered
   * from one prefetch of what the last render of `id` looked up.
   */
  scope?: ReadScope;
}

/** Produces a value on a miss: a fragment body, a view, a page handler, a `getOrSet` function. */
export type Producer<T> = () => T | Promise<T>;

export type FetchStatus = 'hit' | 'miss' | 'stale';

export interface FetchResult<T> {
  value: T;
  status: FetchStatus;
  /** True when this caller waited for a lookup or render another caller had started. */
  coalesced: boolean;
}

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
