/**
 * Composed methods (incr, incrVersion) read through the same path as get() and are serialised
 * like add/touch/incr: what get() calls gone is gone for them too, and concurrent moves of one
 * key cannot both succeed.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { createStore, type DistributedLock } from '../../src/stores.js';

/** A lock shared by two caches in this process, standing in for the Redis lock between two processes. */
function sharedLock(): DistributedLock & { acquired: number } {
  const held = new Map<string, string>();
  return {
    acquired: 0,
    async acquire(key) {
      await Promise.resolve();
      if (held.has(key)) return null;
      const token = randomUUID();
      held.set(key, token);
      this.acquired += 1;
      return token;
    },
    async release(key, token) {
      if (held.get(key) === token) held.delete(key);
    },
    async close() {},
  };
}

describe('incr and decr go through the read path of get()', () => {
  it('an entry whose tag was invalidated cannot be incremented: it is gone', async () => {
    const cache = createCache();
    await cache.set('n', 1, 60, { tags: ['t'] });
    expect(await cache.incr('n')).toBe(2);
    await cache.invalidateTags(['t']);
    expect(await cache.get('n', 'MISS')).toBe('MISS');
    await expect(cache.incr('n')).rejects.toMatchObject({ code: 'ERR_CACHE_MISSING_KEY' });
    await expect(cache.decr('n')).rejects.toMatchObject({ code: 'ERR_CACHE_MISSING_KEY' });
  });

  it('keeps the tags of an entry it increments, so a later invalidation still reaches it', async () => {
    const cache = createCache();
    await cache.set('n', 1, 60, { tags: ['t'] });
    await cache.incr('n', 5);
    expect(await cache.get('n')).toBe(6);
    await cache.invalidateTags(['t']);
    expect(await cache.get('n', 'MISS')).toBe('MISS');
  });

  it('incrVersion does not move an entry whose tag was invalidated', async () => {
    const cache = createCache();
    await cache.set('k', 'v', 60, { tags: ['t'] });
    await cache.invalidateTags(['t']);
    await expect(cache.incrVersion('k')).rejects.toMatchObject({ code: 'ERR_CACHE_MISSING_KEY' });
  });
});

describe('incrVersion is atomic', () => {
  it('two concurrent moves of one key: one succeeds, the other finds nothing to move', async () => {
    const cache = createCache();
    await cache.set('k', 'v', 60);
    const results = await Promise.allSettled([cache.incrVersion('k'), cache.incrVersion('k')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'fulfilled')).toMatchObject({ value: 2 });
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'ERR_CACHE_MISSING_KEY' } });
    expect(await cache.get('k', undefined, 2)).toBe('v');
  });

  it('a set issued while the move runs lands after it, not under it', async () => {
    const cache = createCache();
    await cache.set('k', 'old', 60);
    const [moved, stored] = await Promise.all([cache.incrVersion('k'), cache.set('k', 'new', 60)]);
    expect([moved, stored]).toEqual([2, true]);
    expect(await cache.get('k')).toBe('new');
    expect(await cache.get('k', undefined, 2)).toBe('old');
  });

  it('moves in opposite directions at the same time both finish (no deadlock)', async () => {
    const cache = createCache();
    await cache.set('a', 'at 1', 60);
    await cache.set('a', 'at 2', 60, { version: 2 });
    const results = await Promise.allSettled([cache.incrVersion('a', 1, 1), cache.decrVersion('a', 1, 2)]);
    expect(results.every((r) => r.status === 'fulfilled' || (r.reason as { code?: string }).code === 'ERR_CACHE_MISSING_KEY')).toBe(true);
  });

  it('across processes sharing a store, the distributed lock serialises moves (two caches stand in for two processes)', async () => {
    const store = createStore('memory');
    const lock = sharedLock();
    const one = createCache({ store, lock, lockPollMs: 1 });
    const two = createCache({ store, lock, lockPollMs: 1 });
    await one.set('k', 'v', 60);
    const results = await Promise.allSettled([one.incrVersion('k'), two.incrVersion('k')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(lock.acquired).toBe(2);
    expect(await two.get('k', undefined, 2)).toBe('v');
  });
});
