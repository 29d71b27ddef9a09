/**
 * What the dashboard remembers beyond `cache.stats()`: hits and misses per time bucket (for the
 * chart) and the most recent invalidations. Fed by the cache's events, in this process only.
 */
import { formatVaryOn, type Cache, type CacheTypes } from '../../src/index.js';

type InvalidateEvent = CacheTypes.InvalidateEvent;
type LookupEvent = CacheTypes.LookupEvent;

export interface Bucket {
  /** Start of the bucket, epoch ms. */
  start: number;
  hits: number;
  misses: number;
}

export interface InvalidationRecord {
  at: number;
  /** What was removed or made stale, for people: "fragment card", "tags post:42, post-titles", "everything". */
  what: string;
  /** Where it came from: "POST /posts/42/edit", or "app" outside a request. */
  source: string;
}

export interface ActivityOptions {
  /** Width of one chart bar, ms. Default 10 000. */
  bucketMs?: number;
  /** Bars kept. Default 60 (ten minutes). */
  buckets?: number;
  /** Invalidations kept. Default 20. */
  keep?: number;
  now?: () => number;
  /** Where the current request's "METHOD /path" comes from. */
  source?: () => string | undefined;
}

export class CacheActivity {
  readonly bucketMs: number;
  readonly #buckets: number;
  readonly #keep: number;
  readonly #now: () => number;
  readonly #source: () => string | undefined;
  readonly #counts = new Map<number, Bucket>();
  readonly #invalidations: InvalidationRecord[] = [];
  readonly #detach: () => void;

  constructor(cache: Cache, options: ActivityOptions = {}) {
    this.bucketMs = options.bucketMs ?? 10_000;
    this.#buckets = options.buckets ?? 60;
    this.#keep = options.keep ?? 20;
    this.#now = options.now ?? Date.now;
    this.#source = options.source ?? (() => undefined);
    const onHit = (_: LookupEvent) => this.#count('hits');
    const onMiss = (_: LookupEvent) => this.#count('misses');
    const onInvalidate = (event: InvalidateEvent) => this.#record(event);
    cache.on('hit', onHit);
    cache.on('stale', onHit);
    cache.on('miss', onMiss);
    cache.on('invalidate', onInvalidate);
    this.#detach = () => {
      cache.off('hit', onHit);
      cache.off('stale', onHit);
      cache.off('miss', onMiss);
      cache.off('invalidate', onInvalidate);
    };
  }

  /** The last `buckets` buckets, oldest first, empty ones included. */
  series(): Bucket[] {
    const current = this.#bucketStart(this.#now());
    const series: Bucket[] = [];
    for (let i = this.#buckets - 1; i >= 0; i -= 1) {
      const start = current - i * this.bucketMs;
      series.push({ ...(this.#counts.get(start) ?? { start, hits: 0, misses: 0 }) });
    }
    return series;
  }

  /** Newest first. */
  invalidations(): InvalidationRecord[] {
    return this.#invalidations.map((record) => ({ ...record }));
  }

  dispose(): void {
    this.#detach();
  }

  #bucketStart(at: number): number {
    return at - (at % this.bucketMs);
  }

  #count(field: 'hits' | 'misses'): void {
    const start = this.#bucketStart(this.#now());
    let bucket = this.#counts.get(start);
    if (bucket === undefined) {
      bucket = { start, hits: 0, misses: 0 };
      this.#counts.set(start, bucket);
      const oldest = start - this.#buckets * this.bucketMs;
      for (const key of this.#counts.keys()) if (key <= oldest) this.#counts.delete(key);
    }
    bucket[field] += 1;
  }

  #record(event: InvalidateEvent): void {
    this.#invalidations.unshift({ at: this.#now(), what: describeInvalidation(event), source: this.#source() ?? 'app' });
    this.#invalidations.length = Math.min(this.#invalidations.length, this.#keep);
  }
}

export function describeInvalidation(event: InvalidateEvent): string {
  if (event.kind === 'clear') return 'everything (clear)';
  if (event.kind === 'tags') return `${(event.tags ?? []).length === 1 ? 'tag' : 'tags'} ${(event.tags ?? []).join(', ')}`;
  // The key holds only a hash of the vary-on values; the event carries them.
  if (event.fragment !== undefined) return `fragment ${event.fragment.name}${event.fragment.varyOn.length === 0 ? '' : ` ${formatVaryOn(event.fragment.varyOn)}`}`;
  return (event.keys ?? []).map(describeKey).join(', ');
}

/**
 * A stored key, for people: `:1:fragment:card:5f0c…` → "fragment card #5f0c8e1a" (the vary-on values
 * are hashed into the key, so only their digest can be shown).
 */
export function describeKey(key: string): string {
  const match = /:\d+:(fragment|view|page):([^:]*)(?::(.*))?$/.exec(key);
  if (match === null) return `key ${key}`;
  const [, kind, name = '', rest] = match;
  let readable = name;
  try {
    readable = decodeURIComponent(name);
  } catch {
    // keep it encoded
  }
  if (rest === undefined) return `${kind} ${readable}`;
  return kind === 'fragment' ? `${kind} ${readable} #${rest.slice(0, 8)}` : `${kind} ${readable} ${rest}`;
}
