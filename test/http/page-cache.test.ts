/**
 * Whole-page caching, rule by rule, against real servers on 127.0.0.1:0 — the same cases on
 * Express 5 and on plain node:http. Each case fails if its rule is removed.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { cachePage, type PageCacheOptions } from '../../src/http.js';
import { ManualClock } from '../../src/testing.js';
import { FRAMEWORKS, counter, serve, type Handler, type TestServer } from './support.js';

describe.each(FRAMEWORKS)('cachePage on %s', (framework) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** A server with `handler` at /page behind cachePage(cache, options). */
  async function page(handler: Handler, options: PageCacheOptions = {}, cache: Cache = createCache()): Promise<TestServer> {
    const server = await serve(framework, { routes: [{ path: '/page', use: [cachePage(cache, options)], handler }] });
    cleanup.push(() => cache.close(), () => server.close());
    return server;
  }

  /** A handler that counts its runs and answers `<p>n</p>` with `headers`. */
  function counting(headers: Record<string, string | string[]> = {}, status = 200): { handler: Handler; calls: { n: number } } {
    const calls = counter();
    return {
      calls,
      handler: (_req, res) => {
        calls.n += 1;
        res.statusCode = status;
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        res.end(`<p>${calls.n}</p>`);
      },
    };
  }

  describe('a cacheable page', () => {
    it('runs the handler once and replays status, body and headers on a hit', async () => {
      const { handler, calls } = counting({ 'Content-Type': 'text/html; charset=utf-8', 'X-App': 'yes' });
      const server = await page(handler);
      const miss = await server.get('/page');
      const hit = await server.get('/page');
      expect(miss.headers['x-cache']).toBe('MISS');
      expect(hit.headers['x-cache']).toBe('HIT');
      expect([miss.body, hit.body]).toEqual(['<p>1</p>', '<p>1</p>']);
      expect(hit.status).toBe(200);
      expect(hit.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(hit.headers['x-app']).toBe('yes');
      expect(hit.headers['content-length']).toBe('8');
      expect(calls.n).toBe(1);
    });

    it('carries Age, the whole seconds since the page was stored', async () => {
      const clock = new ManualClock();
      const { handler } = counting();
      const server = await page(handler, {}, createCache({ clock }));
      await server.get('/page');
      expect((await server.get('/page')).headers.age).toBe('0');
      clock.advance(7.5);
      expect((await server.get('/page')).headers.age).toBe('7');
    });

    it('replays binary bodies byte for byte', async () => {
      const bytes = Buffer.from([0, 255, 254, 128, 10, 13, 0xc3]);
      const server = await page((_req, res) => {
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(bytes);
      });
      await server.get('/page');
      const hit = await server.get('/page');
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(hit.raw.equals(bytes)).toBe(true);
    });
  });

  describe('methods', () => {
    it('never caches a POST', async () => {
      const { handler, calls } = counting();
      const server = await page(handler);
      await server.get('/page', { method: 'POST' });
      const second = await server.get('/page', { method: 'POST' });
      expect(second.headers['x-cache']).toBeUndefined();
      expect(calls.n).toBe(2);
    });

    it("answers HEAD from GET's entry, with its length and without a body", async () => {
      const { handler, calls } = counting();
      const server = await page(handler);
      await server.get('/page');
      const head = await server.get('/page', { method: 'HEAD' });
      expect(head.headers['x-cache']).toBe('HIT');
      expect(head.headers['content-length']).toBe('8');
      expect(head.body).toBe('');
      expect(calls.n).toBe(1);
    });

    it('stores a HEAD miss for HEAD only: a later GET still gets the body', async () => {
      const { handler, calls } = counting();
      const server = await page(handler);
      await server.get('/page', { method: 'HEAD' });
      expect((await server.get('/page', { method: 'HEAD' })).headers['x-cache']).toBe('HIT');
      const get = await server.get('/page');
      expect(get.headers['x-cache']).toBe('MISS');
      expect(get.body).toBe('<p>2</p>');
      expect(calls.n).toBe(2);
    });
  });

  describe('statuses', () => {
    it('does not store a 404 by default', async () => {
      const { handler, calls } = counting({}, 404);
      const server = await page(handler);
      await server.get('/page');
      expect((await server.get('/page')).headers['x-cache']).toBe('MISS');
      expect(calls.n).toBe(2);
    });

    it('stores the statuses it is told to', async () => {
      const { handler, calls } = counting({}, 404);
      const server = await page(handler, { statuses: [200, 404] });
      await server.get('/page');
      const hit = await server.get('/page');
      expect([hit.status, hit.headers['x-cache']]).toEqual([404, 'HIT']);
      expect(calls.n).toBe(1);
    });
  });

  describe('when the response sets a cookie', () => {
    it.each([['no Cache-Control', {}], ['Cache-Control: public', { 'Cache-Control': 'public, max-age=60' }]])('is never replayed (%s)', async (_label, extra) => {
      const calls = counter();
      const server = await page((_req, res) => {
        calls.n += 1;
        for (const [name, value] of Object.entries(extra)) res.setHeader(name, value);
        res.setHeader('Set-Cookie', `session=user${calls.n}; HttpOnly`);
        res.end(`hello user${calls.n}`);
      });
      const first = await server.get('/page');
      const second = await server.get('/page');
      expect(second.headers['x-cache']).toBe('MISS');
      expect(second.headers['set-cookie']).toEqual(['session=user2; HttpOnly']);
      expect([first.body, second.body]).toEqual(['hello user1', 'hello user2']);
    });
  });

  describe('Cache-Control', () => {
    it.each(['private', 'no-store', 'no-cache', 'max-age=0', 'public, s-maxage=0, max-age=60', 'private, max-age=600'])('"%s" is never stored', async (cc) => {
      const { handler, calls } = counting({ 'Cache-Control': cc });
      const server = await page(handler);
      await server.get('/page');
      const second = await server.get('/page');
      expect(second.headers['x-cache']).toBe('MISS');
      expect(second.headers['cache-control']).toBe(cc);
      expect(calls.n).toBe(2);
    });

    it('honours a request that says no-store: its response is not stored', async () => {
      const { handler, calls } = counting();
      const server = await page(handler);
      await server.get('/page', { headers: { 'cache-control': 'no-store' } });
      expect((await server.get('/page')).headers['x-cache']).toBe('MISS');
      expect(calls.n).toBe(2);
    });
  });

  describe('headers given to writeHead', () => {
    it.each([
      ['an object', { 'Content-Type': 'text/plain', 'Set-Cookie': 'sid=1' }],
      ['a flat list', ['Content-Type', 'text/plain', 'Cache-Control', 'no-store']],
    ])('count as much as setHeader (%s)', async (_label, headers) => {
      const calls = counter();
      const server = await page((_req, res) => {
        calls.n += 1;
        res.writeHead(200, headers as never);
        res.end('x');
      });
      await server.get('/page');
      await server.get('/page');
      expect(calls.n).toBe(2);
    });

    it('are replayed on a hit', async () => {
      const server = await page((_req, res) => {
        res.writeHead(200, 'Fine', { 'Content-Type': 'text/plain', 'X-From': 'writeHead' });
        res.end('x');
      });
      await server.get('/page');
      const hit = await server.get('/page');
      expect([hit.headers['x-cache'], hit.headers['x-from'], hit.headers['content-type']]).toEqual(['HIT', 'writeHead', 'text/plain']);
    });
  });

  describe('Vary', () => {
    it('never stores "Vary: *"', async () => {
      const { handler, calls } = counting({ Vary: 'Accept, *' });
      const server = await page(handler);
      await server.get('/page');
      expect((await server.get('/page')).headers['x-cache']).toBe('MISS');
      expect(calls.n).toBe(2);
    });

    it('learns the Vary fields: another Accept-Language misses, the same one hits', async () => {
      const server = await page((req, res) => {
        res.setHeader('Vary', 'Accept-Language');
        res.end(req.headers['accept-language'] === 'fr' ? 'bonjour' : 'hello');
      });
      expect((await server.get('/page', { headers: { 'accept-language': 'en' } })).body).toBe('hello');
      const fr = await server.get('/page', { headers: { 'accept-language': 'fr' } });
      expect([fr.headers['x-cache'], fr.body]).toEqual(['MISS', 'bonjour']);
      const en = await server.get('/page', { headers: { 'accept-language': 'en' } });
      expect([en.headers['x-cache'], en.body]).toEqual(['HIT', 'hello']);
      const fr2 = await server.get('/page', { headers: { 'accept-language': 'fr' } });
      expect([fr2.headers['x-cache'], fr2.body]).toEqual(['HIT', 'bonjour']);
    });

    it('keeps two clients with different cookies on a "Vary: Cookie" page apart', async () => {
      const calls = counter();
      const server = await page((req, res) => {
        calls.n += 1;
        res.setHeader('Vary', 'Cookie');
        res.end(`private page of ${req.headers.cookie ?? 'nobody'}`);
      });
      const alice = { headers: { cookie: 'user=alice' } };
      const bob = { headers: { cookie: 'user=bob' } };
      expect((await server.get('/page', alice)).body).toBe('private page of user=alice');
      const bobFirst = await server.get('/page', bob);
      expect([bobFirst.headers['x-cache'], bobFirst.body]).toEqual(['MISS', 'private page of user=bob']);
      for (let i = 0; i < 3; i += 1) {
        const a = await server.get('/page', alice);
        const b = await server.get('/page', bob);
        expect([a.headers['x-cache'], a.body]).toEqual(['HIT', 'private page of user=alice']);
        expect([b.headers['x-cache'], b.body]).toEqual(['HIT', 'private page of user=bob']);
      }
      const anonymous = await server.get('/page');
      expect(anonymous.body).toBe('private page of nobody');
      expect(calls.n).toBe(3);
    });
  });

  describe('Authorization', () => {
    it('does not store a response to an authorized request unless it is explicitly public', async () => {
      const { handler, calls } = counting({ 'Cache-Control': 'max-age=60, s-maxage=60, must-revalidate' });
      const server = await page(handler);
      const auth = { headers: { authorization: 'Bearer secret' } };
      await server.get('/page', auth);
      expect((await server.get('/page', auth)).headers['x-cache']).toBe('MISS');
      expect(calls.n).toBe(2);
    });

    it('stores it when the response says public', async () => {
      const { handler, calls } = counting({ 'Cache-Control': 'public, max-age=60' });
      const server = await page(handler);
      await server.get('/page', { headers: { authorization: 'Bearer secret' } });
      expect((await server.get('/page')).headers['x-cache']).toBe('HIT');
      expect(calls.n).toBe(1);
    });
  });

  describe('requests with cookies', () => {
    it('are not stored unless the page varies on Cookie or is public', async () => {
      const { handler, calls } = counting();
      const server = await page(handler);
      await server.get('/page', { headers: { cookie: 'session=alice' } });
      const anonymous = await server.get('/page');
      expect([anonymous.headers['x-cache'], anonymous.body]).toEqual(['MISS', '<p>2</p>']);
      expect(calls.n).toBe(2);
    });
  });

  describe('lifetime', () => {
    async function lifetime(headers: Record<string, string>, ttl: number, advance: number): Promise<string | undefined> {
      const clock = new ManualClock();
      const { handler } = counting(headers);
      const server = await page(handler, { ttl }, createCache({ clock }));
      await server.get('/page');
      clock.advance(advance);
      return (await server.get('/page')).headers['x-cache'] as string | undefined;
    }

    it('uses the configured ttl when the response names none', async () => {
      expect(await lifetime({}, 30, 29)).toBe('HIT');
      expect(await lifetime({}, 30, 31)).toBe('MISS');
    });

    it("lets the response's max-age win over the configured ttl, shorter or longer", async () => {
      expect(await lifetime({ 'Cache-Control': 'max-age=5' }, 300, 6)).toBe('MISS');
      expect(await lifetime({ 'Cache-Control': 'max-age=600' }, 30, 300)).toBe('HIT');
    });

    it('lets s-maxage win over max-age (this is a shared cache)', async () => {
      expect(await lifetime({ 'Cache-Control': 'max-age=600, s-maxage=5' }, 300, 6)).toBe('MISS');
      expect(await lifetime({ 'Cache-Control': 'max-age=5, s-maxage=600' }, 300, 60)).toBe('HIT');
    });

    it('stores nothing when the configured ttl is 0 and the response names no lifetime', async () => {
      expect(await lifetime({}, 0, 0)).toBe('MISS');
    });
  });

  describe('the key', () => {
    it('sorts query parameters: ?a=1&b=2 and ?b=2&a=1 share an entry', async () => {
      const { handler, calls } = counting();
      const server = await page(handler);
      await server.get('/page?a=1&b=2');
      expect((await server.get('/page?b=2&a=1')).headers['x-cache']).toBe('HIT');
      expect(calls.n).toBe(1);
    });

    it('never lets different values share one: ?a=1 and ?a=2, ?a=1&a=2 and ?a=2&a=1', async () => {
      const server = await page((req, res) => res.end(`query ${req.url}`));
      for (const path of ['/page?a=1', '/page?a=2', '/page?a=1&a=2', '/page?a=2&a=1', '/page', '/page?a=1%26b']) {
        const reply = await server.get(path);
        expect([reply.headers['x-cache'], reply.body]).toEqual(['MISS', `query ${path}`]);
      }
    });

    it('keeps hosts apart, so a spoofed Host never poisons another host\'s entry', async () => {
      const server = await page((req, res) => res.end(`<a href="http://${req.headers.host}/next">next</a>`));
      const evil = await server.get('/page', { headers: { host: 'evil.test' } });
      expect(evil.body).toContain('evil.test');
      const good = await server.get('/page');
      expect([good.headers['x-cache'], good.body]).toEqual(['MISS', '<a href="http://site.test/next">next</a>']);
      expect((await server.get('/page', { headers: { host: 'SITE.test:80' } })).body).toBe('<a href="http://site.test/next">next</a>');
    });

    it('does not cache requests for hosts outside allowedHosts', async () => {
      const { handler, calls } = counting();
      const server = await page(handler, { allowedHosts: ['.site.test'] });
      await server.get('/page', { headers: { host: 'evil.test' } });
      const again = await server.get('/page', { headers: { host: 'evil.test' } });
      expect(again.headers['x-cache']).toBeUndefined();
      await server.get('/page', { headers: { host: 'www.site.test' } });
      expect((await server.get('/page', { headers: { host: 'www.site.test' } })).headers['x-cache']).toBe('HIT');
      expect(calls.n).toBe(3);
    });

    it('does not cache requests with an invalid Host', async () => {
      const { handler, calls } = counting();
      const server = await page(handler);
      await server.get('/page', { headers: { host: 'bad_host!' } });
      await server.get('/page', { headers: { host: 'bad_host!' } });
      expect(calls.n).toBe(2);
    });

    it('keys on X-Forwarded-Host when it is not trusted, so it cannot poison the page others get', async () => {
      const server = await page((req, res) => res.end(`link to ${String(req.headers['x-forwarded-host'] ?? req.headers.host)}`));
      await server.get('/page', { headers: { 'x-forwarded-host': 'evil.test' } });
      const plain = await server.get('/page');
      expect([plain.headers['x-cache'], plain.body]).toEqual(['MISS', 'link to site.test']);
    });

    it('with trustProxy, keys on the forwarded host and scheme instead of the connection', async () => {
      const server = await page((req, res) => res.end(`link to ${String(req.headers['x-forwarded-host'])}`), { trustProxy: true });
      const proxied = { headers: { host: 'backend:3000', 'x-forwarded-host': 'shop.test', 'x-forwarded-proto': 'https' } };
      await server.get('/page', proxied);
      expect((await server.get('/page', proxied)).headers['x-cache']).toBe('HIT');
      const other = await server.get('/page', { headers: { host: 'backend:3000', 'x-forwarded-host': 'blog.test', 'x-forwarded-proto': 'https' } });
      expect([other.headers['x-cache'], other.body]).toEqual(['MISS', 'link to blog.test']);
    });

    it('separates key prefixes and versions', async () => {
      const cache = createCache();
      const calls = counter();
      const handler = (_req: IncomingMessage, res: ServerResponse): void => {
        calls.n += 1;
        res.end('x');
      };
      const server = await serve(framework, {
        routes: [
          { path: '/a', use: [cachePage(cache, { keyPrefix: 'one' })], handler },
          { path: '/b', use: [cachePage(cache, { keyPrefix: 'one', version: 2 })], handler },
        ],
      });
      cleanup.push(() => cache.close(), () => server.close());
      await server.get('/a');
      await server.get('/b');
      expect(calls.n).toBe(2);
    });
  });

  describe('headers added to stored pages', () => {
    it('adds Cache-Control max-age, Expires and a strong ETag of the body when the app set none', async () => {
      const clock = new ManualClock(Date.UTC(2030, 0, 1));
      const server = await page((_req, res) => res.end('body text'), { ttl: 120 }, createCache({ clock }));
      const miss = await server.get('/page');
      const hit = await server.get('/page');
      const etag = `"${createHash('sha256').update('body text').digest('base64url').slice(0, 27)}"`;
      for (const reply of [miss, hit]) {
        expect(reply.headers['cache-control']).toBe('max-age=120');
        expect(reply.headers.expires).toBe(new Date(Date.UTC(2030, 0, 1) + 120_000).toUTCString());
        expect(reply.headers.etag).toBe(etag);
      }
    });

    it("keeps the app's own Cache-Control, Expires and ETag", async () => {
      const server = await page((_req, res) => {
        res.setHeader('Cache-Control', 'public, max-age=60');
        res.setHeader('ETag', 'W/"v1"');
        res.end('x');
      });
      await server.get('/page');
      const hit = await server.get('/page');
      expect(hit.headers['cache-control']).toBe('public, max-age=60');
      expect(hit.headers.etag).toBe('W/"v1"');
    });

    it('adds the ETag to the stored page even when the body was streamed', async () => {
      const server = await page((_req, res) => {
        res.write('part one, ');
        res.end('part two');
      });
      const miss = await server.get('/page');
      expect(miss.headers.etag).toBeUndefined(); // headers left before the body was known
      const hit = await server.get('/page');
      expect(hit.headers.etag).toBe(`"${createHash('sha256').update('part one, part two').digest('base64url').slice(0, 27)}"`);
    });
  });

  describe('conditional requests', () => {
    it('get 304 from the cache on a matching If-None-Match, without running the handler', async () => {
      const { handler, calls } = counting();
      const server = await page(handler);
      const { headers } = await server.get('/page');
      const etag = headers.etag as string;
      for (const value of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const reply = await server.get('/page', { headers: { 'if-none-match': value } });
        expect([reply.status, reply.body, reply.headers['x-cache'], reply.headers.etag]).toEqual([304, '', 'HIT', etag]);
      }
      expect(calls.n).toBe(1);
    });

    it('get the full page when If-None-Match does not match', async () => {
      const server = await page(counting().handler);
      await server.get('/page');
      const reply = await server.get('/page', { headers: { 'if-none-match': '"stale"' } });
      expect([reply.status, reply.body]).toEqual([200, '<p>1</p>']);
    });

    it('get 304 on If-Modified-Since at or after the stored Last-Modified', async () => {
      const modified = new Date(Date.UTC(2024, 5, 1)).toUTCString();
      const { handler, calls } = counting({ 'Last-Modified': modified, ETag: '"v"' });
      const server = await page(handler);
      await server.get('/page');
      expect((await server.get('/page', { headers: { 'if-modified-since': modified } })).status).toBe(304);
      expect((await server.get('/page', { headers: { 'if-modified-since': new Date(Date.UTC(2024, 4, 1)).toUTCString() } })).status).toBe(200);
      // RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since.
      expect((await server.get('/page', { headers: { 'if-modified-since': modified, 'if-none-match': '"other"' } })).status).toBe(200);
      expect(calls.n).toBe(1);
    });
  });
});
