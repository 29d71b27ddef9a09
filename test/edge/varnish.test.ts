/**
 * A real varnishd (Debian `varnish` + `varnish-modules` for xkey) in front of an app: pages are
 * cached by Varnish, tagged by the `xkey` header `cachePage({ edge })` sets, and
 * `invalidateTags` purges them through `createVarnishPurger`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type nunjucks from 'nunjucks';
import { cacheable, createCache, type Cache } from '../../src/index.js';
import { createEnvironment, render } from '../../src/nunjucks.js';
import { cachePage, createVarnishPurger } from '../../src/http.js';
import { MapLoader } from '../support/stores.js';
import { freePort } from '../support/redis-server.js';
import { hasVarnishd, VarnishProcess } from '../support/varnish.js';

if (!hasVarnishd) {
  if (process.env.CI === 'true') throw new Error('varnishd is missing: CI must install varnish and varnish-modules (.ci/run does)');
  console.warn('\n[skip] Varnish edge tests skipped: varnishd is not installed (apt-get install varnish varnish-modules).\n');
}

describe.skipIf(!hasVarnishd)('behind a real varnishd', () => {
  let server: Server;
  let varnish: VarnishProcess;
  let cache: Cache;
  const hits: Record<string, number> = {};

  beforeAll(async () => {
    const port = await freePort();
    cache = createCache({ purgers: [createVarnishPurger({ url: `http://127.0.0.1:${port}/` })] });
    const tagsOf = (url: string | undefined): string[] => (url === '/posts/1' ? ['post:1', 'posts'] : url === '/about' ? ['page:about'] : []);
    const page = cachePage(cache, { ttl: 60, tags: (req) => tagsOf(req.url), edge: { proxy: 'varnish' } });
    // Pages whose tags come only from the fragments and loaders rendered into them (bubbling).
    const env = createEnvironment(new MapLoader({ 'story.njk': '<% cache 600 story id %><h1>{{ (load | resolve(id)).title }}</h1><% endcache %>' }) as unknown as nunjucks.ILoader, { cache });
    const load = async (id: number) => cacheable({ title: `Story ${id}` }, { tags: [`story:${id}`] });
    server = createServer((req, res) =>
      page(req, res, () => {
        hits[req.url ?? ''] = (hits[req.url ?? ''] ?? 0) + 1;
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.setHeader('Cache-Control', 'public, s-maxage=600');
        const story = /^\/stories\/(\d+)$/.exec(req.url ?? '');
        if (story === null) return res.end(`<h1>${req.url}</h1>`);
        // node:http: the page's collector reaches the render through res.locals.
        const locals = (res as typeof res & { locals?: object }).locals;
        void render(env, 'story.njk', { ...locals, id: Number(story[1]), load }).then((html) => res.end(html));
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    varnish = new VarnishProcess(port, (server.address() as AddressInfo).port);
    await varnish.start();
  });

  afterAll(async () => {
    await varnish?.stop();
    await cache?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  const get = async (path: string): Promise<{ edge: string | null; xkey: string | null; body: string }> => {
    const response = await fetch(`${varnish.url}${path}`);
    return { edge: response.headers.get('x-edge'), xkey: response.headers.get('xkey'), body: await response.text() };
  };

  it('caches a page in Varnish, and invalidateTags drops only the pages with that tag', async () => {
    expect((await get('/posts/1')).edge).toBe('MISS');
    expect((await get('/about')).edge).toBe('MISS');
    const again = await get('/posts/1');
    expect(again).toEqual({ edge: 'HIT', xkey: null, body: '<h1>/posts/1</h1>' });
    expect((await get('/about')).edge).toBe('HIT');
    expect(hits).toEqual({ '/posts/1': 1, '/about': 1 }); // the second requests never reached the app

    const started = performance.now();
    await cache.invalidateTags(['post:1']);
    await cache.purged();
    const purgeMs = performance.now() - started;
    console.log(`[edge] invalidateTags(['post:1']) to Varnish purged: ${purgeMs.toFixed(1)} ms`);

    expect(await get('/posts/1')).toMatchObject({ edge: 'MISS' });
    expect(await get('/about')).toMatchObject({ edge: 'HIT' });
    expect(hits).toEqual({ '/posts/1': 2, '/about': 1 });
    expect(cache.stats()).toMatchObject({ purges: 1, purgeErrors: 0, purgesLost: 0 });
    expect(purgeMs).toBeLessThan(100);
  });

  it('purges a page by the tags bubbled up from its fragments and loaders, and by invalidateFragment', async () => {
    expect(await get('/stories/1')).toMatchObject({ edge: 'MISS', body: '<h1>Story 1</h1>' });
    expect((await get('/stories/2')).edge).toBe('MISS');
    expect((await get('/stories/1')).edge).toBe('HIT');
    expect((await get('/stories/2')).edge).toBe('HIT');
    expect([hits['/stories/1'], hits['/stories/2']]).toEqual([1, 1]);

    const started = performance.now();
    await cache.invalidateTags(['story:1']); // declared by the loader, not by the route
    await cache.purged();
    const purgeMs = performance.now() - started;
    expect((await get('/stories/1')).edge).toBe('MISS');
    expect((await get('/stories/2')).edge).toBe('HIT');
    expect(purgeMs).toBeLessThan(100);

    await cache.invalidateFragment('story', [2]); // the fragment's implicit tag reaches the page at the edge
    await cache.purged();
    expect((await get('/stories/2')).edge).toBe('MISS');
    expect([hits['/stories/1'], hits['/stories/2']]).toEqual([2, 2]);
  });
});
