// #region example
import express from 'express';
import { createCache } from '../../../src/index.js';
import { cacheMiddleware, cachePage } from '../../../src/http.js';

const cache = createCache({ store: process.env.CACHE_URL ?? 'redis://127.0.0.1:6379' });
const posts = [{ id: 1, title: 'Hello' }]; // your data
const renderPosts = () => `<ul>${posts.map((p) => `<li>${p.title}</li>`).join('')}</ul>`;

// The whole site, like Django's cache middleware: mounted before the routes it caches.
const app = express();
app.use(cacheMiddleware(cache, { ttl: 600, keyPrefix: 'site' }));
app.get('/posts', (req, res) => {
  res.send(renderPosts());
});

// Or one route, like @cache_page(600), in an app without the site-wide middleware:
const blog = express();
blog.get('/posts', cachePage(cache, { ttl: 600 }), (req, res) => {
  res.send(renderPosts());
});

// At shutdown: an open store connection keeps the process alive.
const shutdown = () => cache.close();
// #endregion

// #region node-http
import { createServer } from 'node:http';

const page = cachePage(cache, { ttl: 600 });
const handler = (req: unknown, res: import('node:http').ServerResponse) => {
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(renderPosts());
};
const server = createServer((req, res) => page(req, res, () => handler(req, res))).listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
// #endregion

export { app, blog, cache, posts, server, shutdown };
