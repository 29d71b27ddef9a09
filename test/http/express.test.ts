/**
 * What only Express has: res.render/res.send/res.json, its own ETags, mounted routers and sub-apps,
 * error handlers, and the site-wide middleware in front of a whole app.
 */
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { cacheMiddleware, cachePage, neverCache } from '../../src/http.js';
import { ManualClock } from '../../src/testing.js';
import { counter, listen, tick, type TestServer } from './support.js';

const views = fileURLToPath(new URL('./fixtures', import.meta.url));

describe('Express 5', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function start(app: express.Express, cache: Cache): Promise<TestServer> {
    const server = await listen(app as unknown as Parameters<typeof listen>[0]);
    cleanup.push(() => cache.close(), () => server.close());
    return server;
  }

  it('caches res.render output', async () => {
    const cache = createCache();
    const app = express();
    nunjucks.configure(views, { express: app, autoescape: true });
    const calls = counter();
    app.get('/post', cachePage(cache, { ttl: 60 }), (_req, res) => {
      calls.n += 1;
      res.render('page.njk', { title: 'Hello <world>', n: calls.n });
    });
    const server = await start(app, cache);
    const miss = await server.get('/post');
    const hit = await server.get('/post');
    expect(miss.body.trim()).toBe('<h1>Hello &lt;world&gt;</h1><p>render 1</p>');
    expect([hit.headers['x-cache'], hit.body]).toEqual(['HIT', miss.body]);
    expect(hit.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(calls.n).toBe(1);
  });

  it("keeps Express's own ETag, and answers If-None-Match with it from the cache", async () => {
    const cache = createCache();
    const app = express();
    const calls = counter();
    app.get('/data', cachePage(cache), (_req, res) => {
      calls.n += 1;
      res.json({ items: [1, 2, 3] });
    });
    const server = await start(app, cache);
    const miss = await server.get('/data');
    expect(miss.headers.etag).toMatch(/^W\//);
    const conditional = await server.get('/data', { headers: { 'if-none-match': miss.headers.etag as string } });
    expect([conditional.status, conditional.headers['x-cache'], conditional.body]).toEqual([304, 'HIT', '']);
    expect(JSON.parse((await server.get('/data')).body)).toEqual({ items: [1, 2, 3] });
    expect(calls.n).toBe(1);
  });

  it('keys mounted routers and sub-apps by the full URL', async () => {
    const cache = createCache();
    const app = express();
    const blog = express.Router();
    const shop = express();
    blog.get('/', cachePage(cache), (_req, res) => res.send('blog home'));
    shop.get('/', cachePage(cache), (_req, res) => res.send('shop home'));
    app.use('/blog', blog);
    app.use('/shop', shop);
    const server = await start(app, cache);
    await server.get('/blog/');
    await server.get('/shop/');
    const [b, s] = [await server.get('/blog/'), await server.get('/shop/')];
    expect([b.headers['x-cache'], b.body]).toEqual(['HIT', 'blog home']);
    expect([s.headers['x-cache'], s.body]).toEqual(['HIT', 'shop home']);
  });

  it('refreshes stale pages of a sub-app through the root app', async () => {
    const clock = new ManualClock();
    const cache = createCache({ clock });
    const app = express();
    const shop = express();
    const calls = counter();
    shop.get('/list', cachePage(cache, { ttl: 10, staleTtl: 60 }), (_req, res) => res.send(`list ${(calls.n += 1)}`));
    app.use('/shop', shop);
    const server = await start(app, cache);
    await server.get('/shop/list');
    clock.advance(11);
    expect((await server.get('/shop/list')).body).toBe('list 1');
    for (let i = 0; i < 100 && calls.n < 2; i += 1) await tick(5);
    await tick(10);
    expect((await server.get('/shop/list')).body).toBe('list 2');
  });

  it('never stores what an error handler answers', async () => {
    const cache = createCache();
    const app = express();
    const calls = counter();
    app.get('/fails', cachePage(cache), () => {
      calls.n += 1;
      throw new Error('boom');
    });
    app.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).send('sorry');
    });
    const server = await start(app, cache);
    expect((await server.get('/fails')).status).toBe(500);
    expect((await server.get('/fails')).status).toBe(500);
    expect(calls.n).toBe(2);
  });

  describe('cacheMiddleware, site-wide', () => {
    async function site(): Promise<{ server: TestServer; calls: Record<string, number> }> {
      const cache = createCache();
      const app = express();
      const calls: Record<string, number> = {};
      const count = (name: string): number => (calls[name] = (calls[name] ?? 0) + 1);
      let requestId = 0;
      app.use((_req, res, next) => {
        res.setHeader('X-Request-Id', String((requestId += 1)));
        next();
      });
      app.use(cacheMiddleware(cache, { ttl: 60, keyPrefix: 'site' }));
      app.get('/', (_req, res) => res.send(`home ${count('home')}`));
      app.post('/form', (_req, res) => res.send(`posted ${count('form')}`));
      app.get('/account', neverCache, (_req, res) => res.send(`account ${count('account')}`));
      app.get('/login', (_req, res) => res.cookie('sid', String(count('login'))).send('logged in'));
      const server = await start(app, cache);
      return { server, calls };
    }

    it('caches the GET pages of every route', async () => {
      const { server, calls } = await site();
      await server.get('/');
      const hit = await server.get('/');
      expect([hit.headers['x-cache'], hit.body]).toEqual(['HIT', 'home 1']);
      expect(calls.home).toBe(1);
    });

    it("does not replay headers set before it ran (another request's id)", async () => {
      const { server } = await site();
      await server.get('/');
      const hit = await server.get('/');
      expect([hit.headers['x-cache'], hit.headers['x-request-id']]).toEqual(['HIT', '2']);
    });

    it('leaves POSTs, neverCache routes, cookie-setting pages and 404s alone', async () => {
      const { server, calls } = await site();
      for (let i = 0; i < 2; i += 1) {
        await server.get('/form', { method: 'POST' });
        await server.get('/account');
        await server.get('/login');
        expect((await server.get('/missing')).status).toBe(404);
      }
      expect([calls.form, calls.account, calls.login]).toEqual([2, 2, 2]);
      expect((await server.get('/missing')).headers['x-cache']).toBe('MISS');
    });
  });

  it('passes every skip reason to onSkip', async () => {
    const cache = createCache();
    const app = express();
    const reasons: string[] = [];
    app.use(cacheMiddleware(cache, { onSkip: (reason, req: IncomingMessage) => reasons.push(`${req.method} ${reason}`) }));
    app.all('/', (req, res) => {
      if (req.query.c !== undefined) res.cookie('a', 'b');
      res.send('x');
    });
    const server = await start(app, cache);
    await server.get('/', { method: 'POST' });
    await server.get('/?c=1');
    await server.get('/', { headers: { host: 'not a host' } });
    expect(reasons).toEqual(['POST method', 'GET set-cookie', 'GET host']);
  });
});
