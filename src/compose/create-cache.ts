/**
 * `createCache`: the cache from options as a person writes them, with the store named by a URL, a
 * Keyv or an adapter. The core's `Cache` takes a built `Store`; building one from a URL needs the
 * stores, so it happens here, above both.
 */
import { Cache } from '../core/cache.js';
import type { CacheOptions } from '../core/options.js';
import { createStore } from './create-store.js';

/** Create a cache. `createCache({ store: 'redis://127.0.0.1:6379' })`. */
export function createCache(options: CacheOptions = {}): Cache {
  return new Cache({ ...options, store: createStore(options.store) });
}
