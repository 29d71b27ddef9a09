import type nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { createEnvironment, render } from '../../src/nunjucks.js';
import { MapLoader, sleep } from '../support/stores.js';

let cache: Cache;
afterEach(() => cache?.close());

/**
 * A render reads the "database", takes a while, and stores what it read. An invalidation that
 * lands between the read and the store must win: the older render may still answer its own
 * callers, but must not leave its result in the cache.
 */
describe('race-free invalidation', () => {
  const ROUNDS = 300;
  const invalidations = {
    fragment: (c: Cache, id: number) => c.invalidateFragment('post', [id]),
    tag: (c: Cache) => c.invalidateTags(['posts']),
    clear: (c: Cache) => c.clear(),
  } as const;

  it.each(Object.keys(invalidations) as Array<keyof typeof invalidations>)(
    'leaves zero stale reads after %s invalidations interleaved with renders',
    async (kind) => {
      cache = createCache();
      // only the tag case carries a tag, so each case proves its own mechanism
      const tags = kind === 'tag' ? ' tags=["posts"]' : '';
      const env = createEnvironment(new MapLoader({ t: `<% cache 600 post id${tags} %>{{ load | resolve }}<% endcache %>` }) as unknown as nunjucks.ILoader, { cache });
      const db = { version: 0 };
      const load = async () => {
        const seen = db.version; // read first…
        await sleep(1 + Math.random() * 4); // …then take a while, like a real query and render
        return `v${seen}`;
      };
      let stale = 0;
      for (let round = 0; round < ROUNDS; round += 1) {
        // a cold key each round, with two renders already under way (the second joins the first)
        // when the data changes
        const context = { load, id: round };
        const renders = [render(env, 't', context), render(env, 't', context)];
        await sleep(Math.random() * 2);
        db.version += 1;
        await invalidations[kind](cache, round);
        await Promise.all(renders);
        const after = await render(env, 't', context);
        if (after !== `v${db.version}`) stale += 1;
      }
      console.log(`[race] ${kind}: ${ROUNDS} rounds, stale reads after invalidation: ${stale}`);
      expect(stale).toBe(0);
    },
  );

  it('leaves zero stale reads with getOrSet and delete too', async () => {
    cache = createCache();
    const db = { version: 0 };
    let stale = 0;
    const produce = async () => {
      const seen = db.version;
      await sleep(1 + Math.random() * 4);
      return seen;
    };
    for (let round = 0; round < ROUNDS; round += 1) {
      const key = `k${round}`;
      const pending = [cache.getOrSet(key, produce), cache.getOrSet(key, produce)];
      await sleep(Math.random() * 2);
      db.version += 1;
      await cache.delete(key);
      await Promise.all(pending);
      if ((await cache.getOrSet(key, produce)) !== db.version) stale += 1;
    }
    expect(stale).toBe(0);
  });
});

describe('invalidations from other processes', () => {
  it('stop an in-flight render of the key from storing its older result', async () => {
    // A store that hears of other processes' changes (as a first tier on a bus does).
    const { createMemoryStore } = await import('../../src/stores.js');
    const inner = createMemoryStore();
    let remote: ((change: readonly string[] | 'clear') => void) | undefined;
    const store = {
      ...inner, kind: 'memory+bus', getMany: inner.getMany.bind(inner), get: inner.get.bind(inner), set: inner.set.bind(inner), setMany: inner.setMany.bind(inner),
      delete: inner.delete.bind(inner), deleteMany: inner.deleteMany.bind(inner), clear: inner.clear.bind(inner), close: inner.close.bind(inner),
      subscribe: (listener: typeof remote) => {
        remote = listener;
      },
    };
    cache = createCache({ store });
    for (const change of [[cache.makeKey('k')], 'clear'] as const) {
      let release!: () => void;
      const rendering = cache.getOrSet('k', () => new Promise<string>((resolve) => (release = () => resolve('old'))));
      await sleep(5);
      remote?.(change); // another process invalidated k (or cleared) while we were rendering
      release();
      expect(await rendering).toBe('old'); // our caller still gets its answer…
      expect(await cache.has('k')).toBe(false); // …but it was not stored
    }
  });
});
