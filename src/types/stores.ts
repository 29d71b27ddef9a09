/** The `StoreTypes` namespace of the `./stores` entry point. Types only. */
export type { StoreUsage } from '../contracts/store.js';
export type { Invalidation, BusListener } from '../contracts/bus.js';
export type { MemoryStoreOptions } from '../stores/memory.js';
export type { SqliteStoreOptions } from '../stores/sqlite.js';
export type { RedisStoreOptions } from '../stores/redis.js';
export type { PostgresStoreOptions } from '../stores/postgres.js';
export type { RedisConnection, RedisClusterConfig } from '../stores/redis-connection.js';
export type { TieredStore, TieredStoreOptions, TierEvents, TierStats } from '../stores/tiered.js';
export type { RedisBusOptions } from '../stores/bus-redis.js';
export type { PostgresBusOptions } from '../stores/bus-postgres.js';
export type { RedisLockOptions } from '../stores/redis-lock.js';
