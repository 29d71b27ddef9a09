/**
 * `nunjucks-fragment-cache/stores`: the stores (memory, SQLite, Redis, PostgreSQL), the in-process
 * first tier and the buses that keep it coherent, the distributed lock, and the `Store` contract
 * for a store of your own. Drivers are optional peer dependencies, loaded on first use.
 */
export { createStore } from './compose/create-store.js';
export { createMemoryStore, DEFAULT_MEMORY_BYTES } from './stores/memory.js';
export { createSqliteStore } from './stores/sqlite.js';
export { createRedisStore } from './stores/redis.js';
export { createPostgresStore } from './stores/postgres.js';
export { createTieredStore } from './compose/tiered.js';
export { DEFAULT_TIER_BYTES } from './stores/tiered.js';
export { createRedisBus } from './stores/bus-redis.js';
export { createPostgresBus } from './stores/bus-postgres.js';
export { createRedisLock } from './stores/redis-lock.js';
export { redactUrl } from './shared/redact.js';

export type { Store, StoreEntry, StoreSpec } from './contracts/store.js';
export type { InvalidationBus } from './contracts/bus.js';
export type { DistributedLock } from './contracts/lock.js';
export type * as StoreTypes from './types/stores.js';
