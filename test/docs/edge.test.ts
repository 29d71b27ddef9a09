/**
 * docs/http.md (the edge) and docs/fragments.md (holes): the examples, run for real. The
 * proxies are a local fake of their purge APIs here; test/edge/varnish.test.ts runs a real Varnish.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import nunjucks from 'nunjucks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheable, createCache } from '../../src/index.js';
import { createEnvironment, installCache, renderString } from '../../src/nunjucks.js';
import { cachePage, createCloudflarePurger, createFastlyPurger, createVarnishPurger, formatEdgeHeader } from '../../src/http.js';

let fake: Server;
const seen: { method?: string; url?: string; body: string; headers: IncomingMessage['headers'] }[] = [];
beforeAll(async () => {
  fake = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body, headers: req.headers });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"success":true}');
    });
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  process.env.VARNISH_URL = `${base}/`;
  process.env.FASTLY_API = base;
  process.env.CLOUDFLARE_API = base;
  process.env.FASTLY_SERVICE_ID = 'svc';
  process.env.FASTLY_TOKEN = 'ftok';
  process.env.CF_ZONE_ID = 'zone';
  process.env.CF_TOKEN = 'ctok';
});
afterAll(() => new Promise((resolve) => fake.close(resolve)));

describe('the edge', () => {
  it('purgers', async () => {
    // #region purgers
    const cache = createCache({
      purgers: [
        createVarnishPurger({ url: process.env.VARNISH_URL! }), // e.g. http://127.0.0.1:6081/
        createFastlyPurger({ serviceId: process.env.FASTLY_SERVICE_ID!, token: process.env.FASTLY_TOKEN!, baseUrl: process.env.FASTLY_API }),
        createCloudflarePurger({ zoneId: process.env.CF_ZONE_ID!, token: process.env.CF_TOKEN!, baseUrl: process.env.CLOUDFLARE_API }),
      ],
      purgeRetry: { attempts: 5, delayMs: 100 },
    });
    cache.on('error', ({ error, operation }) => console.warn(operation, error)); // purge:varnish …

    await cache.invalidateTags(['post:1']); // returns at once; the purges run in the background
    await cache.purged(); // only where you must wait for them
    // #endregion
    expect(seen.map((s) => `${s.method} ${s.url}`).sort()).toEqual(['POST /service/svc/purge', 'POST /zones/zone/purge_cache', 'PURGE /']);
    expect(cache.stats()).toMatchObject({ purges: 3, purgeErrors: 0 });
    await cache.close();
  });

  it('tag headers', async () => {
    // #region headers
    formatEdgeHeader(['post:1', 'posts'], { proxy: 'fastly' }); // { name: 'Surrogate-Key', value: 'post:1 posts' }
    formatEdgeHeader(['post:1', 'posts'], { proxy: 'cloudflare' }); // { name: 'Cache-Tag', value: 'post:1,posts' }
    formatEdgeHeader(['post:1', 'posts'], { proxy: 'varnish' }); // { name: 'xkey', value: 'post:1 posts' }
    formatEdgeHeader(['post:1', 'private:user:7'], { proxy: 'varnish' }); // { name: 'xkey', value: 'njkc-all' }
    // #endregion
    expect(formatEdgeHeader(['post:1', 'posts'], { proxy: 'fastly' })).toEqual({ name: 'Surrogate-Key', value: 'post:1 posts' });
    expect(formatEdgeHeader(['post:1', 'posts'], { proxy: 'cloudflare' })).toEqual({ name: 'Cache-Tag', value: 'post:1,posts' });
    expect(formatEdgeHeader(['post:1', 'private:user:7'], { proxy: 'varnish' })).toEqual({ name: 'xkey', value: 'njkc-all' });
  });

  it('cachePage with edge', async () => {
    const cache = createCache();
    // #region page-edge
    const app = express();
    app.get(
      '/posts/:id',
      cachePage(cache, { ttl: 600, tags: (req) => [`post:${req.url?.split('/')[2]}`], edge: { proxy: 'varnish' } }),
      (req, res) => {
        res.set('Cache-Control', 'public, s-maxage=600').send(`<h1>Post ${req.params.id}</h1>`);
      },
    );
    // GET /posts/1 → xkey: post:1; cache.invalidateTags(['post:1']) drops it here and, with a purger, in Varnish.
    // #endregion
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/posts/1`);
    expect(response.headers.get('xkey')).toBe('post:1');
    await new Promise((resolve) => server.close(resolve));
    await cache.close();
  });
});

describe('pages know their fragments', () => {
  it('a page is tagged with what its fragments and loaders depend on', async () => {
    const cache = createCache();
    const posts = new Map([[1, { id: 1, title: 'Hello' }]]);
    // #region bubbled
    const app = express();
    const env = createEnvironment(new nunjucks.FileSystemLoader(join(import.meta.dirname, 'templates')), { cache });
    env.express(app);
    const loadPost = async (id: number) => cacheable(posts.get(id), { tags: [`post:${id}`] });

    app.get('/posts/:id', cachePage(cache, { ttl: 600, edge: { proxy: 'varnish' } }), (req, res) => {
      res.set('Cache-Control', 'public, s-maxage=600');
      res.render('post-page.njk', { id: Number(req.params.id), loadPost });
    });
    // GET /posts/1 → xkey: post:1 h-… (the fragment's implicit tag), Cache-Control: public, s-maxage=299,
    // max-age=299 (the fragment inside lives 300 s, rounded down); invalidateTags(['post:1']) drops the page.
    // #endregion
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/posts/1`;
    const first = await fetch(url);
    expect(await first.text()).toContain('<h1>Hello</h1>');
    expect(first.headers.get('xkey')?.split(' ')).toEqual(expect.arrayContaining(['post:1']));
    expect(first.headers.get('cache-control')).toMatch(/^public, s-maxage=(299|300), max-age=(299|300)$/);
    expect((await fetch(url)).headers.get('x-cache')).toBe('HIT');
    posts.set(1, { id: 1, title: 'Hello again' });
    await cache.invalidateTags(['post:1']);
    const again = await fetch(url);
    expect(again.headers.get('x-cache')).toBe('MISS');
    expect(await again.text()).toContain('<h1>Hello again</h1>');
    await new Promise((resolve) => server.close(resolve));
    await cache.close();
  });
});

describe('holes', () => {
  it('nocache', async () => {
    const cache = createCache();
    const env = installCache(new nunjucks.Environment(null, { autoescape: true }), cache);
    const template = readFileSync(join(import.meta.dirname, 'templates/like-card.njk'), 'utf8');
    const post = { id: 1, title: 'Hello' };
    const ann = await renderString(env, template, { post, csrf: 't1', user: { name: 'Ann' } });
    const bob = await renderString(env, template, { post, csrf: 't2', user: { name: 'Bob' } });
    expect(ann).toContain('action="/posts/1/like"');
    expect(ann).toContain('value="t1"> Ann, like this?');
    expect(bob).toContain('value="t2"> Bob, like this?');
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
    await cache.close();
  });
});
