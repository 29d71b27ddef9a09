/** nunjucks-fragment-cache — the whole public surface. */
export { Cache, createCache } from './core/cache.js';
export type { CacheOptions } from './core/options.js';
export type { WriteOptions, FetchOptions, FetchResult, FetchStatus, Producer, CacheEvents, LookupEvent, InvalidateEvent, CacheErrorEvent } from './core/types.js';
export { ManualClock, systemClock } from './core/clock.js';
export type { Clock, EpochMs } from './core/clock.js';
export { CacheError, StoreSpecError, StoreTimeoutError, CircuitOpenError } from './core/errors.js';
export type { CacheErrorCode } from './core/errors.js';
export type { BreakerOptions, CircuitState } from './core/guard.js';
export { fragmentKey, viewKey, tagKey, makeKey, encodeVaryOn, defaultKeyFunction } from './core/keys.js';
export type { KeyFunction } from './core/keys.js';
export type { CacheStats, LabelStats } from './core/stats.js';
export type { TtlSeconds, TtlInput } from './core/ttl.js';

export { createStore, isStore } from './stores/create-store.js';
export type { StoreSpec } from './stores/create-store.js';
export { createMemoryStore, DEFAULT_MEMORY_BYTES } from './stores/memory.js';
export type { MemoryStoreOptions } from './stores/memory.js';
export { createSqliteStore } from './stores/sqlite.js';
export type { SqliteStoreOptions } from './stores/sqlite.js';
export { createRedisStore } from './stores/redis.js';
export type { RedisStoreOptions } from './stores/redis.js';
export { KeyvStore } from './stores/keyv-store.js';
export type { Store, StoreEntry, StoreUsage } from './stores/types.js';

export { CacheExtension } from './nunjucks/extension.js';
export type { CacheExtensionOptions } from './nunjucks/extension.js';
export { installCache, createEnvironment, cacheOf } from './nunjucks/install.js';
export type { InstallOptions, EnvironmentOptions, NunjucksEnvironment } from './nunjucks/install.js';
export { render, renderString } from './nunjucks/render.js';
export { renderView } from './view/render-view.js';
export type { RenderViewOptions } from './view/render-view.js';
