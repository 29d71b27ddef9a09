/**
 * Django's caching decorators as middleware: neverCache, cacheControl, varyOnHeaders, varyOnCookie.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PageCacheError, createCache, type Cache } from '../../src/index.js';
import { cacheControl, cachePage, neverCache, varyOnCookie, varyOnHeaders, type PageMiddleware } from '../../src/http.js';
import { ManualClock } from '../../src/testing.js';
import { FRAMEWORKS, counter, serve, type Handler, type TestServer } from './support.js';

describe.each(FRAMEWORKS)('decorators on %s', (framework) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function route(use: PageMiddleware[], handler: Handler, cache?: Cache): Promise<TestServer> {
    const server = await serve(framework, { routes: [{ path: '/page', use, handler }] });
    cleanup.push(() => server.close());
    if (cache !== undefined) cleanup.push(() => cache.close());
    return server;
  }

  function counting(set: (res: Parameters<Handler>[1]) => void = () => {}): { handler: Handler; calls: { n: number } } {
    const calls = counter();
    return {
      calls,
      handler: (req, res) => {
        calls.n += 1;
        set(res);
        res.end(`<p>${calls.n} ${req.headers['accept-language'] ?? ''} ${req.headers.cookie ?? ''}</p>`);
      },
    };
  }

  describe('neverCache', () => {
    it('sends the headers that stop every cache', async () => {
      const server = await route([neverCache], counting().handler);
      const reply = await server.get('/page');
      expect(reply.headers['cache-control']).toBe('max-age=0, no-cache, no-store, must-revalidate, private');
      expect(Date.parse(reply.headers.expires as string)).toBeLessThanOrEqual(Date.now());
    });

    it.each([
      ['after cachePage', (cache: Cache) => [cachePage(cache), neverCache]],
      ['before cachePage', (cache: Cache) => [neverCache, cachePage(cache)]],
    ])('keeps the page out of the cache, mounted %s', async (_label, chain) => {
      const cache = createCache();
      const { handler, calls } = counting();
      const server = await route(chain(cache), handler, cache);
      await server.get('/page');
      const second = await server.get('/page');
      expect(second.headers['x-cache']).toBe('MISS');
      expect(second.headers['cache-control']).toContain('no-store');
      expect(calls.n).toBe(2);
    });
  });

  describe('cacheControl', () => {
    it('merges directives into what the handler set, the smaller max-age winning', async () => {
      const server = await route([cacheControl({ public: true, maxAge: 600 })], counting((res) => res.setHeader('Cache-Control', 'max-age=30, private')).handler);
      expect((await server.get('/page')).headers['cache-control']).toBe('max-age=30, public');
    });

    it("sets the page's lifetime in the cache (response headers win over cachePage's ttl)", async () => {
      const clock = new ManualClock();
      const cache = createCache({ clock });
      const server = await route([cachePage(cache, { ttl: 5 }), cacheControl({ maxAge: 60 })], counting().handler, cache);
      await server.get('/page');
      clock.advance(30);
      expect((await server.get('/page')).headers['x-cache']).toBe('HIT');
    });

    it('with private: true, keeps the page out of the shared cache', async () => {
      const cache = createCache();
      const { handler, calls } = counting();
      const server = await route([cachePage(cache), cacheControl({ private: true, maxAge: 60 })], handler, cache);
      await server.get('/page');
      await server.get('/page');
      expect(calls.n).toBe(2);
    });

    it('rejects unknown or ill-typed directives when it is created', () => {
      expect(() => cacheControl({ maxAge: -1 })).toThrow(PageCacheError);
      expect(() => cacheControl({ maxAgee: 5 } as never)).toThrow(/unknown directive "maxAgee"/);
      expect(() => cacheControl({ public: true, private: true } as never)).toThrow(/exclude each other/);
    });
  });

  describe('varyOnHeaders', () => {
    it('adds the fields to Vary, and the cache keeps one page per value', async () => {
      const cache = createCache();
      const { handler, calls } = counting((res) => res.setHeader('Vary', 'Accept-Encoding'));
      const server = await route([cachePage(cache), varyOnHeaders('Accept-Language')], handler, cache);
      const en = await server.get('/page', { headers: { 'accept-language': 'en' } });
      expect(en.headers.vary).toBe('Accept-Encoding, Accept-Language');
      const de = await server.get('/page', { headers: { 'accept-language': 'de' } });
      expect(de.body).toBe('<p>2 de </p>');
      expect((await server.get('/page', { headers: { 'accept-language': 'en' } })).body).toBe('<p>1 en </p>');
      expect(calls.n).toBe(2);
    });

    it('refuses a call without valid header names', () => {
      expect(() => varyOnHeaders()).toThrow(expect.objectContaining({ code: 'ERR_PAGE_OPTIONS' }));
      expect(() => varyOnHeaders('Accept Language')).toThrow(/request header names/);
    });
  });

  describe('varyOnCookie', () => {
    it('lets pages for requests with cookies be cached, one per cookie, never crossing users', async () => {
      const cache = createCache();
      const { handler, calls } = counting();
      const server = await route([cachePage(cache), varyOnCookie], handler, cache);
      const alice = { headers: { cookie: 'sid=alice' } };
      const bob = { headers: { cookie: 'sid=bob' } };
      expect((await server.get('/page', alice)).body).toBe('<p>1  sid=alice</p>');
      expect((await server.get('/page', bob)).body).toBe('<p>2  sid=bob</p>');
      const again = await server.get('/page', alice);
      expect([again.headers['x-cache'], again.body, again.headers.vary]).toEqual(['HIT', '<p>1  sid=alice</p>', 'Cookie']);
      expect(calls.n).toBe(2);
    });
  });
});
