import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { countingStore } from '../support/stores.js';

let cache: Cache;
afterEach(() => cache?.close());

describe('tag invalidation', () => {
  async function invalidationCost(entries: number): Promise<{ ops: number; survivors: number }> {
    const counted = countingStore();
    cache = createCache({ store: counted.store });
    const values: Record<string, string> = {};
    for (let i = 0; i < entries; i += 1) values[`post:${i}`] = `<article>${i}</article>`;
    await cache.setMany(values, 600, { tags: ['posts'] });
    await cache.set('unrelated', 'stays', 600, { tags: ['authors'] });
    counted.reset();
    await cache.invalidateTags(['posts']);
    const ops = counted.total();
    const found = await cache.getMany(Object.keys(values));
    expect(await cache.get('unrelated')).toBe('stays');
    await cache.close();
    return { ops, survivors: found.size };
  }

  it('costs the same constant number of store operations for 10 and for 10,000 tagged entries', async () => {
    const small = await invalidationCost(10);
    const large = await invalidationCost(10_000);
    console.log(`[tags] store operations to invalidate a tag: 10 entries → ${small.ops}, 10,000 entries → ${large.ops}`);
    expect(large.ops).toBe(small.ops);
    expect(large.ops).toBe(1);
    expect(large.survivors).toBe(0);
    expect(small.survivors).toBe(0);
  });

  it('survives the loss of a tag token: an evicted token reads as a miss, never as valid', async () => {
    const counted = countingStore();
    cache = createCache({ store: counted.store });
    await cache.set('k', 'v', 600, { tags: ['t'] });
    await counted.store.delete(cache.makeKey('tag:t'));
    expect(await cache.get('k')).toBeUndefined();
  });
});
