/**
 * Attacks on the render's read scope (learned prefetch), the change log and read coalescing: every
 * test renders through the public API and checks that output, invalidation and failure behave as
 * they would without the prefetch.
 */
import type nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { createEnvironment } from '../../src/nunjucks.js';
import { createStore, createTieredStore, type InvalidationBus, type Store } from '../../src/stores.js';
import { ManualClock } from '../../src/testing.js';
import type { BusListener } from '../../src/contracts/bus.js';
import { countingStore, MapLoader } from '../support/stores.js';

const CARD = '<% cache 600 card post.id tags=["post:" + post.id] %>[{{ post.title }}{{ touch(post) }}]<% endcache %>';
const PAGE = '<% cache 600 sidebar %><aside>{{ (gap | resolve) }}</aside><% endcache %><% for post in posts %>' + CARD + '<% endfor %>';

const caches: Cache[] = [];
afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close();
});

type Post = { id: number; title: string };
/** `inner` with some methods replaced (a KeyvStore's methods live on its prototype: spread would lose them). */
function wrap(inner: Store, overrides: Partial<Store>): Store {
  return {
    kind: 'wrapped',
    get: (key) => inner.get(key),
    getMany: (keys) => inner.getMany(keys),
    set: (key, value, ttl) => inner.set(key, value, ttl),
    setMany: (entries) => inner.setMany(entries),
    delete: (key) => inner.delete(key),
    deleteMany: (keys) => inner.deleteMany(keys),
    clear: () => inner.clear(),
    close: () => inner.close(),
    ...overrides,
  };
}

const posts = (from: number, n: number, title = 'p'): Post[] => Array.from({ length: n }, (_, i) => ({ id: from + i, title: `${title}${from + i}` }));

function setup(options: { store?: Store; templates?: Record<string, string>; clock?: ManualClock; staleTtl?: number; failOpen?: boolean; bare?: boolean } = {}) {
  const counted = countingStore(options.store ?? createStore(new Map()));
  const cache = createCache({ store: options.bare === true && options.store !== undefined ? options.store : counted.store, clock: options.clock, staleTtl: options.staleTtl, failOpen: options.failOpen });
  caches.push(cache);
  const loader = new MapLoader(options.templates ?? { 'page.njk': PAGE });
  const env = createEnvironment(loader as unknown as nunjucks.ILoader, { cache });
  const rendered: number[] = [];
  const touch = (post: Post) => (rendered.push(post.id), '');
  const view = (list: Post[], gap: () => Promise<string> = async () => 'side', name = 'page.njk', extra: Record<string, unknown> = {}) =>
    new Promise<string>((resolve, reject) => env.render(name, { posts: list, touch, gap, ...extra }, (error, html) => (error ? reject(error) : resolve(html ?? ''))));
  const reads = () => counted.calls.get + counted.calls.getMany;
  return { cache, env, loader, counted, view, rendered, reads };
}

describe('prefetch: invalidations racing the prefetch', () => {
  it('an invalidation issued while the prefetch read is in flight is never hidden by the reply', async () => {
    const inner = createStore(new Map());
    let onRead: (() => Promise<void>) | undefined;
    const store: Store = wrap(inner, {
      getMany: async (keys) => {
        const values = await inner.getMany(keys);
        // The reply is on its way (read before the invalidation) but lands after it.
        if (onRead !== undefined && keys.length > 10) {
          const run = onRead;
          onRead = undefined;
          await run();
        }
        return values;
      },
    });
    const { cache, view, rendered } = setup({ store });
    const list = posts(1, 10);
    await view(list);
    await view(list);
    rendered.length = 0;
    onRead = async () => {
      await cache.invalidateTags(['post:4']);
      await cache.invalidateFragment('card', [7]);
    };
    const html = await view(posts(1, 10, 'q'));
    expect(onRead).toBeUndefined();
    expect(rendered.sort((a, b) => a - b)).toEqual([4, 7]);
    expect(html).toContain('[q4]');
    expect(html).toContain('[q7]');
    expect(html).toContain('[p5]');
  });

  it('an invalidation during the render (after the prefetch, before the lookup) is seen for every kind of write', async () => {
    const { cache, view, rendered } = setup();
    const list = posts(1, 8);
    await view(list);
    await view(list);
    const writes: Array<() => Promise<unknown>> = [
      () => cache.invalidateTags(['post:6']),
      () => cache.invalidateFragment('card', [6]),
      () => cache.clear(),
    ];
    for (const write of writes) {
      await view(list); // warm again, plan learned
      await view(list);
      await cache.invalidateFragment('sidebar'); // the sidebar misses, so its gap runs after the prefetch
      rendered.length = 0;
      const html = await view(posts(1, 8, 'n'), async () => (await write(), 'side'));
      expect(rendered).toContain(6);
      expect(html).toContain('[n6]');
    }
  });

  it('the same fragment twice in one render, invalidated in between, renders again the second time', async () => {
    const templates = { 'page.njk': CARD + '<% cache 600 sidebar %>{{ (gap | resolve) }}<% endcache %>' + CARD };
    const { cache, view, rendered } = setup({ templates });
    const one = [{ id: 1, title: 'a' }];
    const viewOne = (gap?: () => Promise<string>, title = 'a') =>
      view([], gap, 'page.njk', { post: { id: 1, title } });
    void one;
    await viewOne();
    await viewOne();
    await cache.invalidateFragment('sidebar');
    rendered.length = 0;
    const html = await viewOne(async () => (await cache.invalidateTags(['post:1']), 'g'), 'b');
    expect(html).toBe('[a]g[b]');
    expect(rendered).toEqual([1]);
  });
});

describe('prefetch: nesting, includes, templates that change', () => {
  const NESTED = '<% cache 600 outer tags=["outer"] %>(<% for post in posts %>' + CARD + '<% endfor %>)<% endcache %>';

  it('an outer hit hides the inner lookups; an outer miss renders the inner ones from their entries, and a changed inner one renders', async () => {
    const { cache, view, rendered, reads, counted } = setup({ templates: { 'page.njk': NESTED } });
    const list = posts(1, 5);
    expect(await view(list)).toBe('([p1][p2][p3][p4][p5])');
    await view(list);
    counted.reset();
    expect(await view(list)).toBe('([p1][p2][p3][p4][p5])');
    expect(reads()).toBe(1);
    await cache.invalidateTags(['outer', 'post:3']);
    rendered.length = 0;
    expect(await view(posts(1, 5, 'x'))).toBe('([p1][p2][x3][p4][p5])');
    expect(rendered).toEqual([3]);
    // Next time, the outer hit again.
    rendered.length = 0;
    expect(await view(posts(1, 5, 'y'))).toBe('([p1][p2][x3][p4][p5])');
    expect(rendered).toEqual([]);
  });

  it('includes share the page scope, and an edited include (new digest) renders again', async () => {
    const templates: Record<string, string> = {
      'page.njk': '<% asyncEach post in posts %><% include "card.njk" %><% endeach %>',
      'card.njk': '<% cache 600 card post.id %>[{{ post.title }}{{ touch(post) }}]<% endcache %>',
    };
    const { loader, view, rendered, counted, reads } = setup({ templates });
    const list = posts(1, 6);
    await view(list);
    await view(list);
    counted.reset();
    rendered.length = 0;
    expect(await view(list)).toBe('[p1][p2][p3][p4][p5][p6]');
    expect(reads()).toBe(1);
    expect(rendered).toEqual([]);
    loader.templates['card.njk'] = '<% cache 600 card post.id %>{{ post.title }}!{{ touch(post) }}<% endcache %>';
    expect(await view(list)).toBe('p1!p2!p3!p4!p5!p6!');
    expect(rendered).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a tag set that changes between renders is honoured (new tag, tag removed)', async () => {
    const withTags = (tags: string) => ({ 'page.njk': `<% for post in posts %><% cache 600 card post.id tags=${tags} %>[{{ post.title }}{{ touch(post) }}]<% endcache %><% endfor %>` });
    const { loader, view, rendered, cache } = setup({ templates: withTags('["a"]') });
    const list = posts(1, 4);
    await view(list);
    await view(list);
    loader.templates['page.njk'] = withTags('["a", "b"]')['page.njk'] as string;
    rendered.length = 0;
    expect(await view(posts(1, 4, 'n'))).toBe('[n1][n2][n3][n4]');
    expect(rendered).toEqual([1, 2, 3, 4]);
    await view(list);
    await cache.invalidateTags(['b']);
    rendered.length = 0;
    expect(await view(posts(1, 4, 'm'))).toBe('[m1][m2][m3][m4]');
  });

  it('renderString templates share one id but never answer one another\'s lookups', async () => {
    const { env, cache } = setup();
    caches.push(cache);
    const rs = (src: string, ctx: object) => new Promise<string>((resolve, reject) => env.renderString(src, ctx, (e, h) => (e ? reject(e) : resolve(h ?? ''))));
    const a = '<% for i in items %><% cache 600 "x" i %>A{{ i }}<% endcache %><% endfor %>';
    const b = '<% for i in items %><% cache 600 "x" i %>B{{ i }}<% endcache %><% endfor %>';
    for (let round = 0; round < 3; round += 1) {
      expect(await rs(a, { items: [1, 2, 3] })).toBe('A1A2A3');
      expect(await rs(b, { items: [1, 2, 3] })).toBe('B1B2B3');
    }
  });
});

describe('prefetch: concurrency, failures and short replies', () => {
  it('concurrent renders of one template with different lists each render their own cards, and all stay warm after', async () => {
    const { view, rendered, counted, reads } = setup();
    const pages = [posts(1, 10), posts(11, 10), posts(5, 10), posts(1, 3)];
    const cold = await Promise.all(pages.map((page) => view(page)));
    const again = await Promise.all(pages.map((page) => view(page)));
    expect(again).toEqual(cold);
    rendered.length = 0;
    counted.reset();
    const warm = await Promise.all([...pages, ...pages].map((page) => view(page)));
    expect(warm).toEqual([...cold, ...cold]);
    expect(rendered).toEqual([]);
    expect(reads()).toBeLessThanOrEqual(2 * 2 * pages.length);
  });

  it('a render that throws halfway fails alone; the next render is correct and warm', async () => {
    const boom = '<% for post in posts %>' + CARD + '{% if post.id == 3 and explode %}{{ explode() }}{% endif %}<% endfor %>';
    const templates = { 'page.njk': boom.replace(/\{%/g, '<%').replace(/%\}/g, '%>') };
    const { view, rendered, counted, reads } = setup({ templates });
    const list = posts(1, 6);
    await view(list);
    await view(list);
    await expect(view(list, undefined, 'page.njk', { explode: () => { throw new Error('halfway'); } })).rejects.toThrow('halfway');
    rendered.length = 0;
    counted.reset();
    expect(await view(list)).toBe('[p1][p2][p3][p4][p5][p6]');
    expect(rendered).toEqual([]);
    counted.reset();
    await view(list);
    expect(reads()).toBe(1);
  });

  it('failOpen: false — a store failing during the prefetch fails the render; failOpen: true renders uncached, right', async () => {
    for (const failOpen of [false, true]) {
      const inner = createStore(new Map());
      const mode = { fail: false };
      const store: Store = wrap(inner, {
        get: (key) => (mode.fail ? Promise.reject(new Error('down (injected)')) : inner.get(key)),
        getMany: (keys) => (mode.fail ? Promise.reject(new Error('down (injected)')) : inner.getMany(keys)),
      });
      const { view, rendered } = setup({ store, failOpen });
      const list = posts(1, 5);
      await view(list);
      await view(list);
      mode.fail = true;
      rendered.length = 0;
      if (failOpen) {
        expect(await view(posts(1, 5, 'z'))).toContain('[z1][z2][z3][z4][z5]');
        expect(rendered).toEqual([1, 2, 3, 4, 5]);
      } else {
        await expect(view(list)).rejects.toThrow(/down \(injected\)|store/);
      }
      mode.fail = false;
      rendered.length = 0;
      expect(await view(list)).toContain('[p1][p2][p3][p4][p5]');
    }
  });

  it('a store whose getMany returns fewer values than asked reads as misses, never as someone else\'s value', async () => {
    const inner = createStore(new Map());
    const short = { on: false };
    const store: Store = wrap(inner, { getMany: async (keys) => (short.on ? (await inner.getMany(keys)).slice(1) : inner.getMany(keys)) });
    const { view } = setup({ store });
    const list = posts(1, 5);
    await view(list);
    await view(list);
    short.on = true;
    const html = await view(list);
    // Whatever was read, no card shows another card's content.
    for (const post of list) expect(html).toContain(`[p${post.id}]`);
    expect(html.match(/\[p\d\]/g)).toEqual(['[p1]', '[p2]', '[p3]', '[p4]', '[p5]']);
  });

  it('lookups coalesced into one store call each get their own value (an object one caller mutates)', async () => {
    for (const spec of ['memory://', new Map()] as const) {
      const cache = createCache({ store: spec as never });
      caches.push(cache);
      await cache.set('o', { list: [1], n: 1 });
      const [a, b] = await Promise.all([cache.get<{ list: number[]; n: number }>('o'), cache.get<{ list: number[]; n: number }>('o')]);
      a!.list.push(2);
      a!.n = 2;
      expect(b).toEqual({ list: [1], n: 1 });
      expect(await cache.get('o')).toEqual({ list: [1], n: 1 });
    }
  });
});

describe('prefetch: time', () => {
  it('an entry that expires (ManualClock) between the prefetch and its lookup renders again', async () => {
    const clock = new ManualClock(Date.now());
    const templates = { 'page.njk': PAGE.replace('cache 600 card', 'cache 10 card') };
    const { view, rendered, cache } = setup({ clock, templates });
    const list = posts(1, 5);
    await view(list);
    await view(list);
    await cache.invalidateFragment('sidebar');
    rendered.length = 0;
    const html = await view(posts(1, 5, 'e'), async () => (clock.advance(11), 'side'));
    expect(rendered).toEqual([1, 2, 3, 4, 5]);
    expect(html).toContain('[e1][e2][e3][e4][e5]');
  });

  it('stale-while-revalidate: a stale card from the prefetch is served once and refreshed once in the background', async () => {
    const clock = new ManualClock(Date.now());
    const templates = { 'page.njk': '<% for post in posts %><% cache 10 card post.id %>[{{ post.title }}{{ touch(post) }}]<% endcache %><% endfor %>' };
    const { view, rendered } = setup({ clock, templates, staleTtl: 100 });
    const list = posts(1, 3);
    await view(list);
    await view(list);
    clock.advance(20);
    rendered.length = 0;
    expect(await view(posts(1, 3, 's'))).toBe('[p1][p2][p3]');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rendered.sort()).toEqual([1, 2, 3]);
    rendered.length = 0;
    expect(await view(posts(1, 3, 't'))).toBe('[s1][s2][s3]');
    expect(rendered).toEqual([]);
  });
});

describe('prefetch: another process on a bus that may lose messages', () => {
  function fakeBus(): { bus: InvalidationBus; listener: () => BusListener } {
    let listener: BusListener | undefined;
    const bus: InvalidationBus = {
      kind: 'fake',
      get live() {
        return true;
      },
      listen: (l) => {
        listener = l;
      },
      ready: async () => {},
      publish: async () => {},
      close: async () => {},
    };
    return { bus, listener: () => listener as BusListener };
  }

  it('a bus that goes down during a render (messages may be lost) drops what the prefetch read, as it drops the first tier', async () => {
    const shared = new Map<string, unknown>();
    const { bus, listener } = fakeBus();
    const tiered = createTieredStore(createStore(shared), { bus });
    listener().up();
    const { cache, view, rendered } = setup({ store: tiered, bare: true });
    const list = posts(1, 6);
    await view(list);
    await view(list);
    await cache.invalidateFragment('sidebar');
    rendered.length = 0;
    const html = await view(posts(1, 6, 'n'), async () => {
      // Another process cleared the shared store; its message was lost, and the bus says so.
      shared.clear();
      listener().down('heartbeat late');
      return 'side';
    });
    // Without the prefetch every card would be read from the shared store now: all miss.
    expect(rendered).toEqual([1, 2, 3, 4, 5, 6]);
    expect(html).toContain('[n1][n2][n3][n4][n5][n6]');
  });
});
