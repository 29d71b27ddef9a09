/**
 * Millisecond options that a Node.js timer cannot hold (2^31 ms or more fires after 1 ms, so a
 * `timeoutMs` that large would time every store call out at once) are refused when given.
 */
import { describe, expect, it } from 'vitest';
import { StoreSpecError, createCache } from '../../src/index.js';
import { cachePage } from '../../src/http.js';
import { createMemoryStore, createPostgresBus, createPostgresStore, createRedisBus, createRedisLock, createRedisStore, createSqliteStore, createTieredStore, type DistributedLock } from '../../src/stores.js';

const TOO_LONG = 2 ** 31;
const LONGEST = 2 ** 31 - 1;
const lock: DistributedLock = { acquire: async () => 'token', release: async () => {}, close: async () => {} };

describe('millisecond options are refused when a timer cannot hold them', () => {
  it.each(['timeoutMs', 'lockTtlMs', 'lockWaitMs', 'lockPollMs'] as const)('createCache({ %s: 2^31 }) throws ERR_CACHE_OPTIONS', (name) => {
    expect(() => createCache({ lock, [name]: TOO_LONG })).toThrow(expect.objectContaining({ code: 'ERR_CACHE_OPTIONS', message: expect.stringMatching(new RegExp(`"${name}" must be at most 2147483647 ms[\\s\\S]*Node\\.js timer`)) }));
  });

  it('breaker.cooldownMs and cache.connect(timeoutMs) too; the longest a timer holds is accepted', async () => {
    expect(() => createCache({ breaker: { cooldownMs: TOO_LONG } })).toThrow(/"breaker\.cooldownMs" must be at most 2147483647 ms/);
    const cache = createCache({ timeoutMs: LONGEST, lock, lockWaitMs: LONGEST });
    await expect(cache.connect(TOO_LONG)).rejects.toThrow(/"timeoutMs" must be at most 2147483647 ms/);
    await cache.connect(LONGEST);
    await cache.close();
  });

  it.each([
    ['SQLite sweepIntervalMs', () => createSqliteStore({ path: ':memory:', sweepIntervalMs: TOO_LONG })],
    ['SQLite busyTimeoutMs', () => createSqliteStore({ path: ':memory:', busyTimeoutMs: TOO_LONG })],
    ['PostgreSQL sweepIntervalMs', () => createPostgresStore({ url: 'postgres://127.0.0.1:1/x', sweepIntervalMs: TOO_LONG })],
    ['PostgreSQL connectTimeoutMs', () => createPostgresStore({ url: 'postgres://127.0.0.1:1/x', connectTimeoutMs: TOO_LONG })],
    ['Redis connectTimeoutMs', () => createRedisStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: TOO_LONG })],
    ['Redis lock connectTimeoutMs', () => createRedisLock('redis://127.0.0.1:1', { connectTimeoutMs: TOO_LONG })],
    ['Redis bus heartbeatMs', () => createRedisBus('redis://127.0.0.1:1', { heartbeatMs: TOO_LONG })],
    ['PostgreSQL bus connectTimeoutMs', () => createPostgresBus('postgres://127.0.0.1:1/x', { connectTimeoutMs: TOO_LONG })],
    ['first tier maxAgeMs', () => createTieredStore(createMemoryStore(), { bus: null, maxAgeMs: TOO_LONG })],
  ])('%s of 2^31 throws a StoreSpecError that names it', (_label, make) => {
    expect(make).toThrow(StoreSpecError);
    expect(make).toThrow(/must be at most 2147483647 ms \(about 24\.8 days, the longest a Node\.js timer waits\)/);
  });

  it('the page cache refuses waitMs of 2^31', () => {
    const cache = createCache();
    expect(() => cachePage(cache, { waitMs: TOO_LONG })).toThrow(/"waitMs" must be a number of milliseconds above 0 up to 2147483647/);
    void cache.close();
  });
});
