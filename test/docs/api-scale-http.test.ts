/**
 * docs/api.md, the scale-out and HTTP sections: short examples, run for real (Redis and
 * PostgreSQL ones when REDIS_URL / POSTGRES_URL are set).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache, PageCacheError } from '../../src/index.js';
import { cacheControl, cacheMiddleware, cachePage, invalidatePage, neverCache, onHeaders, varyOnCookie, varyOnHeaders } from '../../src/http.js';
import { createPostgresBus, createPostgresStore, createRedisBus, createRedisLock, createRedisStore, createTieredStore, DEFAULT_TIER_BYTES } from '../../src/stores.js';
import { POSTGRES_URL, REDIS_URL, announceSkip, uniquePrefix } from '../support/env.js';
import { enterSite } from './support/docs.js';

let site: ReturnType<typeof enterSite>;
beforeAll(() => {
  site = enterSite();
});
afterAll(() => site.leave());

describe.skipIf(POSTGRES_URL === undefined)('PostgreSQL', () => {
  if (POSTGRES_URL === undefined) announceSkip('docs PostgreSQL examples', 'POSTGRES_URL');
  it('createPostgresStore and createPostgresBus', async () => {
    const table = `docs_${uniquePrefix('pg').replace(/\W/g, '_')}`;
    // #region postgres
    const shared = createPostgresStore({ url: process.env.POSTGRES_URL!, table });
    const cache = createCache({ store: createTieredStore(shared, { bus: createPostgresBus(process.env.POSTGRES_URL!) }) });
    await cache.set('k', 'v');
    const value = await cache.get('k'); // 'v'
    await cache.close(); // closes the store, its first tier and the bus
    // #endregion
    expect(value).toBe('v');
    const again = createCache({ store: createPostgresStore({ url: process.env.POSTGRES_URL!, table }) });
    await again.clear();
    await again.close();
  });
});

describe.skipIf(REDIS_URL === undefined)('Redis scale-out', () => {
  if (REDIS_URL === undefined) announceSkip('docs Redis scale-out examples', 'REDIS_URL');
  it('a first tier kept coherent by a Redis bus, and a distributed lock', async () => {
    const url = REDIS_URL as string;
    const namespace = uniquePrefix('tier');
    // #region tiered
    const shared = createRedisStore({ url, namespace });
    const tiered = createTieredStore(shared, { bus: createRedisBus(url), maxBytes: DEFAULT_TIER_BYTES });
    const lock = createRedisLock(url);
    const cache = createCache({ store: tiered, lock });
    await cache.connect();
    await cache.set('k', 'v');
    const live = tiered.tierStats().live; // true: the bus is connected
    await cache.clear();
    await cache.close(); // closes the store, its first tier and the bus
    await lock.close(); // the lock is yours to close
    // #endregion
    expect(live).toBe(true);
  });
});

describe('HTTP', () => {
  it('cachePage, cacheMiddleware, the decorators and invalidatePage', async () => {
    const cache = createCache();
    let renders = 0;
    // #region http
    const app = express();
    app.get('/about', cachePage(cache, { ttl: 900 }), (req, res) => {
      res.send(`<h1>About</h1><!-- render ${++renders} -->`);
    });
    app.get('/account', neverCache, (req, res) => res.send('private'));
    app.get('/news', cacheControl({ public: true, maxAge: 60 }), varyOnHeaders('Accept-Language'), (req, res) => res.send('news'));
    app.get('/me', varyOnCookie, (req, res) => res.send('me'));
    // or, for every route: app.use(cacheMiddleware(cache, { ttl: 600 }))

    // when /about changes:
    // await invalidatePage(cache, 'https://example.com/about');
    // #endregion
    expect(typeof cacheMiddleware(cache, { ttl: 600 })).toBe('function');
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
      expect(await (await get('/about')).text()).toBe('<h1>About</h1><!-- render 1 -->');
      expect(await (await get('/about')).text()).toBe('<h1>About</h1><!-- render 1 -->');
      expect(await invalidatePage(cache, `http://127.0.0.1:${port}/about`)).toBe(true);
      expect(await (await get('/about')).text()).toBe('<h1>About</h1><!-- render 2 -->');
      expect((await get('/account')).headers.get('cache-control')).toMatch(/no-store/);
      const news = await get('/news');
      expect(news.headers.get('cache-control')).toMatch(/max-age=60/);
      expect(news.headers.get('vary')).toMatch(/Accept-Language/);
      expect((await get('/me')).headers.get('vary')).toMatch(/Cookie/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(() => varyOnHeaders()).toThrow(PageCacheError);
  });

  it('onHeaders', async () => {
    const server = createServer((req, res) => {
      // #region onHeaders
      const started = performance.now();
      onHeaders(res, () => res.setHeader('Server-Timing', `app;dur=${(performance.now() - started).toFixed(1)}`));
      // #endregion
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(response.headers.get('server-timing')).toMatch(/^app;dur=\d+\.\d$/);
      expect(response.headers.get('content-type')).toBe('text/plain');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
