/**
 * Store reads per view for the natural template (a `for` loop of cached cards), counted on a store
 * wrapper: the render's read scope prefetches what the last render looked up, so a warm view is one
 * read whatever the number of items, and never serves what an invalidation has replaced.
 */
import type nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, fragmentKey, type Cache } from '../../src/index.js';
import { createEnvironment } from '../../src/nunjucks.js';
import { createStore, type Store } from '../../src/stores.js';
import { countingStore, MapLoader } from '../support/stores.js';

const PAGE = '<% cache 600 sidebar %><aside>{{ title }}</aside><% endcache %>' + '<% for post in posts %><% cache 600 card post.id post.updatedAt tags=["post:" + post.id] %><article>{{ post.title | upper }}{{ touch(post) }}</article><% endcache %><% endfor %>';

const caches: Cache[] = [];
afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close();
});

function setup(templates: Record<string, string> = { 'page.njk': PAGE }) {
  const counted = countingStore(createStore(new Map()));
  const cache = createCache({ store: counted.store });
  caches.push(cache);
  const env = createEnvironment(new MapLoader(templates) as unknown as nunjucks.ILoader, { cache });
  const bodies = { n: 0 };
  const touch = () => {
    bodies.n += 1;
    return '';
  };
  const view = (posts: Array<{ id: number; updatedAt: number; title: string }>, extra: Record<string, unknown> = {}) =>
    new Promise<string>((resolve, reject) => env.render('page.njk', { title: 'Blog', posts, touch, ...extra }, (error, html) => (error ? reject(error) : resolve(html ?? ''))));
  const reads = () => counted.calls.get + counted.calls.getMany;
  return { cache, env, counted, view, bodies, reads };
}

const posts = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, updatedAt: 1, title: `post ${from + i}` }));

describe('store round trips per view', () => {
  it.each([5, 50, 300])('a warm view of %i cards in a for loop reads the store once', async (n) => {
    const { view, counted, reads, bodies } = setup();
    const list = posts(1, n);
    const cold = await view(list);
    await view(list); // learns what the page reads
    counted.reset();
    bodies.n = 0;
    const warm = await view(list);
    expect(warm).toBe(cold);
    expect(bodies.n).toBe(0);
    expect(reads()).toBe(1);
    expect(counted.calls.getMany).toBe(1);
  });

  it('renders a changed list correctly, with the changed items only read alone, and re-learns it', async () => {
    const { view, counted, reads, bodies } = setup();
    await view(posts(1, 20));
    await view(posts(1, 20));
    // A new post on top, the last one falls off the page.
    const changed = posts(0, 20);
    counted.reset();
    bodies.n = 0;
    const html = await view(changed);
    expect(html).toContain('POST 0');
    expect(html).not.toContain('POST 20');
    expect(bodies.n).toBe(1);
    // The plan (sidebar + 20 cards) in one read, then the new card alone.
    expect(reads()).toBe(2);
    counted.reset();
    bodies.n = 0;
    expect(await view(changed)).toBe(html);
    expect(bodies.n).toBe(0);
    expect(reads()).toBe(1);
  });

  it('reads two pages of one list in at most two round trips each, however they alternate', async () => {
    const { view, counted, reads } = setup();
    const one = posts(1, 20);
    const two = posts(21, 20);
    for (const page of [one, two, one, two]) await view(page);
    for (const page of [one, two, two, one, one, two]) {
      counted.reset();
      await view(page);
      expect(reads()).toBeLessThanOrEqual(2);
    }
  });

  it('a render that reads fewer items than last time shrinks its plan', async () => {
    const { view, counted } = setup();
    await view(posts(1, 40));
    await view(posts(1, 40));
    await view(posts(1, 5)); // follows the 41-lookup plan, uses 6 of it, and re-learns
    const inner = counted.store;
    const asked: number[] = [];
    const getMany = inner.getMany.bind(inner);
    inner.getMany = (keys) => (asked.push(keys.length), getMany(keys));
    await view(posts(1, 5));
    // sidebar + 5 cards, each with its tag token.
    expect(asked).toEqual([11]);
  });

  describe('never serves what an invalidation replaced', () => {
    it('between two renders: invalidateTags, invalidateFragment, delete and set are all seen', async () => {
      const { cache, view, bodies } = setup();
      const list = posts(1, 10);
      await view(list);
      await view(list);
      bodies.n = 0;
      await cache.invalidateTags(['post:3']);
      await view(list);
      expect(bodies.n).toBe(1);
      await cache.invalidateFragment('card', [7, 1]);
      bodies.n = 0;
      await view(list);
      expect(bodies.n).toBe(1);
    });

    it('during a render: a card invalidated after the prefetch, before its lookup, renders again', async () => {
      const list = posts(1, 10);
      // The sidebar misses (dropped below), so its body runs after the prefetch of all eleven
      // lookups; its loader invalidates card 9 before the loop reaches it. that invalidates card 9 and waits for the invalidation to land.
      const templates = { 'page.njk': PAGE.replace('<aside>{{ title }}</aside>', '<aside>{{ (drop | resolve) }}</aside>') };
      const second = setup(templates);
      await second.view(list, { drop: async () => '' });
      await second.view(list, { drop: async () => '' });
      second.bodies.n = 0;
      await second.cache.invalidateFragment('sidebar');
      const out = await second.view(list, { drop: async () => (await second.cache.invalidateTags(['post:9']), 'Blog') });
      expect(out).toContain('POST 9');
      // The sidebar missed, and card 9 rendered again though the prefetch had read its old entry.
      expect(second.bodies.n).toBe(1);
      const counted = second.counted;
      counted.reset();
      second.bodies.n = 0;
      await second.view(list, { drop: async () => 'Blog' });
      expect(second.bodies.n).toBe(0);
    });

    it('during a render: a change another process announces on the bus drops the prefetched value', async () => {
      const listeners: Array<(change: readonly string[] | 'clear') => void> = [];
      const inner = countingStore(createStore(new Map()));
      const store: Store = { ...inner.store, subscribe: (listener) => void listeners.push(listener) };
      const cache = createCache({ store });
      caches.push(cache);
      const templates = { 'page.njk': PAGE.replace('<aside>{{ title }}</aside>', '<aside>{{ (remote | resolve) }}</aside>') };
      const env = createEnvironment(new MapLoader(templates) as unknown as nunjucks.ILoader, { cache });
      let bodies = 0;
      const touch = () => ((bodies += 1), '');
      const list = posts(1, 10);
      const view = (remote: () => Promise<string>) => new Promise<string>((resolve, reject) => env.render('page.njk', { posts: list, touch, remote }, (e, h) => (e ? reject(e) : resolve(h ?? ''))));
      await view(async () => 'x');
      await view(async () => 'x');
      await cache.invalidateFragment('sidebar');
      bodies = 0;
      const card4 = cache.makeKey(fragmentKey('card', [4, 1]));
      await view(async () => {
        // Another process deleted card 4 and said so on the bus.
        await inner.store.delete(card4);
        for (const listener of listeners) listener([card4]);
        return 'x';
      });
      expect(bodies).toBe(1);
    });
  });

  it('coalesces lookups started in the same tick into one store read', async () => {
    const counted = countingStore(createStore(new Map()));
    const cache = createCache({ store: counted.store });
    caches.push(cache);
    await cache.setMany({ a: 1, b: 2, c: 3 });
    counted.reset();
    const values = await Promise.all([cache.get('a'), cache.get('b'), cache.fetch('c', () => 0), cache.get('zz', 'none')]);
    expect(values.map((v) => (typeof v === 'object' && v !== null ? (v as { value: unknown }).value : v))).toEqual([1, 2, 3, 'none']);
    expect(counted.calls.getMany).toBe(1);
    expect(counted.calls.get).toBe(0);
  });

  it('a template rendered outside env.render (Template#render) still reads through one scope per context', async () => {
    const { env, counted, reads } = setup();
    const template = env.getTemplate('page.njk');
    const list = posts(1, 10);
    const viewOf = () => new Promise<string>((resolve, reject) => template.render({ title: 'B', posts: list, touch: () => '' }, (e, h) => (e ? reject(e) : resolve(h ?? ''))));
    const cold = await viewOf();
    await viewOf();
    counted.reset();
    expect(await viewOf()).toBe(cold);
    expect(reads()).toBe(1);
  });
});
