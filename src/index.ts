/**
 * `nunjucks-fragment-cache`: the cache, its keys and its errors. The integrations have their own
 * entry points: `./nunjucks` (the template tag and render helpers), `./http` (page caching),
 * `./stores` (stores, the first tier, buses, locks) and `./testing` (a fake clock and the store
 * conformance suite). docs/api.md lists every name; test/docs/api.test.ts checks the list.
 */
export { createCache } from './compose/create-cache.js';
export { fragmentKey, viewKey, encodeVaryOn, defaultKeyFunction } from './core/keys.js';
export { parseVaryOn, formatVaryOn } from './core/vary-input.js';
export { cacheable, implicitTag } from './core/cacheability.js';
export {
  CacheError,
  StoreSpecError,
  StoreTimeoutError,
  CircuitOpenError,
  EntryTooLargeError,
  MissingDriverError,
  StoreConnectError,
  PurgeError,
  PageCacheError,
} from './contracts/errors.js';

export type { Cache } from './core/cache.js';
export type { CacheOptions } from './core/options.js';
export type { Clock } from './contracts/clock.js';
export type { CacheErrorCode } from './contracts/errors.js';
export type * as CacheTypes from './types/cache.js';
