/**
 * Pages shared through Redis by two app instances (two caches, two servers): what one stores the
 * other serves, Vary keeps users apart across instances, and invalidation from one reaches both.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache, type CacheOptions } from '../../src/index.js';
import { createRedisLock } from '../../src/stores.js';
import { cachePage, invalidatePage } from '../../src/http.js';
import { REDIS_URL, announceSkip, uniquePrefix } from '../support/env.js';
import { counter, serve, tick, type Handler, type TestServer } from './support.js';

if (REDIS_URL === undefined) {
  announceSkip('Redis page cache', 'REDIS_URL');
  describe.skip('page cache on redis (REDIS_URL not set)', () => {
    it('skipped', () => {});
  });
} else {
  const url = REDIS_URL;
  describe('page cache on redis, two app instances', () => {
    const cleanup: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const fn of cleanup.splice(0).reverse()) await fn();
    });

    /** A page is stored just after it is sent: wait until `cache` has written header list and page. */
    async function stored(cache: Cache | undefined, sets = 2): Promise<void> {
      for (let i = 0; i < 1000 && (cache?.stats().sets ?? 0) < sets; i += 1) await new Promise((r) => setTimeout(r, 5));
      expect(cache?.stats().sets).toBeGreaterThanOrEqual(sets);
    }

    async function instances(handler: Handler, options: { lock?: boolean } = {}): Promise<{ a: TestServer; b: TestServer; caches: Cache[] }> {
      const keyPrefix = uniquePrefix('http');
      // Each instance with its own lock client, as separate processes have.
      const locks = options.lock === true ? [createRedisLock(url), createRedisLock(url)] : [];
      for (const lock of locks) cleanup.push(() => lock.close());
      const lockOf = (i: number): Partial<CacheOptions> => (locks[i] === undefined ? {} : { lock: locks[i], lockPollMs: 10 });
      // A generous store timeout: under a loaded test run a slow write would otherwise be skipped (fail-open).
      const caches = [createCache({ store: url, keyPrefix, timeoutMs: 5_000, ...lockOf(0) }), createCache({ store: url, keyPrefix, timeoutMs: 5_000, ...lockOf(1) })];
      for (const cache of caches) await cache.connect();
      const [a, b] = await Promise.all(caches.map((cache) => serve('express', { routes: [{ path: '/page', use: [cachePage(cache)], handler }] })));
      cleanup.push(async () => {
        await caches[0]?.clear();
        for (const cache of caches) await cache.close();
        await a?.close();
        await b?.close();
      });
      return { a: a as TestServer, b: b as TestServer, caches };
    }

    it('serves from one instance what the other stored', async () => {
      const calls = counter();
      const { a, b, caches } = await instances((_req, res) => res.end(`<p>${(calls.n += 1)}</p>`));
      await a.get('/page');
      await stored(caches[0]);
      const hit = await b.get('/page');
      expect([hit.headers['x-cache'], hit.body]).toEqual(['HIT', '<p>1</p>']);
      expect(calls.n).toBe(1);
    });

    it('keeps users of a Vary: Cookie page apart across instances', async () => {
      const { a, b, caches } = await instances((req, res) => {
        res.setHeader('Vary', 'Cookie');
        res.end(`page of ${req.headers.cookie}`);
      });
      await a.get('/page', { headers: { cookie: 'u=alice' } });
      await stored(caches[0]);
      const bob = await b.get('/page', { headers: { cookie: 'u=bob' } });
      expect([bob.headers['x-cache'], bob.body]).toEqual(['MISS', 'page of u=bob']);
      await stored(caches[1]);
      const alice = await b.get('/page', { headers: { cookie: 'u=alice' } });
      expect([alice.headers['x-cache'], alice.body]).toEqual(['HIT', 'page of u=alice']);
    });

    it('with the lock, a cold page requested from both instances at once is rendered once', async () => {
      const calls = counter();
      const { a, b } = await instances(async (_req, res) => {
        calls.n += 1;
        await tick(300); // every request arrives while it renders, even on a loaded machine
        res.end(`<p>render ${calls.n}</p>`);
      }, { lock: true });
      const replies = await Promise.all(Array.from({ length: 5 }, () => [a.get('/page'), b.get('/page')]).flat());
      expect(calls.n).toBe(1);
      expect(new Set(replies.map((r) => r.body))).toEqual(new Set(['<p>render 1</p>']));
    });

    it('invalidatePage through one instance clears the page the other stored', async () => {
      const { a, b, caches } = await instances((_req, res) => res.end('x'));
      await a.get('/page');
      await stored(caches[0]);
      expect((await b.get('/page')).headers['x-cache']).toBe('HIT');
      expect(await invalidatePage(caches[1] as Cache, 'http://site.test/page')).toBe(true);
      expect((await a.get('/page')).headers['x-cache']).toBe('MISS');
    });
  });
}
