/**
 * Cacheability that bubbles (issue 14, Drupal's render cache): what an inner fragment, view or data
 * loader depends on — its tags, its implicit key tag and its lifetime — reaches the fragments,
 * views and pages rendered around it, on hits as well as misses, at any depth and through includes.
 * Run on every store kind the machine has, through the public API.
 */
import { fileURLToPath } from 'node:url';
import express from 'express';
import type nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheable, createCache, fragmentKey, type Cache } from '../../src/index.js';
import { createEnvironment, render, renderView } from '../../src/nunjucks.js';
import { cachePage } from '../../src/http.js';
import { createMemoryStore, createStore } from '../../src/stores.js';
import { ManualClock } from '../../src/testing.js';
import { listen, type TestServer } from '../http/support.js';
import { countingStore, MapLoader } from '../support/stores.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const dir = fileURLToPath(new URL('.', import.meta.url));
type Kind = 'memory' | 'sqlite' | 'redis';
const KINDS: Kind[] = process.env.REDIS_URL ? ['memory', 'sqlite', 'redis'] : ['memory', 'sqlite'];
let seq = 0;

function newCache(kind: Kind, clock = new ManualClock(1_000_000)): Cache {
  seq += 1;
  const store = kind === 'memory' ? 'memory' : kind === 'sqlite' ? `sqlite://${dir}../../node_modules/.cache-bubbling-${process.pid}-${seq}.db` : (process.env.REDIS_URL as string);
  const cache = createCache({ store, clock, keyPrefix: `bubble${process.pid}-${seq}` });
  cleanup.push(() => cache.close());
  return cache;
}

function envFor(cache: Cache, templates: Record<string, string>) {
  return createEnvironment(new MapLoader(templates) as unknown as nunjucks.ILoader, { cache });
}

/** A loader counting its calls; the value says which call it was. */
function loader(name: string) {
  const calls = { n: 0 };
  const load = async () => `${name}${++calls.n}`;
  return { calls, load };
}

describe.each(KINDS)('bubbling on %s', (kind) => {
  it('an inner tag reaches the outer fragments, at three levels of nesting and through an include', async () => {
    const cache = newCache(kind);
    const env = envFor(cache, {
      'page.njk': '<% cache 600 outer %>[<% include "middle.njk" %>]<% endcache %>',
      'middle.njk': '<% cache 600 middle %>(<% cache 600 inner tags="post:1" %>{{ load | resolve }}<% endcache %>)<% endcache %>',
    });
    const { calls, load } = loader('v');
    expect(await render(env, 'page.njk', { load })).toBe('[(v1)]');
    expect(await render(env, 'page.njk', { load })).toBe('[(v1)]');
    expect(calls.n).toBe(1);
    await cache.invalidateTags(['post:1']);
    expect(await render(env, 'page.njk', { load })).toBe('[(v2)]');
    expect(calls.n).toBe(2);
    // And stored again, with the new token.
    expect(await render(env, 'page.njk', { load })).toBe('[(v2)]');
    expect(calls.n).toBe(2);
  });

  it('invalidateFragment on the innermost fragment reaches every fragment around it', async () => {
    const cache = newCache(kind);
    const env = envFor(cache, {
      'page.njk': '<% cache 600 outer %>[<% include "middle.njk" %>]<% endcache %>',
      'middle.njk': '<% cache 600 middle %>(<% cache 600 inner 7 %>{{ load | resolve }}<% endcache %>)<% endcache %>',
    });
    const { calls, load } = loader('v');
    await render(env, 'page.njk', { load });
    await cache.invalidateFragment('inner', [7]);
    expect(await render(env, 'page.njk', { load })).toBe('[(v2)]');
    // Another inner key does not touch it.
    await cache.invalidateFragment('inner', [8]);
    expect(await render(env, 'page.njk', { load })).toBe('[(v2)]');
    expect(calls.n).toBe(2);
  });

  it('an inner fragment that was a hit still reports its tags to an outer one rendering on a miss', async () => {
    const cache = newCache(kind);
    const env = envFor(cache, {
      'card.njk': '<% cache 600 card tags="post:1" %>{{ load | resolve }}<% endcache %>',
      'list.njk': '<% cache 600 list %><ul><% include "card.njk" %></ul><% endcache %>',
    });
    const { calls, load } = loader('c');
    // The card is cached on its own first (another page), then the list embeds the warm card.
    expect(await render(env, 'card.njk', { load })).toBe('c1');
    expect(await render(env, 'list.njk', { load })).toBe('<ul>c1</ul>');
    expect(calls.n).toBe(1);
    await cache.invalidateTags(['post:1']);
    expect(await render(env, 'list.njk', { load })).toBe('<ul>c2</ul>');
  });

  it('a loader declares what its data depends on with cacheable(), through resolve', async () => {
    const cache = newCache(kind);
    const env = envFor(cache, { 'post.njk': '<% cache 600 wrapper %><% cache 600 post %>{{ (load | resolve).title }}<% endcache %><% endcache %>' });
    let n = 0;
    const load = async () => cacheable({ title: `t${++n}` }, { tags: ['post:42'] });
    expect(await render(env, 'post.njk', { load })).toBe('t1');
    expect(await render(env, 'post.njk', { load })).toBe('t1');
    await cache.invalidateTags(['post:41']);
    expect(await render(env, 'post.njk', { load })).toBe('t1');
    await cache.invalidateTags(['post:42']);
    expect(await render(env, 'post.njk', { load })).toBe('t2');
    expect(n).toBe(2);
  });

  it('an inner TTL bounds the outer entry; an inner forever extends nothing', async () => {
    const clock = new ManualClock(1_000_000);
    const cache = newCache(kind, clock);
    const env = envFor(cache, {
      short: '<% cache 3600 outer %>[<% cache 1 inner %>{{ load | resolve }}<% endcache %>]<% endcache %>',
      forever: '<% cache 60 outer2 %>[<% cache none inner2 %>{{ load | resolve }}<% endcache %>]<% endcache %>',
    });
    const { calls, load } = loader('v');
    expect(await render(env, 'short', { load })).toBe('[v1]');
    clock.advance(0.5);
    expect(await render(env, 'short', { load })).toBe('[v1]');
    clock.advance(0.6); // 1.1 s: the inner expired, and the outer with it
    expect(await render(env, 'short', { load })).toBe('[v2]');
    expect(calls.n).toBe(2);

    const other = loader('w');
    expect(await render(env, 'forever', { load: other.load })).toBe('[w1]');
    clock.advance(59);
    expect(await render(env, 'forever', { load: other.load })).toBe('[w1]');
    clock.advance(2); // the outer's own 60 s are over; the inner (forever) is still a hit
    expect(await render(env, 'forever', { load: other.load })).toBe('[w1]');
    expect(other.calls.n).toBe(1);
    expect(await cache.has(fragmentKey('outer2'))).toBe(true);
  });

  it('an invalidation landing while the outer fragment renders (after the inner one was read) is never hidden', async () => {
    const cache = newCache(kind);
    const env = envFor(cache, { 'page.njk': '<% cache 600 outer %>[<% cache 600 inner tags="post:1" %>{{ load | resolve }}<% endcache %>{{ during | resolve }}]<% endcache %>' });
    const { calls, load } = loader('v');
    let invalidateDuring = false;
    const during = async () => {
      if (invalidateDuring) await cache.invalidateTags(['post:1']);
      return '';
    };
    expect(await render(env, 'page.njk', { load, during })).toBe('[v1]');
    await cache.invalidateFragment('outer');
    invalidateDuring = true;
    // The outer renders again around the warm inner one, and post:1 is invalidated meanwhile.
    expect(await render(env, 'page.njk', { load, during })).toBe('[v1]');
    invalidateDuring = false;
    expect(await render(env, 'page.njk', { load, during })).toBe('[v2]');
    expect(calls.n).toBe(2);
  });

  it('an inner fragment that joined a render of the same key elsewhere (not nested there) still reports its tags', async () => {
    const cache = newCache(kind);
    const env = envFor(cache, {
      'alone.njk': '<% cache 600 inner tags="post:1" %>{{ load | resolve }}<% endcache %>',
      'outer.njk': '<% cache 600 outer %>[<% include "alone.njk" %>]<% endcache %>',
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let n = 0;
    const load = async () => {
      n += 1;
      const mine = n;
      if (mine === 1) await gate;
      return `v${mine}`;
    };
    const alone = render(env, 'alone.njk', { load }); // takes the lease on "inner"
    await new Promise((resolve) => setTimeout(resolve, 20));
    const outer = render(env, 'outer.njk', { load }); // its "inner" joins that render
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    expect(await alone).toBe('v1');
    expect(await outer).toBe('[v1]');
    expect(n).toBe(1);
    await cache.invalidateTags(['post:1']);
    expect(await render(env, 'outer.njk', { load })).toBe('[v2]');
    await cache.invalidateFragment('inner');
    expect(await render(env, 'outer.njk', { load })).toBe('[v3]');
  });

  it("another process invalidating an inner tag reaches this process's outer entry (no bus, shared store)", async () => {
    if (kind === 'memory') return; // needs a store two caches share
    const file = kind === 'sqlite' ? `sqlite://${dir}../../node_modules/.cache-bubbling-shared-${process.pid}-${++seq}.db` : (process.env.REDIS_URL as string);
    const prefix = `shared${process.pid}-${seq}`;
    const a = createCache({ store: file, keyPrefix: prefix });
    const b = createCache({ store: file, keyPrefix: prefix });
    cleanup.push(() => a.close(), () => b.close());
    const env = envFor(a, { 'page.njk': '<% cache 600 outer %>[<% cache 600 inner tags="post:1" %>{{ load | resolve }}<% endcache %>]<% endcache %>' });
    const { load } = loader('v');
    expect(await render(env, 'page.njk', { load })).toBe('[v1]');
    expect(await render(env, 'page.njk', { load })).toBe('[v1]');
    await b.invalidateTags(['post:1']);
    expect(await render(env, 'page.njk', { load })).toBe('[v2]');
    await b.invalidateFragment('inner');
    expect(await render(env, 'page.njk', { load })).toBe('[v3]');
  });

  it('a warm page of nested fragments still reads the store once per view (bubbled tags ride in the prefetch)', async () => {
    if (kind !== 'memory') return; // counted on a wrapper around the memory store
    const counted = countingStore(createStore(new Map()));
    const cache = createCache({ store: counted.store });
    cleanup.push(() => cache.close());
    const env = envFor(cache, {
      'page.njk': '<% cache 600 list %><% for p in posts %><% cache 600 card p.id tags=["post:" + p.id] %>{{ p.title }}<% endcache %><% endfor %><% endcache %>',
    });
    const posts = Array.from({ length: 20 }, (_, i) => ({ id: i, title: `p${i}` }));
    const view = () => render(env, 'page.njk', { posts });
    const cold = await view();
    await view();
    await view();
    counted.reset();
    expect(await view()).toBe(cold);
    expect(counted.calls.get + counted.calls.getMany).toBe(1);
    // Bubbled tags are honoured on that one read: the list renders again (the other cards are hits).
    await cache.invalidateTags(['post:3']);
    counted.reset();
    expect(await view()).toBe(cold);
    expect(counted.calls.set + counted.calls.setMany).toBeGreaterThan(0);
  });
});

describe('checking bubbled tags on a warm hit', () => {
  function countedMemory() {
    const store = createMemoryStore();
    const peek = store.peek!.bind(store);
    const counted = { peeks: 0 };
    Object.defineProperty(store, 'peek', { value: (key: string) => (counted.peeks++, peek(key)) });
    return { store, counted };
  }
  const TEMPLATE = { t: '<% cache 600 list %><% for id in ids %><% cache 600 card id tags=["post:" + id] %>{{ id }}<% endcache %><% endfor %><% endcache %>' };

  it('does not read the 20 learned tokens again while nothing was written (memory store)', async () => {
    const { store, counted } = countedMemory();
    const cache = createCache({ store });
    cleanup.push(() => cache.close());
    const env = envFor(cache, TEMPLATE);
    const ids = Array.from({ length: 10 }, (_, i) => i);
    const html = await render(env, 't', { ids });
    await render(env, 't', { ids });
    counted.peeks = 0;
    expect(await render(env, 't', { ids })).toBe(html);
    expect(counted.peeks).toBe(1); // the list entry; its 20 tags were checked by the view before
    await cache.set('unrelated', 1); // any write: the tokens are checked again
    counted.peeks = 0;
    await render(env, 't', { ids });
    expect(counted.peeks).toBe(21);
  });

  it('sees an invalidation made through another cache sharing the same store object', async () => {
    const store = createMemoryStore();
    const a = createCache({ store });
    const b = createCache({ store });
    cleanup.push(() => a.close(), () => b.close());
    const env = envFor(a, { t: '<% cache 600 outer %>[<% cache 600 inner tags="post:1" %>{{ load | resolve }}<% endcache %>]<% endcache %>' });
    const { load } = loader('v');
    await render(env, 't', { load });
    expect(await render(env, 't', { load })).toBe('[v1]');
    await b.invalidateTags(['post:1']); // a's change log does not see this write; the store's version does
    expect(await render(env, 't', { load })).toBe('[v2]');
  });
});

describe('bubble: false', () => {
  it('stores each fragment with its own tags only', async () => {
    const cache = newCache('memory');
    const env = createEnvironment(new MapLoader({ t: '<% cache 600 outer %>[<% cache 600 inner tags="post:1" %>{{ load | resolve }}<% endcache %>]<% endcache %>' }) as unknown as nunjucks.ILoader, { cache, bubble: false });
    const { load } = loader('v');
    expect(await render(env, 't', { load })).toBe('[v1]');
    await cache.invalidateTags(['post:1']);
    expect(await render(env, 't', { load })).toBe('[v1]'); // the outer entry does not know the inner tag
    await cache.invalidateFragment('outer');
    expect(await render(env, 't', { load })).toBe('[v2]');
  });
});

describe('pages know their fragments', () => {
  async function app(cache: Cache, views: Record<string, string>, routes: (app: express.Express) => void): Promise<TestServer> {
    const server = express();
    const env = envFor(cache, views);
    env.express(server);
    server.set('view engine', 'njk');
    routes(server);
    const s = await listen(server as unknown as Parameters<typeof listen>[0]);
    cleanup.push(() => s.close());
    return s;
  }

  it.each(KINDS)('invalidating a tag or a fragment inside a page drops the page (%s)', async (kind) => {
    const cache = newCache(kind);
    let renders = 0;
    const server = await app(cache, { 'post.njk': '<h1><% cache 600 title post.id tags=["post:" + post.id] %>{{ post.title }}<% endcache %></h1>' }, (a) => {
      a.get('/post/:id', cachePage(cache, { ttl: 600 }), (req, res) => {
        renders += 1;
        res.render('post.njk', { post: { id: Number(req.params.id), title: `T${renders}` } });
      });
      a.get('/other', cachePage(cache, { ttl: 600 }), (_req, res) => {
        renders += 1;
        res.send('other');
      });
    });
    expect((await server.get('/post/1')).body).toBe('<h1>T1</h1>');
    await server.get('/other');
    expect((await server.get('/post/1')).headers['x-cache']).toBe('HIT');
    await cache.invalidateTags(['post:1']);
    const again = await server.get('/post/1');
    expect(again.headers['x-cache']).toBe('MISS');
    expect(again.body).toBe('<h1>T3</h1>');
    expect((await server.get('/other')).headers['x-cache']).toBe('HIT');
    expect((await server.get('/post/1')).headers['x-cache']).toBe('HIT');
    await cache.invalidateFragment('title', [1]);
    expect((await server.get('/post/1')).headers['x-cache']).toBe('MISS');
  });

  it('a page lives no longer than the shortest lifetime inside it, and says so in Cache-Control', async () => {
    const clock = new ManualClock(1_000_000);
    const cache = newCache('memory', clock);
    const server = await app(cache, { 'p.njk': '<% cache 30 clockish %>{{ n }}<% endcache %>' }, (a) => {
      let n = 0;
      a.get('/p', cachePage(cache, { ttl: 600 }), (_req, res) => {
        n += 1;
        res.set('Cache-Control', 'public, max-age=600, s-maxage=600');
        res.render('p.njk', { n });
      });
    });
    const first = await server.get('/p');
    expect(first.headers['cache-control']).toBe('public, max-age=30, s-maxage=30');
    expect((await server.get('/p')).headers['x-cache']).toBe('HIT');
    clock.advance(31);
    const after = await server.get('/p');
    expect(after.headers['x-cache']).toBe('MISS');
  });

  it('a page with a nocache hole inside is never stored, and is marked private', async () => {
    const cache = newCache('memory');
    let renders = 0;
    const server = await app(cache, { 'h.njk': '<% cache 600 card %>card <% nocache %>hi {{ user }}<% endnocache %><% endcache %>' }, (a) => {
      a.get('/h', cachePage(cache, { ttl: 600 }), (req, res) => {
        renders += 1;
        res.set('Cache-Control', 'public, max-age=60');
        res.render('h.njk', { user: req.headers['x-user'] });
      });
    });
    const ann = await server.get('/h', { headers: { 'x-user': 'ann' } });
    const bob = await server.get('/h', { headers: { 'x-user': 'bob' } });
    expect(ann.body).toBe('card hi ann');
    expect(bob.body).toBe('card hi bob');
    expect(bob.headers['x-cache']).toBe('MISS');
    expect(bob.headers['cache-control']).toBe('max-age=60, private');
    expect(renders).toBe(2);
  });

  it('renderView inside a page: the page learns the view and its fragments', async () => {
    const cache = newCache('memory');
    const env = envFor(cache, { 'side.njk': '<% cache 600 side tags="menu" %>menu<% endcache %> {{ v }}' });
    const server = express();
    let v = 0;
    server.get('/v', cachePage(cache, { ttl: 600 }), async (_req, res) => {
      v += 1;
      res.send(await renderView(env, 'side.njk', { ...res.locals, v }, { key: 'x' }));
    });
    const s = await listen(server as unknown as Parameters<typeof listen>[0]);
    cleanup.push(() => s.close());
    expect((await s.get('/v')).body).toBe('menu 1');
    expect((await s.get('/v')).headers['x-cache']).toBe('HIT');
    await cache.invalidateTags(['menu']);
    expect((await s.get('/v')).body).toBe('menu 2');
    expect((await s.get('/v')).headers['x-cache']).toBe('HIT');
    await cache.invalidateView('side.njk', 'x');
    expect((await s.get('/v')).body).toBe('menu 3');
  });
});
