/**
 * Attacks on cacheability that bubbles (issue 14 items 1-3): stale outer fragments, views and pages
 * after an inner invalidation, lifetimes not applied on some path, personal content shared, and
 * memory that grows with what bubbles. Through the public API only.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import express from 'express';
import type nunjucks from 'nunjucks';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cacheable, createCache, fragmentKey, type Cache } from '../../src/index.js';
import { cachePage } from '../../src/http.js';
import { createEnvironment, render, renderView } from '../../src/nunjucks.js';
import { createMemoryStore, createRedisLock, createSqliteStore, type DistributedLock } from '../../src/stores.js';
import { ManualClock } from '../../src/testing.js';
import { FRAMEWORKS, listen, serve } from '../http/support.js';
import { MapLoader, sleep } from '../support/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'njkc-attack-bubbling-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => join(dir, `b-${++n}.db`);

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function track(cache: Cache): Cache {
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

describe('personal content is never shared', () => {
  it('renderView: a request that joins a concurrent render of a view with a nocache hole gets its own hole, not the other request\'s', async () => {
    const cache = track(createCache({ store: 'memory' }));
    const env = envFor(cache, { 'v.njk': '<% cache 600 card %>card <% nocache %>hi {{ user }}<% endnocache %><% endcache %>' });
    const [ann, bob] = await Promise.all([renderView(env, 'v.njk', { user: 'ann' }, { key: 'k' }), renderView(env, 'v.njk', { user: 'bob' }, { key: 'k' })]);
    expect(ann).toBe('card hi ann');
    expect(bob).toBe('card hi bob');
  });
});

describe.each(FRAMEWORKS)('a page rendered with the render() helper, not res.render (%s)', (framework) => {
  it('with a nocache hole inside is never stored or shared, and goes out private', async () => {
    const cache = track(createCache({ store: 'memory' }));
    const env = envFor(cache, { 'h.njk': '<% cache 600 card %>card <% nocache %>hi {{ user }}<% endnocache %><% endcache %>' });
    let renders = 0;
    const server = await serve(framework, {
      routes: [
        {
          path: '/h',
          use: [cachePage(cache, { ttl: 600 })],
          handler: async (req, res) => {
            renders += 1;
            // The library's own helper, without res.locals: the page must still hear about the hole.
            const html = await render(env, 'h.njk', { user: req.headers['x-user'] });
            res.setHeader('Cache-Control', 'public, max-age=60');
            res.setHeader('Content-Type', 'text/html');
            res.end(html);
          },
        },
      ],
    });
    cleanup.push(() => server.close());
    expect((await server.get('/h', { headers: { 'x-user': 'ann' } })).body).toBe('card hi ann');
    const bob = await server.get('/h', { headers: { 'x-user': 'bob' } });
    expect(bob.body).toBe('card hi bob');
    expect(bob.headers['cache-control']).toContain('private');
    expect(bob.headers['cache-control']).not.toContain('public');
    expect(renders).toBe(2);
  });

  it('is tagged with what its fragments depend on', async () => {
    const cache = track(createCache({ store: 'memory' }));
    const env = envFor(cache, { 'p.njk': '<% cache 600 body tags="post:1" %>post {{ n }}<% endcache %>' });
    let renders = 0;
    const server = await serve(framework, {
      routes: [
        {
          path: '/p',
          use: [cachePage(cache, { ttl: 600 })],
          handler: async (_req, res) => {
            renders += 1;
            res.setHeader('Content-Type', 'text/html');
            res.end(await render(env, 'p.njk', { n: renders }));
          },
        },
      ],
    });
    cleanup.push(() => server.close());
    expect((await server.get('/p')).body).toBe('post 1');
    expect((await server.get('/p')).headers['x-cache']).toBe('HIT');
    await cache.invalidateTags(['post:1']);
    expect((await server.get('/p')).body).toBe('post 2');
  });
});

describe.each(FRAMEWORKS)('a page that sends its headers before its templates render (%s)', (framework) => {
  it('with a nocache hole rendered after the headers went out is never stored or shared', async () => {
    const cache = track(createCache({ store: 'memory' }));
    const env = envFor(cache, { 'h.njk': '<% cache 600 card %>card <% nocache %>hi {{ user }}<% endnocache %><% endcache %>' });
    const server = await serve(framework, {
      routes: [
        {
          path: '/h',
          use: [cachePage(cache, { ttl: 600 })],
          handler: async (req, res) => {
            res.setHeader('Content-Type', 'text/html');
            res.write('<p>'); // early flush: the headers go out now
            res.end(await render(env, 'h.njk', { user: req.headers['x-user'] }));
          },
        },
      ],
    });
    cleanup.push(() => server.close());
    expect((await server.get('/h', { headers: { 'x-user': 'ann' } })).body).toBe('<p>card hi ann');
    expect((await server.get('/h', { headers: { 'x-user': 'bob' } })).body).toBe('<p>card hi bob');
  });

  it('with a fragment inside that lives 30 s is stored no longer than that', async () => {
    const clock = new ManualClock(1_000_000);
    const cache = track(createCache({ store: 'memory', clock }));
    const env = envFor(cache, { 'p.njk': '<% cache 30 part %>part {{ n }}<% endcache %>' });
    let n = 0;
    const server = await serve(framework, {
      routes: [
        {
          path: '/p',
          use: [cachePage(cache, { ttl: 600 })],
          handler: async (_req, res) => {
            n += 1;
            res.setHeader('Content-Type', 'text/html');
            res.write('<p>');
            res.end(await render(env, 'p.njk', { n }));
          },
        },
      ],
    });
    cleanup.push(() => server.close());
    expect((await server.get('/p')).body).toBe('<p>part 1');
    expect((await server.get('/p')).headers['x-cache']).toBe('HIT');
    clock.advance(31);
    expect((await server.get('/p')).body).toBe('<p>part 2');
  });
});

/** A lock two caches share as two processes would share one in Redis. */
function sharedLock(): DistributedLock {
  const held = new Map<string, string>();
  let n = 0;
  return {
    acquire: async (key) => {
      if (held.has(key)) return null;
      const token = `t${++n}`;
      held.set(key, token);
      return token;
    },
    release: async (key, token) => {
      if (held.get(key) === token) held.delete(key);
    },
    close: async () => {},
  };
}

describe('concurrent requests for a value that may not be shared', () => {
  it('a page with a nocache hole: concurrent requests render side by side, not one after another', async () => {
    const cache = track(createCache({ store: 'memory' }));
    const env = envFor(cache, { 'h.njk': '<% cache 600 card %>card <% nocache %>hi {{ user }}<% endnocache %><% endcache %>' });
    let running = 0;
    let most = 0;
    const server = express();
    env.express(server);
    server.get('/h', cachePage(cache, { ttl: 600 }), async (req, res) => {
      running += 1;
      most = Math.max(most, running);
      await sleep(40);
      running -= 1;
      res.render('h.njk', { user: req.headers['x-user'] });
    });
    const s = await listen(server as unknown as Parameters<typeof listen>[0]);
    cleanup.push(() => s.close());
    const users = ['a', 'b', 'c', 'd', 'e', 'f'];
    const replies = await Promise.all(users.map((user) => s.get('/h', { headers: { 'x-user': user } })));
    expect(replies.map((reply) => reply.body)).toEqual(users.map((user) => `card hi ${user}`));
    expect(most).toBeGreaterThan(2);
  });

  it('renderView of a view with a hole: concurrent renders run side by side', async () => {
    const cache = track(createCache({ store: 'memory' }));
    const env = envFor(cache, { 'v.njk': '<% cache 600 card %>card <% nocache %>hi {{ (user | resolve) }}<% endnocache %><% endcache %>' });
    let running = 0;
    let most = 0;
    const user = (name: string) => async () => {
      running += 1;
      most = Math.max(most, running);
      await sleep(40);
      running -= 1;
      return name;
    };
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const html = await Promise.all(names.map((name) => renderView(env, 'v.njk', { user: user(name) }, { key: 'k' })));
    expect(html).toEqual(names.map((name) => `card hi ${name}`));
    expect(most).toBeGreaterThan(2);
  });
});

describe('the distributed lock around a value that is not stored', () => {
  it('a process waiting for another\'s render of a fragment that cannot be stored (a TTL-0 piece inside) renders as soon as the lock is released, not after lockWaitMs', async () => {
    const store = createMemoryStore();
    const lock = sharedLock();
    const a = track(createCache({ store, lock, lockWaitMs: 3_000, lockPollMs: 10 }));
    const b = track(createCache({ store, lock, lockWaitMs: 3_000, lockPollMs: 10 }));
    const template = { t: '<% cache 600 outer %>[<% cache 0 now %>{{ load | resolve }}<% endcache %>]<% endcache %>' };
    const envA = envFor(a, template);
    const envB = envFor(b, template);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const load = async () => {
      calls += 1;
      const mine = calls;
      if (mine === 1) await gate;
      return `v${mine}`;
    };
    const first = render(envA, 't', { load }); // A holds the lock on "outer"
    await sleep(30);
    const second = render(envB, 't', { load }); // B waits for A's render
    await sleep(30);
    release();
    expect(await first).toBe('[v1]');
    const started = performance.now();
    expect(await second).toBe('[v2]');
    expect(performance.now() - started).toBeLessThan(1_500);
  });
});

describe('invalidation through another cache sharing one store object', () => {
  it('SQLite (better-sqlite3, one connection): an inner tag invalidated by cache B drops cache A\'s warm outer fragment', async () => {
    const store = createSqliteStore({ path: file() });
    const a = track(createCache({ store }));
    const b = createCache({ store });
    const env = envFor(a, { t: '<% cache 600 outer %>[<% cache 600 inner tags="post:1" %>{{ load | resolve }}<% endcache %>]<% endcache %>' });
    const { load } = loader('v');
    expect(await render(env, 't', { load })).toBe('[v1]');
    expect(await render(env, 't', { load })).toBe('[v1]');
    expect(await render(env, 't', { load })).toBe('[v1]');
    await b.invalidateTags(['post:1']);
    expect(await render(env, 't', { load })).toBe('[v2]');
  });
});

describe('what bubbles stays bounded', () => {
  const LIST = { t: '<% cache 600 list %><% for id in ids %><% cache 600 card id tags=["post:" + id] %>{{ id }},<% endcache %><% endfor %><% endcache %>' };

  it('a list of 600 tagged cards (1 200 bubbled tags) stores no entry with more than 1 000 tags around them, and is never served stale', async () => {
    const cache = track(createCache({ store: 'memory' }));
    const env = envFor(cache, LIST);
    const ids = Array.from({ length: 600 }, (_, i) => i);
    const html = await render(env, 't', { ids });
    const stored = (await cache.store.get(cache.makeKey(fragmentKey('list')))) as { tags?: Record<string, string> } | undefined;
    expect(Object.keys(stored?.tags ?? {}).length).toBeLessThanOrEqual(1_000);
    // Whatever happened to the list, an invalidated card shows up in it at once.
    const misses: string[] = [];
    cache.on('miss', ({ label }) => misses.push(String(label)));
    await cache.invalidateTags(['post:7']);
    expect(await render(env, 't', { ids })).toBe(html);
    expect(misses.filter((label) => label === 'card')).toEqual(['card']);
  });

  it('a list of 400 tagged cards (800 bubbled tags) is still stored, and dropped by an inner invalidation', async () => {
    const cache = track(createCache({ store: 'memory' }));
    const env = envFor(cache, LIST);
    const ids = Array.from({ length: 400 }, (_, i) => i);
    await render(env, 't', { ids });
    expect(await cache.has(fragmentKey('list'))).toBe(true);
    await cache.invalidateFragment('card', [399]);
    expect(await cache.has(fragmentKey('list'))).toBe(false);
  });
});

describe('what bubbles stays bounded in memory', () => {
  it('read plans: 20 000 templates whose entry learned 900 tags retain no more than the plans bound allows', async () => {
    const probe = fileURLToPath(new URL('./bubbling-memory-probe.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', probe], { maxBuffer: 1024 * 1024 });
    const { plans } = JSON.parse(stdout) as { plans: number };
    // Unbounded, the plans hold 20 000 lookups of 901 keys each (18 million references, ~150 MiB).
    expect(plans).toBeLessThan(16 * 1024 * 1024);
  }, 120_000);
});

const SHARED: Array<'sqlite' | 'redis'> = process.env.REDIS_URL ? ['sqlite', 'redis'] : ['sqlite'];

/** Two caches on one store as two processes have them: separate connections, no bus between them. */
function twoProcesses(kind: 'sqlite' | 'redis'): [Cache, Cache] {
  const path = file();
  const prefix = `attack-${process.pid}-${++n}`;
  const open = () => track(createCache({ store: kind === 'sqlite' ? createSqliteStore({ path }) : (process.env.REDIS_URL as string), keyPrefix: prefix }));
  return [open(), open()];
}

describe.each(SHARED)('another process invalidates while a fragment renders (%s, no bus)', (kind) => {
  it('a tag a loader declared with cacheable(), invalidated after the data was loaded and before the fragment was stored, is never hidden', async () => {
    const [a, b] = twoProcesses(kind);
    await a.connect();
    await b.connect();
    const env = envFor(a, { t: '<% cache 600 outer %>[{{ (load | resolve).title }}{{ during | resolve }}]<% endcache %>' });
    let version = 1;
    const load = async () => cacheable({ title: `v${version}` }, { tags: ['post:1'] });
    let invalidateDuring = false;
    const during = async () => {
      if (invalidateDuring) {
        // The post is saved in another process, which invalidates its tag: after this render loaded it.
        version += 1;
        await b.invalidateTags(['post:1']);
      }
      return '';
    };
    invalidateDuring = true;
    expect(await render(env, 't', { load, during })).toBe('[v1]');
    invalidateDuring = false;
    expect(await render(env, 't', { load, during })).toBe('[v2]');
  });

  it('without an invalidation, a cold render of nested fragments around a loader stores every level at once', async () => {
    const [a] = twoProcesses(kind);
    const env = envFor(a, { t: '<% cache 600 outer %>[<% cache 600 inner %>{{ (load | resolve).title }}<% endcache %>]<% endcache %>' });
    let calls = 0;
    const load = async () => cacheable({ title: `v${++calls}` }, { tags: ['post:9'] });
    expect(await render(env, 't', { load })).toBe('[v1]');
    expect(await a.has(fragmentKey('outer'))).toBe(true);
    expect(await a.has(fragmentKey('inner'))).toBe(true);
    await a.invalidateTags(['post:9']);
    expect(await render(env, 't', { load })).toBe('[v2]');
  });
});

/** Poll `fn` until it returns `want` (another process's bus message is on its way), at most 3 s. */
async function eventually(fn: () => Promise<string>, want: string): Promise<string> {
  let got = await fn();
  for (let i = 0; i < 150 && got !== want; i++) {
    await sleep(20);
    got = await fn();
  }
  return got;
}

describe('paths that held (regression guards)', () => {
  it('an inner tag invalidated while a stale outer fragment refreshes in the background: the refresh is not stored', async () => {
    const clock = new ManualClock(1_000_000);
    const cache = track(createCache({ store: 'memory', clock }));
    const env = envFor(cache, { t: '<% cache 60 outer stale=600 %>[<% cache 600 inner tags="post:1" %>{{ load | resolve }}<% endcache %>{{ during | resolve }}]<% endcache %>' });
    const { calls, load } = loader('v');
    let invalidateDuring = false;
    let refreshed = 0;
    const during = async () => {
      if (invalidateDuring) {
        invalidateDuring = false;
        await cache.invalidateTags(['post:1']);
        refreshed += 1;
      }
      return '';
    };
    expect(await render(env, 't', { load, during })).toBe('[v1]');
    clock.advance(61);
    invalidateDuring = true;
    expect(await render(env, 't', { load, during })).toBe('[v1]'); // stale, refreshed in the background
    for (let i = 0; i < 100 && refreshed === 0; i++) await sleep(5);
    await sleep(20);
    expect(await render(env, 't', { load, during })).toBe('[v2]');
    expect(calls.n).toBe(2);
  });

  it('asyncAll: loaders resolved side by side each reach the fragment around them (tags and lifetimes)', async () => {
    const clock = new ManualClock(1_000_000);
    const cache = track(createCache({ store: 'memory', clock }));
    const env = envFor(cache, { t: '<% cache 600 list %><% asyncAll id in ids %>{{ (load | resolve(id)).title }},<% endall %><% endcache %>' });
    let calls = 0;
    const load = async (id: number) => {
      calls += 1;
      await sleep(5 - id); // finish out of order
      return cacheable({ title: `${id}v${calls}` }, { tags: [`post:${id}`], ttl: id === 2 ? 1 : null });
    };
    const ids = [1, 2, 3, 4];
    await render(env, 't', { ids, load });
    expect(calls).toBe(4);
    await render(env, 't', { ids, load });
    expect(calls).toBe(4);
    await cache.invalidateTags(['post:3']);
    await render(env, 't', { ids, load });
    expect(calls).toBe(8);
    clock.advance(2); // post 2's data lives 1 s: the list with it
    await render(env, 't', { ids, load });
    expect(calls).toBe(12);
  });

  it('asyncEach: fragments in the loop each reach the fragment around them (tags, implicit tags, lifetimes)', async () => {
    const clock = new ManualClock(1_000_000);
    const cache = track(createCache({ store: 'memory', clock }));
    const env = envFor(cache, {
      t: '<% cache 600 list %><% asyncEach id in ids %><% cache (1 if id == 2 else 600) card id tags=["post:" + id] %>{{ id }}{{ load | resolve }},<% endcache %><% endeach %><% endcache %>',
    });
    const { calls, load } = loader('v');
    const ids = [1, 2, 3, 4];
    const first = await render(env, 't', { ids, load });
    expect(await render(env, 't', { ids, load })).toBe(first);
    await cache.invalidateTags(['post:3']);
    expect(await render(env, 't', { ids, load })).toContain('3v5');
    await cache.invalidateFragment('card', [4]);
    expect(await render(env, 't', { ids, load })).toContain('4v6');
    expect(calls.n).toBe(6);
    clock.advance(2); // card 2 lives 1 s: the list with it
    expect(await render(env, 't', { ids, load })).toContain('2v7');
  });

  it('a page around an inner fragment served stale is not stored and goes out with max-age=0', async () => {
    const clock = new ManualClock(1_000_000);
    const cache = track(createCache({ store: 'memory', clock }));
    const server = express();
    const env = envFor(cache, { 'p.njk': '<% cache 10 part stale=600 %>part {{ n }}<% endcache %>' });
    env.express(server);
    let n = 0;
    server.get('/p', cachePage(cache, { ttl: 600 }), (_req, res) => {
      n += 1;
      res.set('Cache-Control', 'public, max-age=600');
      res.render('p.njk', { n });
    });
    const s = await listen(server as unknown as Parameters<typeof listen>[0]);
    cleanup.push(() => s.close());
    expect((await s.get('/p')).headers['cache-control']).toBe('public, max-age=10');
    clock.advance(11);
    const stale = await s.get('/p');
    expect(stale.body).toBe('part 1');
    expect(stale.headers['cache-control']).toBe('public, max-age=0');
    expect((await s.get('/p')).headers['x-cache']).toBe('MISS');
  });

  it('a view rendered inside a page with a hole is not stored, and the page is private', async () => {
    const cache = track(createCache({ store: 'memory' }));
    const env = envFor(cache, { 'v.njk': '<% cache 600 card %>card <% nocache %>hi {{ user }}<% endnocache %><% endcache %>' });
    const server = express();
    server.get('/v', cachePage(cache, { ttl: 600 }), async (req, res) => {
      res.set('Cache-Control', 'public, s-maxage=60');
      res.send(await renderView(env, 'v.njk', { user: req.headers['x-user'] }, { key: 'k' }));
    });
    const s = await listen(server as unknown as Parameters<typeof listen>[0]);
    cleanup.push(() => s.close());
    const [ann, bob] = await Promise.all([s.get('/v', { headers: { 'x-user': 'ann' } }), s.get('/v', { headers: { 'x-user': 'bob' } })]);
    expect(ann.body).toBe('card hi ann');
    expect(bob.body).toBe('card hi bob');
    expect(bob.headers['cache-control']).toContain('private');
    expect(bob.headers['cache-control']).not.toContain('s-maxage');
    expect((await s.get('/v', { headers: { 'x-user': 'cy' } })).body).toBe('card hi cy');
  });

  it('an inner fragment that joined a render elsewhere bounds the fragment around it by its lifetime', async () => {
    const clock = new ManualClock(1_000_000);
    const cache = track(createCache({ store: 'memory', clock }));
    const env = envFor(cache, { alone: '<% cache 1 inner %>{{ load | resolve }}<% endcache %>', outer: '<% cache 3600 outer %>[<% include "alone" %>]<% endcache %>' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const load = async () => {
      calls += 1;
      const mine = calls;
      if (mine === 1) await gate;
      return `v${mine}`;
    };
    const alone = render(env, 'alone', { load });
    await sleep(20);
    const outer = render(env, 'outer', { load }); // its inner joins the render above
    await sleep(20);
    release();
    expect(await alone).toBe('v1');
    expect(await outer).toBe('[v1]');
    clock.advance(1.5);
    expect(await render(env, 'outer', { load })).toBe('[v2]');
  });

  it('a loader used outside any fragment tags the page and bounds its lifetime', async () => {
    const clock = new ManualClock(1_000_000);
    const cache = track(createCache({ store: 'memory', clock }));
    const server = express();
    const env = envFor(cache, { 'p.njk': '<h1>{{ (load | resolve).title }}</h1>' });
    env.express(server);
    let n = 0;
    const load = async () => cacheable({ title: `t${++n}` }, { tags: ['post:1'], ttl: 30 });
    server.get('/p', cachePage(cache, { ttl: 600 }), (_req, res) => res.render('p.njk', { load }));
    const s = await listen(server as unknown as Parameters<typeof listen>[0]);
    cleanup.push(() => s.close());
    const first = await s.get('/p');
    expect(first.body).toBe('<h1>t1</h1>');
    expect(first.headers['cache-control']).toBe('max-age=30');
    expect((await s.get('/p')).headers['x-cache']).toBe('HIT');
    await cache.invalidateTags(['post:1']);
    expect((await s.get('/p')).body).toBe('<h1>t2</h1>');
    clock.advance(31);
    expect((await s.get('/p')).body).toBe('<h1>t3</h1>');
  });

  it("a page whose bubbled tags do not fit the proxy's header announces the catch-all key, which every purge names", async () => {
    const cache = track(createCache({ store: 'memory' }));
    const server = express();
    const env = envFor(cache, { 'l.njk': '<% for id in ids %><% cache 600 card id tags=["post:" + id] %>{{ id }}<% endcache %><% endfor %>' });
    env.express(server);
    server.get('/l', cachePage(cache, { ttl: 600, edge: { proxy: 'varnish' } }), (_req, res) => res.render('l.njk', { ids: Array.from({ length: 300 }, (_, i) => i) }));
    const s = await listen(server as unknown as Parameters<typeof listen>[0]);
    cleanup.push(() => s.close());
    const first = await s.get('/l');
    expect(first.headers.xkey).toBe('njkc-all');
    const hit = await s.get('/l');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers.xkey).toBe('njkc-all');
    await cache.invalidateTags(['post:299']);
    expect((await s.get('/l')).headers['x-cache']).toBe('MISS');
  });

  it.runIf(process.env.REDIS_URL)('two processes with a first tier and a Redis bus: an inner invalidation in one drops the warm outer in the other', async () => {
    const url = `${process.env.REDIS_URL as string}?tier=memory`;
    const prefix = `attack-tier-${process.pid}-${++n}`;
    const a = track(createCache({ store: url, keyPrefix: prefix }));
    const b = track(createCache({ store: url, keyPrefix: prefix }));
    await Promise.all([a.connect(), b.connect()]);
    const env = envFor(a, { t: '<% cache 600 outer %>[<% cache 600 inner tags="post:1" %>{{ load | resolve }}<% endcache %>]<% endcache %>' });
    const { load } = loader('v');
    expect(await render(env, 't', { load })).toBe('[v1]');
    expect(await render(env, 't', { load })).toBe('[v1]'); // warm: answered from A's first tier
    await b.invalidateTags(['post:1']);
    expect(await eventually(() => render(env, 't', { load }), '[v2]')).toBe('[v2]');
    await b.invalidateFragment('inner');
    expect(await eventually(() => render(env, 't', { load }), '[v3]')).toBe('[v3]');
  });

  it.runIf(process.env.REDIS_URL)('the distributed lock: a fragment that waited for another process\'s render reports its tags to the fragment around it', async () => {
    const url = process.env.REDIS_URL as string;
    const prefix = `attack-lock-${process.pid}-${++n}`;
    const lockA = createRedisLock(url);
    const lockB = createRedisLock(url);
    const a = track(createCache({ store: url, keyPrefix: prefix, lock: lockA, lockPollMs: 5 }));
    const b = track(createCache({ store: url, keyPrefix: prefix, lock: lockB, lockPollMs: 5 }));
    cleanup.push(async () => {
      await (lockA as unknown as { close?: () => Promise<void> }).close?.();
      await (lockB as unknown as { close?: () => Promise<void> }).close?.();
    });
    await Promise.all([a.connect(), b.connect()]);
    const templates = { inner: '<% cache 600 inner tags="post:1" %>{{ load | resolve }}<% endcache %>', outer: '<% cache 600 outer %>[<% include "inner" %>]<% endcache %>' };
    const envA = envFor(a, templates);
    const envB = envFor(b, templates);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const load = async () => {
      calls += 1;
      const mine = calls;
      if (mine === 1) await gate;
      return `v${mine}`;
    };
    const first = render(envA, 'inner', { load }); // A holds the lock on "inner"
    await sleep(30);
    const second = render(envB, 'outer', { load }); // B's "inner" waits for A's render
    await sleep(30);
    release();
    expect(await first).toBe('v1');
    expect(await second).toBe('[v1]');
    expect(calls).toBe(1);
    await a.invalidateTags(['post:1']);
    expect(await render(envB, 'outer', { load })).toBe('[v2]');
  });
});
