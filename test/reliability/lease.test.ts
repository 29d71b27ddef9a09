import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { ManualClock } from '../../src/testing.js';

let cache: Cache;
afterEach(() => cache?.close());

/** The lease: look up → hit | join | lease → commit (decided after producing) or abandon. */
describe('Cache.lease', () => {
  it('hands out one lease per key; joiners get what the holder commits, once', async () => {
    cache = createCache();
    const first = await cache.lease<string>('k');
    expect(first.status).toBe('miss');
    const joiner = cache.lease<string>('k');
    // TTL and tags decided after producing
    expect(await first.lease?.commit('v1', { ttl: 60, tags: ['t'] })).toBe(true);
    expect(await joiner).toEqual({ status: 'miss', value: 'v1', coalesced: true });
    expect(await cache.lease('k')).toMatchObject({ status: 'hit', value: 'v1' });
    await cache.invalidateTags(['t']);
    expect((await cache.lease('k')).status).toBe('miss');
    expect(cache.stats().coalesced).toBe(1);
  });

  it('abandon lets a joiner take the lease itself', async () => {
    cache = createCache();
    const first = await cache.lease<string>('k');
    const joiner = cache.lease<string>('k');
    first.lease?.abandon();
    const second = await joiner;
    expect(second.status).toBe('miss');
    expect(second.lease).toBeDefined();
    second.lease?.abandon();
  });

  it.each([
    ['the key', (c: Cache) => c.delete('k')],
    ['a tag given to lease', (c: Cache) => c.invalidateTags(['a'])],
    ['a tag decided at commit', (c: Cache) => c.invalidateTags(['late'])],
    ['the whole cache', (c: Cache) => c.clear()],
  ])('an invalidation of %s while producing makes the commit a no-op', async (name, invalidate) => {
    cache = createCache();
    const taken = await cache.lease<string>('k', { tags: ['a'] });
    await invalidate(cache);
    // `void` knows the tags given to lease; a tag decided at commit is checked by the commit
    expect(taken.lease?.void).toBe(name !== 'a tag decided at commit');
    expect(await taken.lease?.commit('old', { ttl: 60, tags: ['late'] })).toBe(false);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('an unrelated invalidation does not void the lease', async () => {
    cache = createCache();
    const taken = await cache.lease<string>('k', { tags: ['a'] });
    await cache.invalidateTags(['b']);
    await cache.delete('other');
    expect(await taken.lease?.commit('v', { ttl: 60, tags: ['late'] })).toBe(true);
    expect(await cache.get('k')).toBe('v');
  });

  it('commit with tokens observed earlier: a tag bumped since makes the entry miss', async () => {
    cache = createCache();
    // a nested fragment read its tag's token before the parent commits
    await cache.fetch('child', () => 'c', { tags: ['child'], ttl: 60 });
    const observed = new Map([['child', (await cache.store.get(cache.makeKey('tag:child'))) as string | undefined]]);
    const taken = await cache.lease<string>('parent');
    const other = createCache({ store: cache.store });
    await other.invalidateTags(['child']); // another cache (process) on the same store: no local log
    expect(await taken.lease?.commit('p', { ttl: 60, tags: ['child'], tokens: observed })).toBe(true);
    expect(await cache.get('parent')).toBeUndefined(); // stored under the old token: reads as a miss
  });

  it('a stale hit comes with one refresh lease; its commit replaces the value', async () => {
    const clock = new ManualClock();
    cache = createCache({ clock, staleTtl: 60 });
    await cache.set('k', 'old', 10);
    clock.advance(20);
    const a = await cache.lease<string>('k');
    const b = await cache.lease<string>('k');
    expect(a).toMatchObject({ status: 'stale', value: 'old' });
    expect(a.refresh).toBeDefined();
    expect(b.refresh).toBeUndefined(); // one refresh at a time
    expect(await a.refresh?.commit('new', { ttl: 10 })).toBe(true);
    expect(await cache.get('k')).toBe('new');
  });
});
