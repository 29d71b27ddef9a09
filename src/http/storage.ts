/**
 * The page cache's store calls, each failing open: a store that errors, times out or holds
 * garbage reads as a miss and skips the write, and the page is served uncached. The Cache already
 * fails open by default; these also cover caches created with `failOpen: false`.
 */
import type { Cache } from '../core/cache.js';
import { formatIndex, formatPage, type PageEntry, type PageIndex } from './entry.js';
import type { ResolvedPageOptions } from './options.js';

/** The stored value (parse it with `parseIndex`), or `undefined`. */
export async function readIndex(cache: Cache, key: string, version: number | undefined): Promise<unknown> {
  return safely(cache, 'page:get', () => cache.get<unknown>(key, undefined, version));
}

/** The stored value (parse it with `parsePage`), or `undefined`. */
export async function readPage(cache: Cache, key: string, version: number | undefined): Promise<unknown> {
  return safely(cache, 'page:get', () => cache.get<unknown>(key, undefined, version));
}

export interface PageWrite {
  indexKey: string;
  index: PageIndex;
  pageKey: string;
  entry: PageEntry;
  /** Seconds; `null` = until invalidated. */
  ttl: number | null;
  tags: readonly string[];
}

/**
 * Store the header list and the page. The header list lives as long as the page and its stale
 * window, and is rewritten with every page so it never expires before the variants it leads to.
 */
export async function writePage(cache: Cache, opts: ResolvedPageOptions, write: PageWrite, cancelled: () => boolean): Promise<void> {
  const hardTtl = write.ttl === null ? null : write.ttl + opts.staleTtl;
  const version = opts.version === undefined ? {} : { version: opts.version };
  await safely(cache, 'page:set', () => cache.set(write.indexKey, formatIndex(write.index), hardTtl, version));
  if (cancelled()) return;
  await safely(cache, 'page:set', () => cache.set(write.pageKey, formatPage(write.entry), write.ttl, { ...version, tags: write.tags, staleTtl: opts.staleTtl }));
}

/** Whether something was there. */
export async function deletePage(cache: Cache, key: string, version: number | undefined): Promise<boolean> {
  return (await safely(cache, 'page:delete', () => cache.delete(key, version))) === true;
}

export async function safely<T>(cache: Cache, operation: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    report(cache, error, operation);
    return undefined;
  }
}

/** Report to the cache's `error` listeners, as the cache reports its own failures. */
export function report(cache: Cache, error: unknown, operation: string): void {
  if (cache.listenerCount('error') > 0) cache.emit('error', { error, operation });
}

/** Pages count in `stats()` under their label, and emit `hit`/`miss`/`stale`, like fragments. */
export function notify(cache: Cache, kind: 'hit' | 'miss' | 'stale', key: string, opts: ResolvedPageOptions): void {
  cache.recordLookup(kind, key, opts.label, opts.version);
}
