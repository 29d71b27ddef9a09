/**
 * Tag tokens expire: each lives at least as long as the longest-lived entry written with it, and
 * is extended when a longer-lived entry uses it — never rewritten once another process has
 * invalidated it. (They used to be written without expiry: one permanent key per tag ever used.)
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, createCache, createMemoryStore, type Store, type StoreEntry } from '../../src/index.js';

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
  it('get the default lifetime, are extended by longer-lived entries, and never made shorter', async () => {
    const { store, tokenWrites } = recording();
    // A fake clock: with real time, a millisecond passing between the write and the extension
    // would make the lifetime 3 599 999 ms.
    const cache = createCache({ store, defaultTtl: 300, logger: false, clock: new ManualClock() });
    await cache.set('a', 1, 60, { tags: ['posts'] });
    expect(tokenWrites.map((w) => w.ttlMs)).toEqual([300_000]); // created with the default lifetime
    const token = tokenWrites[0]?.value;

    await cache.set('b', 2, 3_600, { tags: ['posts'] }); // outlives the token: extended
    expect(tokenWrites).toHaveLength(2);
    expect(tokenWrites[1]).toMatchObject({ value: token });
    expect(tokenWrites[1]?.ttlMs).toBeGreaterThanOrEqual(3_600_000);

    await cache.set('c', 3, 10, { tags: ['posts'] }); // shorter-lived: nothing to do, no store call
    await cache.getOrSet('d', () => 4, 600, { tags: ['posts'] });
    expect(tokenWrites).toHaveLength(2);

    await cache.set('e', 5, null, { tags: ['posts'] }); // never expires: neither does the token
    expect(tokenWrites[2]).toMatchObject({ value: token, ttlMs: undefined });
    expect(await cache.get('b')).toBe(2);
    await cache.close();
  });

  it('written by invalidateTags expire too', async () => {
    const { store, tokenWrites } = recording();
    const cache = createCache({ store, defaultTtl: 120, staleTtl: 30, logger: false });
    await cache.invalidateTags(['posts']);
    expect(tokenWrites.map((w) => w.ttlMs)).toEqual([150_000]);
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
