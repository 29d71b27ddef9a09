/**
 * Header handling that would otherwise serve one user's page to another (issue 11 §3, issue 12
 * items 17 and 18), on Express 5 and node:http. Each case fails without its fix.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { cachePage, type PageCacheOptions } from '../../src/http.js';
import { ManualClock } from '../../src/testing.js';
import { pageKey, urlTag } from '../../src/http/keys.js';
import { FRAMEWORKS, counter, serve, type Handler, type TestServer } from './support.js';

describe.each(FRAMEWORKS)('page header safety on %s', (framework) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function page(handler: Handler, options: PageCacheOptions = {}, cache: Cache = createCache()): Promise<TestServer> {
    const server = await serve(framework, { routes: [{ path: '/page', use: [cachePage(cache, options)], handler }] });
    cleanup.push(() => cache.close(), () => server.close());
    return server;
  }

  /** A handler that answers `<p>n</p>` with `headers`, and counts. */
  function counting(headers: Record<string, string> = {}): { handler: Handler; calls: { n: number } } {
    const calls = counter();
    return {
      calls,
      handler: (_req, res) => {
        calls.n += 1;
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        res.end(`<p>${calls.n}</p>`);
      },
    };
  }

  it.each([['Private, max-age=60'], ['No-Store, max-age=60'], ['Max-Age=0'], ['public, S-Maxage=0, max-age=60']])(
    'Cache-Control: %s is obeyed whatever the case of its directive names (RFC 9111 §5.2)',
    async (cc) => {
      const { handler, calls } = counting({ 'Cache-Control': cc });
      const server = await page(handler);
      await server.get('/page');
      const second = await server.get('/page');
      expect([second.body, second.headers['x-cache'], calls.n]).toEqual(['<p>2</p>', 'MISS', 2]);
    },
  );

  it('a request with Authorization is not answered from a page stored for an anonymous request', async () => {
    const { handler, calls } = counting();
    const server = await page(handler, { ttl: 60 });
    await server.get('/page');
    expect((await server.get('/page')).headers['x-cache']).toBe('HIT');
    const authorized = await server.get('/page', { headers: { authorization: 'Bearer alice' } });
    expect([authorized.body, calls.n]).toEqual(['<p>2</p>', 2]);
    expect(authorized.headers['x-cache']).toBeUndefined(); // passed to the app untouched
  });

  it('…unless the stored response said public', async () => {
    const { handler, calls } = counting({ 'Cache-Control': 'public, max-age=60' });
    const server = await page(handler);
    await server.get('/page');
    const authorized = await server.get('/page', { headers: { authorization: 'Bearer alice' } });
    expect([authorized.headers['x-cache'], calls.n]).toEqual(['HIT', 1]);
  });

  it.each([
    ['X-Forwarded-Proto: javascript', { 'x-forwarded-proto': 'javascript' }],
    ['X-Forwarded-Proto: https, javascript', { 'x-forwarded-proto': 'https, javascript' }],
    ['X-Forwarded-Host: ,x', { 'x-forwarded-host': ',x' }],
    ['X-Forwarded-Host: shop.test, a b', { 'x-forwarded-host': 'shop.test, a b' }],
  ])('with trustProxy, a malformed forwarded value (%s) bypasses the cache', async (_name, headers) => {
    const calls = counter();
    const server = await page(
      (req, res) => {
        calls.n += 1;
        res.end(`<a href="${String(req.headers['x-forwarded-proto'] ?? 'http')}://${String(req.headers['x-forwarded-host'] ?? req.headers.host)}/">${calls.n}</a>`);
      },
      { trustProxy: true, ttl: 60 },
    );
    const poisoned = await server.get('/page', { headers });
    expect(poisoned.headers['x-cache']).toBeUndefined();
    const clean = await server.get('/page');
    expect([clean.headers['x-cache'], clean.body]).toEqual(['MISS', '<a href="http://site.test/">2</a>']);
  });

  it('/p?a=1&%61=2 and /p?%61=2&a=1 do not share an entry (names sorted decoded, repeated names keep their order)', async () => {
    const server = await page((req, res) => res.end(String(new URL(req.url ?? '', 'http://x').searchParams.getAll('a'))), { ttl: 60 });
    expect((await server.get('/page?a=1&%61=2')).body).toBe('1,2');
    const other = await server.get('/page?%61=2&a=1');
    expect([other.body, other.headers['x-cache']]).toEqual(['2,1', 'MISS']);
    expect((await server.get('/page?a=1&%61=2')).headers['x-cache']).toBe('HIT');
  });

  it('a replayed page keeps the upstream Age and adds its time in the cache (RFC 9111 §5.1)', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const { handler } = counting({ 'Cache-Control': 'max-age=600', Age: '100' });
    const server = await page(handler, {}, createCache({ clock }));
    await server.get('/page');
    clock.advance(30);
    const hit = await server.get('/page');
    expect([hit.headers['x-cache'], hit.headers.age]).toEqual(['HIT', '130']);
  });

  it.each([['must-revalidate'], ['proxy-revalidate'], ['s-maxage=10']])('a page that said %s is never served stale (RFC 9111 §5.2.2)', async (directive) => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const { handler, calls } = counting({ 'Cache-Control': `max-age=10, ${directive}` });
    // an app to refresh through, so a stale page would be served if it were allowed
    let listener: Handler = () => {};
    const server = await page(handler, { staleTtl: 600, app: (req, res) => listener(req, res) }, createCache({ clock }));
    listener = server.listener;
    await server.get('/page');
    clock.advance(20);
    const later = await server.get('/page');
    expect([later.headers['x-cache'], later.body, calls.n]).toEqual(['MISS', '<p>2</p>', 2]);
  });

  it.each([
    ['a status out of range', (text: string) => text.replace('"status":200', '"status":99')],
    ['a stray Set-Cookie', (text: string) => text.replace('"headers":{', '"headers":{"set-cookie":["sid=victim"],')],
    ['headers that are not strings', (text: string) => text.replace('"headers":{', '"headers":{"x-bad":{"a":1},')],
  ])('a malformed stored page (%s) is a miss: nothing of it is replayed', async (_name, corrupt) => {
    const cache = createCache();
    const { handler, calls } = counting({ 'X-App': 'yes' });
    const server = await page(handler, { ttl: 60 }, cache);
    await server.get('/page');
    // corrupt the stored page in place
    const address = { scheme: 'http' as const, host: 'site.test', path: '/page', query: '' };
    const indexKey = pageKey({ keyPrefix: '', method: 'GET', address });
    const index = (await cache.get<string>(indexKey)) as string;
    const [, gen] = index.split(':');
    const variant = pageKey({ keyPrefix: '', method: 'GET', address, variant: { gen: gen as string, fields: ['forwarded', 'x-forwarded-host', 'x-forwarded-proto'], headers: {} } });
    const stored = (await cache.get<string>(variant)) as string;
    expect(stored).toContain('"status":200');
    await cache.set(variant, corrupt(stored), 60, { tags: [urlTag(indexKey)] });
    await cache.set(indexKey, index, 60, { tags: [urlTag(indexKey)] });
    const reply = await server.get('/page');
    expect([reply.status, reply.body, reply.headers['set-cookie'], reply.headers['x-bad'], calls.n]).toEqual([200, '<p>2</p>', undefined, undefined, 2]);
  });
});
