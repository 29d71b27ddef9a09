/**
 * Tag tokens expire: each lives at least as long as the longest-lived entry written with it, and
 * is extended when a longer-lived entry uses it — never rewritten once another process has
 * invalidated it. (They used to be written without expiry: one permanent key per tag ever used.)
 */
import { describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { createMemoryStore, type Store, type StoreEntry } from '../../src/stores.js';
import { ManualClock } from '../../src/testing.js';

/** The memory store, recording the TTL of every write to a tag token. */
function recording(): { store: Store; tokenWrites: Array<{ key: string; value: unknown; ttlMs: number | undefined }> } {
  const inner = createMemoryStore();
  const tokenWrites: Array<{ key: string; value: unknown; ttlMs: number | undefined }> = [];
  const note = (e: StoreEntry) => {
    if (e.key.includes(':tag:')) tokenWrites.push({ key: e.key, value: e.value, ttlMs: e.ttlMs });
  };
  const store: Store = {
    kind: 'recording',
    get: (k) => inner.get(k),
    getMany: (ks) => inner.getMany(ks),
    set: (key, value, ttlMs) => {
      note({ key, value, ttlMs });
      return inner.set(key, value, ttlMs);
    },
    setMany: (entries) => {
      entries.forEach(note);
      return inner.setMany(entries);
    },
    delete: (k) => inner.delete(k),
    deleteMany: (ks) => inner.deleteMany(ks),
    clear: () => inner.clear(),
    close: () => inner.close(),
  };
  return { store, tokenWrites };
}

describe('tag tokens', () => {
  it('live the default lifetime, at least a day, and are never rewritten to live longer', async () => {
    const { store, tokenWrites } = recording();
    const clock = new ManualClock();
    const cache = createCache({ store, defaultTtl: 300, logger: false, clock });
    await cache.set('a', 1, 60, { tags: ['posts'] });
    expect(tokenWrites.map((w) => w.ttlMs)).toEqual([86_400_000]); // a day: more than the default 300 s
    await cache.set('b', 2, 172_800, { tags: ['posts'] }); // outlives the token: no rewrite (it could undo an invalidation)
    await cache.getOrSet('d', () => 4, 600, { tags: ['posts'] });
    expect(tokenWrites).toHaveLength(1);
    expect(await cache.get('b')).toBe(2);
    // The token expires before 'b': 'b' misses once, and the next write makes a new token.
    clock.advance(86_401);
    await store.delete(tokenWrites[0]!.key); // what the store's own expiry does
    expect(await cache.get('b', 'MISS')).toBe('MISS');
    await cache.set('b', 2, 172_800, { tags: ['posts'] });
    expect(tokenWrites).toHaveLength(2);
    expect(tokenWrites[1]!.value).not.toBe(tokenWrites[0]!.value);
    await cache.close();

    const forever = createCache({ store, defaultTtl: null, logger: false });
    await forever.set('e', 5, null, { tags: ['forever'] });
    expect(tokenWrites[2]).toMatchObject({ ttlMs: undefined }); // no default lifetime: the token never expires
    await forever.close();
  });

  it('written by invalidateTags expire too', async () => {
    const { store, tokenWrites } = recording();
    const cache = createCache({ store, defaultTtl: 120, staleTtl: 30, logger: false });
    await cache.invalidateTags(['posts']);
    expect(tokenWrites.map((w) => w.ttlMs)).toEqual([86_400_000]);
    await cache.close();
  });

  it('are not rewritten once another process has invalidated them', async () => {
    const { store, tokenWrites } = recording();
    const here = createCache({ store, logger: false });
    const elsewhere = createCache({ store, logger: false }); // no shared flights: another process
    await here.set('warm', 1, 60, { tags: ['posts'] }); // the token exists, granted 300 s
    const before = tokenWrites.length;
    const result = await here.fetch(
      'report',
      async () => {
        await elsewhere.invalidateTags(['posts']); // lands while this entry renders
        return 'old';
      },
      { ttl: 3_600, tags: ['posts'] },
    );
    expect(result.value).toBe('old');
    // The invalidation wrote one token; the long-lived entry did not put the old one back.
    expect(tokenWrites.slice(before)).toHaveLength(1);
    expect(await here.get('report')).toBeUndefined();
    await here.close();
  });
});
