/**
 * Pages under concurrency and change: single-flight, stale-while-revalidate, tags, invalidatePage.
 */
import type { RequestListener } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { PageCacheError, createCache, type Cache } from '../../src/index.js';
import { cachePage, invalidatePage, type PageCacheOptions } from '../../src/http.js';
import { ManualClock } from '../../src/testing.js';
import { createMemoryStore, type DistributedLock, type Store } from '../../src/stores.js';
import { FRAMEWORKS, counter, serve, tick, type Handler, type TestServer } from './support.js';

/** Resolves when `check` holds (polling), or fails after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await tick(5);
  }
}

/** A lock shared by caches in this process, standing in for createRedisLock across processes. */
function sharedLock(): DistributedLock & { taken: number } {
  const held = new Map<string, string>();
  let tokens = 0;
  return {
    taken: 0,
    async acquire(key) {
      if (held.has(key)) return null;
      const token = String((tokens += 1));
      held.set(key, token);
      this.taken += 1;
      return token;
    },
    async release(key, token) {
      if (held.get(key) === token) held.delete(key);
    },
    async close() {},
  };
}

/** One memory store as two processes see a shared Redis: every write takes `ms` to land. */
function remoteStore(ms = 30): Store {
  const inner = createMemoryStore();
  const later = <T>(fn: () => Promise<T>): Promise<T> => tick(ms).then(fn);
  return {
    kind: 'remote',
    get: (key) => inner.get(key),
    getMany: (keys) => inner.getMany(keys),
    set: (key, value, ttlMs) => later(() => inner.set(key, value, ttlMs)),
    setMany: (entries) => later(() => inner.setMany(entries)),
    delete: (key) => later(() => inner.delete(key)),
    deleteMany: (keys) => later(() => inner.deleteMany(keys)),
    clear: () => inner.clear(),
    close: () => inner.close(),
  };
}

describe.each(FRAMEWORKS)('page coordination on %s', (framework) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function page(handler: Handler, options: PageCacheOptions = {}, cache: Cache = createCache()): Promise<TestServer> {
    // node:http has no req.app: hand the listener over for background refreshes.
    let listener: RequestListener | undefined;
    const app = framework === 'node:http' && options.staleTtl !== undefined && !('app' in options) ? { app: (req: Parameters<RequestListener>[0], res: Parameters<RequestListener>[1]) => listener?.(req, res) } : {};
    const server = await serve(framework, { routes: [{ path: '/page', use: [cachePage(cache, { ...app, ...options })], handler }] });
    listener = server.listener;
    cleanup.push(() => cache.close(), () => server.close());
    return server;
  }

  describe('single-flight', () => {
    it('runs the handler once for concurrent misses of one page; the others get its result', async () => {
      const calls = counter();
      const server = await page(async (_req, res) => {
        calls.n += 1;
        // long enough that all ten requests arrive while it runs, even on a loaded machine
        await tick(400);
        res.end(`<p>render ${calls.n}</p>`);
      });
      const replies = await Promise.all(Array.from({ length: 10 }, () => server.get('/page')));
      expect(calls.n).toBe(1);
      expect(new Set(replies.map((r) => r.body))).toEqual(new Set(['<p>render 1</p>']));
      expect(replies.filter((r) => r.headers['x-cache'] === 'MISS')).toHaveLength(1);
    });

    it('when the first response may not be stored, the waiters run the handler themselves', async () => {
      const calls = counter();
      const server = await page(async (_req, res) => {
        const n = (calls.n += 1);
        await tick(300);
        res.setHeader('Set-Cookie', `visitor=${n}`);
        res.end(`<p>visitor ${n}</p>`);
      });
      const replies = await Promise.all(Array.from({ length: 5 }, () => server.get('/page')));
      expect(calls.n).toBe(5);
      expect(new Set(replies.map((r) => r.body)).size).toBe(5);
      for (const reply of replies) expect(reply.headers['set-cookie']).toEqual([`visitor=${reply.body.replace(/\D/g, '')}`]);
    });

    it('a waiter whose Vary values differ from the first request renders its own page', async () => {
      const calls = counter();
      const server = await page(async (req, res) => {
        calls.n += 1;
        await tick(300);
        res.setHeader('Vary', 'Cookie');
        res.end(`page of ${req.headers.cookie}`);
      });
      const [a1, b, a2] = await Promise.all([
        server.get('/page', { headers: { cookie: 'u=a' } }),
        server.get('/page', { headers: { cookie: 'u=b' } }),
        server.get('/page', { headers: { cookie: 'u=a' } }),
      ]);
      expect([a1.body, b.body, a2.body]).toEqual(['page of u=a', 'page of u=b', 'page of u=a']);
      expect(calls.n).toBe(2);
      // Both variants were stored under one header list: neither orphaned the other.
      expect((await server.get('/page', { headers: { cookie: 'u=a' } })).headers['x-cache']).toBe('HIT');
      expect((await server.get('/page', { headers: { cookie: 'u=b' } })).headers['x-cache']).toBe('HIT');
    });

    it('with the lock, a cold page requested from two app instances at once is rendered once, as a fragment is', async () => {
      // Two instances (two caches, two servers) over one store whose writes take time, as two
      // processes over one Redis. Pinned here: only the lock's holder creates the URL tag's first
      // token (were both to, the last writer would void the other's page, and it would render
      // again), and the page is stored before the header list that the waiting instance polls for.
      const store = remoteStore();
      const lock = sharedLock();
      const calls = counter();
      const handler = async (_req: unknown, res: { end(body: string): void }) => {
        calls.n += 1;
        await tick(300); // long enough that every request arrives while it runs
        res.end(`<p>render ${calls.n}</p>`);
      };
      const [a, b] = await Promise.all([0, 1].map(() => page(handler, {}, createCache({ store, lock, lockPollMs: 5 }))));
      const replies = await Promise.all(Array.from({ length: 5 }, () => [a!.get('/page'), b!.get('/page')]).flat());
      expect(calls.n).toBe(1);
      expect(new Set(replies.map((r) => r.body))).toEqual(new Set(['<p>render 1</p>']));
      expect(lock.taken).toBeGreaterThan(0);
      // The fragment path on the same caches: one render across both.
      const caches = [createCache({ store, lock, lockPollMs: 5, keyPrefix: 'frag' }), createCache({ store, lock, lockPollMs: 5, keyPrefix: 'frag' })];
      cleanup.push(async () => void (await Promise.all(caches.map((c) => c.close()))));
      let fragments = 0;
      const render = async () => {
        fragments += 1;
        await tick(300);
        return 'html';
      };
      const options = { tags: ['cards'] }; // a tag nobody used yet, as a page's URL tag
      const htmls = await Promise.all(caches.flatMap((c) => [c.fetch('card', render, options), c.fetch('card', render, options)]));
      expect(fragments).toBe(1);
      expect(htmls.map((r) => r.value)).toEqual(['html', 'html', 'html', 'html']);
    });

    it('without the lock, two app instances each render a cold page (the contrast)', async () => {
      const store = remoteStore();
      const calls = counter();
      const handler = async (_req: unknown, res: { end(body: string): void }) => {
        calls.n += 1;
        await tick(300);
        res.end(`<p>render ${calls.n}</p>`);
      };
      const [a, b] = await Promise.all([0, 1].map(() => page(handler, {}, createCache({ store }))));
      await Promise.all(Array.from({ length: 5 }, () => [a!.get('/page'), b!.get('/page')]).flat());
      expect(calls.n).toBeGreaterThanOrEqual(2); // one per instance, or more: each wrote its own first URL-tag token
    });

    it('waits at most waitMs for a render that never finishes, then renders itself', async () => {
      const calls = counter();
      let release: () => void = () => {};
      const stuck = new Promise<void>((resolve) => (release = resolve));
      cleanup.push(async () => release());
      const server = await page(async (_req, res) => {
        const n = (calls.n += 1);
        if (n === 1) await stuck;
        res.end(`<p>${n}</p>`);
      }, { waitMs: 100 });
      const first = server.get('/page');
      await until(() => calls.n === 1); // the first request is rendering (and stuck)
      const started = Date.now();
      const second = await server.get('/page');
      expect(second.body).toBe('<p>2</p>');
      expect(Date.now() - started).toBeGreaterThanOrEqual(80);
      expect(Date.now() - started).toBeLessThan(1_000);
      release();
      expect((await first).body).toBe('<p>1</p>');
    });
  });

  describe('stale-while-revalidate (staleTtl)', () => {
    it('serves the stale page at once and refreshes it once in the background', async () => {
      const clock = new ManualClock();
      const calls = counter();
      let release: () => void = () => {};
      const refreshed = new Promise<void>((resolve) => (release = resolve));
      cleanup.push(async () => release());
      const server = await page(async (_req, res) => {
        const n = (calls.n += 1);
        if (n > 1) await refreshed; // the background render waits until the stale replies are in
        res.end(`<p>version ${n}</p>`);
      }, { ttl: 10, staleTtl: 60 }, createCache({ clock }));
      await server.get('/page');
      clock.advance(11);
      const stale = await Promise.all(Array.from({ length: 5 }, () => server.get('/page')));
      for (const reply of stale) expect([reply.headers['x-cache'], reply.body, reply.headers.age]).toEqual(['STALE', '<p>version 1</p>', '11']);
      await until(() => calls.n === 2);
      await tick(20);
      expect(calls.n).toBe(2); // one refresh under way, however many stale hits
      release();
      await until(async () => (await server.get('/page')).body === '<p>version 2</p>');
      const fresh = await server.get('/page');
      expect([fresh.headers['x-cache'], fresh.body]).toEqual(['HIT', '<p>version 2</p>']);
      expect(calls.n).toBe(2);
    });

    it('answers a HEAD from a stale GET page as STALE, and refreshes the GET page in the background', async () => {
      const clock = new ManualClock();
      const calls = counter();
      const server = await page((_req, res) => res.end(`<p>version ${(calls.n += 1)}</p>`), { ttl: 10, staleTtl: 60 }, createCache({ clock }));
      await server.get('/page');
      clock.advance(11);
      const head = await server.get('/page', { method: 'HEAD' });
      expect([head.headers['x-cache'], head.body, head.headers.age]).toEqual(['STALE', '', '11']);
      await until(() => calls.n === 2); // the refresh: a GET, replayed in the background
      await until(async () => (await server.get('/page')).body === '<p>version 2</p>');
      expect(calls.n).toBe(2);
    });

    it('past the stale window, is an ordinary miss', async () => {
      const clock = new ManualClock();
      const calls = counter();
      const server = await page((_req, res) => res.end(`<p>${(calls.n += 1)}</p>`), { ttl: 10, staleTtl: 5 }, createCache({ clock }));
      await server.get('/page');
      clock.advance(16);
      const reply = await server.get('/page');
      expect([reply.headers['x-cache'], reply.body]).toEqual(['MISS', '<p>2</p>']);
    });

    it('drops the stale copy when the refreshed response may no longer be stored', async () => {
      const clock = new ManualClock();
      const calls = counter();
      const server = await page((_req, res) => {
        calls.n += 1;
        if (calls.n > 1) res.setHeader('Cache-Control', 'no-store');
        res.end(`<p>${calls.n}</p>`);
      }, { ttl: 10, staleTtl: 60 }, createCache({ clock }));
      await server.get('/page');
      clock.advance(11);
      expect((await server.get('/page')).headers['x-cache']).toBe('STALE');
      await until(() => calls.n === 2);
      await tick(20);
      const next = await server.get('/page');
      expect([next.headers['x-cache'], next.body]).toEqual(['MISS', '<p>3</p>']);
    });

    if (framework === 'node:http') {
      it('without an app to replay through, re-renders stale pages in the request (and warns)', async () => {
        const clock = new ManualClock();
        const calls = counter();
        const warnings: string[] = [];
        const onWarning = (warning: Error & { code?: string }): void => void warnings.push(warning.code ?? '');
        process.on('warning', onWarning);
        cleanup.push(async () => void process.off('warning', onWarning));
        const server = await page((_req, res) => res.end(`<p>${(calls.n += 1)}</p>`), { ttl: 10, staleTtl: 60, app: undefined }, createCache({ clock }));
        await server.get('/page');
        clock.advance(11);
        const reply = await server.get('/page');
        expect([reply.headers['x-cache'], reply.body]).toEqual(['MISS', '<p>2</p>']);
        await tick(10);
        expect(warnings).toContain('NJKC_PAGE_NO_APP');
      });
    }
  });

  describe('tags', () => {
    it('cache.invalidateTags clears the pages carrying a tag', async () => {
      const cache = createCache();
      const calls = counter();
      const server = await page((_req, res) => res.end(`<p>${(calls.n += 1)}</p>`), { tags: ['posts'] }, cache);
      await server.get('/page');
      expect((await server.get('/page')).headers['x-cache']).toBe('HIT');
      await cache.invalidateTags(['posts']);
      expect((await server.get('/page')).body).toBe('<p>2</p>');
    });

    it('takes tags from the request when given a function', async () => {
      const cache = createCache();
      const server = await page((req, res) => res.end(`post ${req.url} at ${Date.now()}`), { tags: (req) => [`post:${new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? ''}`] }, cache);
      await server.get('/page?id=1');
      await server.get('/page?id=2');
      await cache.invalidateTags(['post:1']);
      expect((await server.get('/page?id=1')).headers['x-cache']).toBe('MISS');
      expect((await server.get('/page?id=2')).headers['x-cache']).toBe('HIT');
    });

    it('does not store a page whose tag was invalidated while it rendered', async () => {
      const cache = createCache();
      const calls = counter();
      const server = await page(async (_req, res) => {
        calls.n += 1;
        if (calls.n === 1) await cache.invalidateTags(['posts']); // e.g. a post saved meanwhile
        res.end(`<p>${calls.n}</p>`);
      }, { tags: ['posts'] }, cache);
      await server.get('/page');
      await tick(10);
      expect((await server.get('/page')).headers['x-cache']).toBe('MISS');
    });
  });

  describe('invalidatePage', () => {
    async function twoVariants(cache: Cache): Promise<{ server: TestServer; calls: { n: number } }> {
      const calls = counter();
      const server = await page((req, res) => {
        calls.n += 1;
        res.setHeader('Vary', 'Cookie');
        res.end(`${calls.n}: ${req.headers.cookie}`);
      }, {}, cache);
      await server.get('/page?x=1', { headers: { cookie: 'u=a' } });
      await server.get('/page?x=1', { headers: { cookie: 'u=b' } });
      return { server, calls };
    }

    it('removes every variant of a URL', async () => {
      const cache = createCache();
      const { server } = await twoVariants(cache);
      expect(await invalidatePage(cache, 'http://site.test/page?x=1')).toBe(true);
      expect((await server.get('/page?x=1', { headers: { cookie: 'u=a' } })).headers['x-cache']).toBe('MISS');
      expect((await server.get('/page?x=1', { headers: { cookie: 'u=b' } })).headers['x-cache']).toBe('MISS');
    });

    it("never lets an orphaned variant come back once the URL's header list is learned again", async () => {
      const cache = createCache();
      const { server } = await twoVariants(cache);
      await invalidatePage(cache, '/page?x=1', { host: 'site.test' });
      await server.get('/page?x=1', { headers: { cookie: 'u=b' } });
      const a = await server.get('/page?x=1', { headers: { cookie: 'u=a' } });
      expect([a.headers['x-cache'], a.body]).toEqual(['MISS', '4: u=a']);
    });

    it('removes one variant when given its request headers', async () => {
      const cache = createCache();
      const { server } = await twoVariants(cache);
      expect(await invalidatePage(cache, '/page?x=1', { host: 'site.test', headers: { cookie: 'u=a' } })).toBe(true);
      expect((await server.get('/page?x=1', { headers: { cookie: 'u=a' } })).headers['x-cache']).toBe('MISS');
      expect((await server.get('/page?x=1', { headers: { cookie: 'u=b' } })).headers['x-cache']).toBe('HIT');
    });

    it('matches the middleware: sorted query, normalised host, key prefix; reports when nothing was there', async () => {
      const cache = createCache();
      const server = await page((_req, res) => res.end('x'), { keyPrefix: 'shop' }, cache);
      await server.get('/page?b=2&a=1');
      expect(await invalidatePage(cache, 'http://SITE.test:80/page?a=1&b=2')).toBe(false); // wrong prefix
      expect(await invalidatePage(cache, 'http://SITE.test:80/page?a=1&b=2', { keyPrefix: 'shop' })).toBe(true);
      expect((await server.get('/page?b=2&a=1')).headers['x-cache']).toBe('MISS');
    });

    it('stops a render under way from storing the page it invalidated', async () => {
      const cache = createCache();
      const calls = counter();
      let release: () => void = () => {};
      const server = await page(async (_req, res) => {
        const n = (calls.n += 1);
        if (n === 2) await new Promise<void>((resolve) => (release = resolve));
        res.end(`<p>${n}</p>`);
      }, {}, cache);
      cleanup.push(async () => release());
      await server.get('/page'); // learn the header list
      await invalidatePage(cache, 'http://site.test/page');
      const rendering = server.get('/page');
      await until(() => calls.n === 2); // the render is under way
      await invalidatePage(cache, 'http://site.test/page');
      release();
      await rendering;
      expect((await server.get('/page')).headers['x-cache']).toBe('MISS');
    });

    it('explains a URL it cannot key', async () => {
      const cache = createCache();
      cleanup.push(() => cache.close());
      await expect(invalidatePage(cache, '/page')).rejects.toThrow(PageCacheError);
      await expect(invalidatePage(cache, '/page')).rejects.toThrow(/needs \{ host \}/);
      await expect(invalidatePage(cache, 'ftp://x/y')).rejects.toMatchObject({ code: 'ERR_PAGE_URL' });
    });

    it('a version bump in the middleware clears the whole site', async () => {
      const cache = createCache();
      const calls = counter();
      const handler: Handler = (_req, res) => res.end(`<p>${(calls.n += 1)}</p>`);
      const v1 = await page(handler, { version: 1 }, cache);
      await v1.get('/page');
      expect((await v1.get('/page')).headers['x-cache']).toBe('HIT');
      const v2 = await page(handler, { version: 2 }, cache);
      expect((await v2.get('/page')).headers['x-cache']).toBe('MISS');
    });
  });
});
