/**
 * Attacks on cacheability that bubbles (issue 14 items 1-3): stale outer fragments, views and pages
 * after an inner invalidation, lifetimes not applied on some path, personal content shared, and
 * memory that grows with what bubbles. Through the public API only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import nunjucks from 'nunjucks';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ManualClock, cacheable, cachePage, createCache, createEnvironment, createSqliteStore, fragmentKey, render, renderView, type Cache } from '../../src/index.js';
import { FRAMEWORKS, listen, serve } from '../http/support.js';
import { MapLoader } from '../support/stores.js';

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
