/**
 * docs/django-guide.md: each step of Django's caching guide, in this library, run for real.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Cache, createCache, fragmentKey } from '../../src/index.js';
import { createEnvironment, render } from '../../src/nunjucks.js';
import { cacheMiddleware, cachePage } from '../../src/http.js';
import { createSqliteStore } from '../../src/stores.js';
import { ManualClock } from '../../src/testing.js';
import { docOutput, enterSite } from './support/docs.js';
import { captureLog, runExample } from './support/run.js';

let site: ReturnType<typeof enterSite>;
beforeAll(() => {
  site = enterSite();
});
afterAll(() => site.leave());

describe('Django caching guide, step by step', () => {
  it('1. configure a backend', async () => {
    const { exports } = await runExample('django-config');
    const cache = exports.cache as Cache;
    expect(cache.store.kind).toBe('memory');
    expect(cache.makeKey('home')).toBe('blog:1:home');
    expect(cache.defaultTtl).toBe(300);
    await (exports.closeCache as () => Promise<void>)();
    await expect(cache.set('after', 1)).rejects.toMatchObject({ code: 'ERR_CACHE_CLOSED' });
  });

  it('2 and 5. the per-view and per-site caches', async () => {
    const cache = createCache();
    let renders = 0;
    const app = express();
    const site = express.Router();
    // #region cache-page
    app.get('/about', cachePage(cache, { ttl: 60 * 15 }), (req, res) => {
      res.send(`<h1>About us</h1><!-- rendered ${++renders} time(s) -->`);
    });
    // #endregion
    // #region site-wide
    site.use(cacheMiddleware(cache, { ttl: 600, keyPrefix: 'site' })); // before the routes
    site.get('/news', (req, res) => res.send(`<h1>News</h1><!-- rendered ${++renders} time(s) -->`));
    // #endregion
    app.use(site);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const get = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).text();
      expect(await get('/about')).toBe('<h1>About us</h1><!-- rendered 1 time(s) -->');
      expect(await get('/about')).toBe('<h1>About us</h1><!-- rendered 1 time(s) -->');
      expect(await get('/news')).toBe('<h1>News</h1><!-- rendered 2 time(s) -->');
      expect(await get('/news')).toBe('<h1>News</h1><!-- rendered 2 time(s) -->');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('3. the low-level API', async () => {
    const { output } = await runExample('django-low-level');
    expect(output).toBe(`${docOutput('django-low-level')}\n${docOutput('django-versions')}`);
  });

  it('4. fragment caching, and make_template_fragment_key', async () => {
    const cache = createCache();
    const env = createEnvironment('templates', { cache, trimBlocks: true, lstripBlocks: true });
    const user = { username: 'ada' };
    const output = await captureLog(async () => {
      console.log(await render(env, 'django-sidebar.njk', { user }));
      // #region fragment-key
      const key = fragmentKey('sidebar', [user.username]); // make_template_fragment_key("sidebar", [username])
      console.log(await cache.delete(key)); // true; or: await cache.invalidateFragment('sidebar', [user.username])
      // #endregion
    });
    expect(output).toBe(docOutput('django-fragment'));
  });

  it('6. the database cache: SQLite, and createcachetable', async () => {
    // #region database
    const store = createSqliteStore({ path: 'cache.db', table: 'my_cache_table' });
    await store.createTable!(); // python manage.py createcachetable
    const cache = createCache({ store });
    await cache.set('k', 'v');
    const value = await cache.get('k'); // 'v'
    await cache.close(); // closes the store, so the process can exit
    // #endregion
    expect(value).toBe('v');
  });

  describe('8. testing that caching works', () => {
    // #region testing
    it('queries the database once for two renders, and again after the TTL', async () => {
      const clock = new ManualClock();
      const cache = createCache({ clock }); // a fresh memory cache per test: nothing leaks between tests
      const env = createEnvironment('templates', { cache });
      const recentPosts = vi.fn(async () => [{ id: 1, title: 'Hello' }]);

      const first = await render(env, 'home.njk', { title: 'Home', recentPosts });
      const second = await render(env, 'home.njk', { title: 'Home', recentPosts });
      expect(second).toBe(first);
      expect(recentPosts).toHaveBeenCalledTimes(1);
      expect(cache.stats().byLabel.sidebar).toMatchObject({ hits: 1, misses: 1 });

      clock.advance(601); // past the fragment's 600 s, without sleeping
      await render(env, 'home.njk', { title: 'Home', recentPosts });
      expect(recentPosts).toHaveBeenCalledTimes(2);
    });
    // #endregion
  });
});
