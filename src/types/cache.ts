/** The `CacheTypes` namespace of the `.` entry point: the cache's secondary types. Types only. */
export type { TtlSeconds, TtlInput } from '../core/ttl.js';
export type { WriteOptions, FetchOptions, FetchResult, FetchStatus, Producer, Lease, LeaseOptions, LeaseResult, CommitOptions, CacheEvents, LookupEvent, InvalidateEvent, CacheErrorEvent } from '../core/types.js';
export type { ReadScope } from '../core/read-plans.js';
export type { Cacheability, CacheableValue } from '../core/cacheability.js';
export type { EpochMs } from '../contracts/clock.js';
export type { KeyFunction } from '../core/keys.js';
export type { VaryParseOptions } from '../core/vary-input.js';
export type { CacheStats, LabelStats } from '../core/stats.js';
export type { CacheLogger } from '../core/report.js';
export type { BreakerOptions, CircuitState } from '../core/guard.js';
export type { Purger, PurgeRetryOptions } from '../core/purge.js';
export type { ConnectFailure, PageCacheErrorCode } from '../contracts/errors.js';
