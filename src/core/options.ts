import type { DistributedLock } from '../contracts/lock.js';
import type { Store, StoreSpec } from '../contracts/store.js';
import { systemClock, type Clock } from '../contracts/clock.js';
import { CacheError } from '../contracts/errors.js';
import type { BreakerOptions } from './guard.js';
import { PURGE_RETRY_DEFAULTS, type Purger, type PurgeRetryOptions } from './purge.js';
import type { CacheLogger } from './report.js';
import { defaultKeyFunction, type KeyFunction } from './keys.js';
import { describe, resolveTtl, type TtlSeconds } from './ttl.js';
import { MAX_TIMER_MS } from '../shared/ms.js';

export interface CacheOptions {
  /** Where values live: a URL (`"memory"`, `"sqlite://cache.db"`, `"redis://127.0.0.1:6379"`), a Keyv, an adapter or a Store; `createCache` builds the store. Default `"memory"`. */
  store?: StoreSpec;
  /** Prepended to every key (Django's KEY_PREFIX). Default `""`. */
  keyPrefix?: string;
  /** Default version of every key (Django's VERSION). Default 1. */
  version?: number;
  /** Seconds; `null` = never expire. Default 300 (Django's TIMEOUT). */
  defaultTtl?: TtlSeconds;
  /** Builds stored keys from key, prefix and version (Django's KEY_FUNCTION). */
  keyFunction?: KeyFunction;
  /** Longest a store call may take before the cache gives up and proceeds uncached, ms. Default 500. */
  timeoutMs?: number;
  /** `true` (default): store failures read as misses and skipped writes, reported as `error` events. `false`: they throw. */
  failOpen?: boolean;
  /** Stop calling a store that keeps failing; `false` turns it off. Default 5 failures, 5 000 ms cool-down. */
  breaker?: BreakerOptions | false;
  /** Values whose serialised size exceeds this many bytes are not stored (the caller still gets them). Default 1 MiB. */
  maxEntryBytes?: number;
  /** Default stale-while-revalidate window, seconds, for `getOrSet`, fragments and views. Default 0 (off). */
  staleTtl?: number;
  /** Time source; inject `ManualClock` in tests. */
  clock?: Clock;
  /**
   * Where the first store error, each circuit breaker opening and closing, and each burst of
   * timeouts are reported, once each: `console` (the default), a pino or winston logger, anything
   * with `warn(message)`; `false` for silence.
   */
  logger?: CacheLogger | false;
  /**
   * Distributed single-flight: with a lock shared by all processes (e.g. `createRedisLock`), a cold
   * key is rendered by one process while the others wait for its result. You own the lock:
   * `cache.close()` does not close it.
   */
  lock?: DistributedLock;
  /** How long a lock holder may render before its lock expires by itself, ms. Default 10 000. */
  lockTtlMs?: number;
  /** How long a process waits for another's render before rendering itself, ms. Default 5 000. */
  lockWaitMs?: number;
  /** How often a waiting process looks for the other's result, ms. Default 20. */
  lockPollMs?: number;
  /**
   * Reverse proxies or CDNs to purge by tag whenever `invalidateTags` runs (`createVarnishPurger`,
   * `createFastlyPurger`, `createCloudflarePurger`, or your own `Purger`). Purges run in the
   * background; failures are retried and reported through the `error` event.
   */
  purgers?: readonly Purger[];
  /** How failed purges are retried (default 5 attempts, 100 ms doubling up to 5 000 ms). */
  purgeRetry?: PurgeRetryOptions;
}

/** What the `Cache` constructor takes: the options with the store already built (`createCache` builds it from a URL). */
export type CoreCacheOptions = Omit<CacheOptions, 'store'> & { store: Store };

export interface LockOptions {
  lock: DistributedLock;
  ttlMs: number;
  waitMs: number;
  pollMs: number;
}

export interface ResolvedOptions {
  keyPrefix: string;
  version: number;
  defaultTtl: TtlSeconds;
  keyFunction: KeyFunction;
  timeoutMs: number;
  failOpen: boolean;
  breaker: Required<BreakerOptions> | false;
  maxEntryBytes: number;
  staleTtl: number;
  clock: Clock;
  logger: CacheLogger | false;
  lock: LockOptions | undefined;
  purgers: readonly Purger[];
  purgeRetry: Required<PurgeRetryOptions>;
}

const MAX_PREFIX_LENGTH = 100;

/** Defaults, and early errors that say what is allowed (programmer errors fail in the constructor). */
export function resolveOptions(options: Omit<CacheOptions, 'store'>): ResolvedOptions {
  const defaultTtl = options.defaultTtl === undefined ? 300 : options.defaultTtl;
  resolveTtl(defaultTtl, null); // throws on a TTL that is not a number or null
  const keyPrefix = options.keyPrefix ?? '';
  // Hashed keys keep the prefix readable; SQL stores cap keys at 255 characters.
  if (typeof keyPrefix !== 'string' || keyPrefix.length > MAX_PREFIX_LENGTH) {
    throw new CacheError('ERR_CACHE_OPTIONS', `Cache option "keyPrefix" must be a string of at most ${MAX_PREFIX_LENGTH} characters; got ${describe(keyPrefix)}.`);
  }
  return {
    keyPrefix,
    version: checkInt(options.version ?? 1, 'version'),
    defaultTtl,
    keyFunction: options.keyFunction ?? defaultKeyFunction,
    timeoutMs: checkTimer(options.timeoutMs ?? 500, 'timeoutMs'),
    failOpen: options.failOpen ?? true,
    breaker:
      options.breaker === false
        ? false
        : {
            // `?? default` per field: `{ failureThreshold: undefined }` must not switch the breaker off.
            failureThreshold: checkPositive(options.breaker?.failureThreshold ?? 5, 'breaker.failureThreshold'),
            cooldownMs: checkTimer(options.breaker?.cooldownMs ?? 5_000, 'breaker.cooldownMs'),
          },
    maxEntryBytes: checkPositive(options.maxEntryBytes ?? 1024 * 1024, 'maxEntryBytes'),
    staleTtl: checkNonNegative(options.staleTtl ?? 0, 'staleTtl'),
    clock: options.clock ?? systemClock,
    logger: checkLogger(options.logger),
    lock:
      options.lock === undefined
        ? undefined
        : {
            lock: options.lock,
            ttlMs: checkTimer(options.lockTtlMs ?? 10_000, 'lockTtlMs'),
            waitMs: checkTimer(options.lockWaitMs ?? 5_000, 'lockWaitMs', true),
            pollMs: checkTimer(options.lockPollMs ?? 20, 'lockPollMs'),
          },
    purgers: checkPurgers(options.purgers),
    purgeRetry: {
      attempts: checkInt(checkPositive(options.purgeRetry?.attempts ?? PURGE_RETRY_DEFAULTS.attempts, 'purgeRetry.attempts'), 'purgeRetry.attempts'),
      delayMs: checkNonNegative(options.purgeRetry?.delayMs ?? PURGE_RETRY_DEFAULTS.delayMs, 'purgeRetry.delayMs'),
      maxDelayMs: checkNonNegative(options.purgeRetry?.maxDelayMs ?? PURGE_RETRY_DEFAULTS.maxDelayMs, 'purgeRetry.maxDelayMs'),
    },
  };
}

/**
 * A number of milliseconds a timer will wait for: above 0 (or 0 with `zero`) and at most
 * `MAX_TIMER_MS`, since Node fires a longer timer after 1 ms.
 */
export function checkTimer(value: number, name: string, zero = false): number {
  if (zero) checkNonNegative(value, name);
  else checkPositive(value, name);
  if (!(value <= MAX_TIMER_MS)) {
    throw new CacheError('ERR_CACHE_OPTIONS', `Cache option "${name}" must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest a Node.js timer waits); got ${describe(value)}.`);
  }
  return value;
}

function checkPurgers(purgers: readonly Purger[] | undefined): readonly Purger[] {
  if (purgers === undefined) return [];
  const ok = Array.isArray(purgers) && purgers.every((p: Partial<Purger> | null) => typeof p === 'object' && p !== null && typeof p.name === 'string' && typeof p.purge === 'function');
  if (!ok) throw new CacheError('ERR_CACHE_OPTIONS', `Cache option "purgers" must be a list of { name, purge(tags) } objects (createVarnishPurger, createFastlyPurger, createCloudflarePurger); got ${describe(purgers)}.`);
  return purgers;
}

function checkLogger(logger: CacheLogger | false | undefined): CacheLogger | false {
  if (logger === undefined) return console;
  if (logger === false) return false;
  if (typeof logger !== 'object' || logger === null || typeof (logger as Partial<CacheLogger>).warn !== 'function') {
    throw new CacheError('ERR_CACHE_OPTIONS', `Cache option "logger" must be an object with a warn(message) method (console, pino, winston), or false; got ${describe(logger)}.`);
  }
  return logger;
}

function checkInt(value: number, name: string): number {
  if (!Number.isInteger(value)) throw new CacheError('ERR_CACHE_OPTIONS', `Cache option "${name}" must be a whole number; got ${describe(value)}.`);
  return value;
}

function checkPositive(value: number, name: string): number {
  if (typeof value !== 'number' || !(value > 0)) throw new CacheError('ERR_CACHE_OPTIONS', `Cache option "${name}" must be a positive number; got ${describe(value)}.`);
  return value;
}

export function checkNonNegative(value: number, name: string): number {
  if (typeof value !== 'number' || !(value >= 0)) throw new CacheError('ERR_CACHE_OPTIONS', `"${name}" must be zero or a positive number; got ${describe(value)}.`);
  return value;
}
