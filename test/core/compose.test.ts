/**
 * The core takes a built store; building one from a URL, a Keyv or an adapter is the composition
 * layer's work (src/compose), which `createCache` does.
 */
import { Keyv } from 'keyv';
import { describe, expect, it } from 'vitest';
import { StoreSpecError, createCache } from '../../src/index.js';
import { createMemoryStore } from '../../src/stores.js';
import { Cache } from '../../src/core/cache.js';

describe('composition', () => {
  it('new Cache({ store }) takes a Store, and refuses a URL naming createCache', async () => {
    const cache = new Cache({ store: createMemoryStore() });
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    await cache.close();
    for (const spec of ['memory', 'redis://u:secret@127.0.0.1:6379', new Keyv(), undefined]) {
      expect(() => new Cache({ store: spec } as never)).toThrow(StoreSpecError);
      expect(() => new Cache({ store: spec } as never)).toThrow(/createCache/);
      expect(() => new Cache({ store: spec } as never)).not.toThrow(/secret/);
    }
  });

  it('createCache builds the store from a URL, a Keyv or nothing (memory)', async () => {
    for (const [spec, kind] of [['memory', 'memory'], [new Keyv(), 'keyv'], [undefined, 'memory']] as const) {
      const cache = createCache(spec === undefined ? {} : { store: spec });
      expect(cache).toBeInstanceOf(Cache);
      expect(cache.store.kind).toBe(kind);
      await cache.close();
    }
  });
});
