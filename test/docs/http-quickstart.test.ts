/**
 * docs/http.md's quick start, run: the site-wide middleware mounted before the routes, one cached
 * route, and plain node:http; each serves the second request from the cache.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Express } from 'express';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Cache } from '../../src/index.js';
import { enterSite } from './support/docs.js';

let site: ReturnType<typeof enterSite>;
let example: { app: Express; blog: Express; cache: Cache; posts: Array<{ id: number; title: string }>; server: Server; shutdown: () => Promise<void> };

beforeAll(async () => {
  site = enterSite();
  // A file of its own in the fresh site folder: nothing else shares it, so nothing is cached yet.
  process.env.CACHE_URL = 'sqlite://cache.db';
  process.env.PORT = '0';
  example = (await import('./examples/http-quickstart.js')) as unknown as typeof example;
});
afterAll(async () => {
  await new Promise((resolve) => example.server.close(resolve));
  await example.shutdown();
  site.leave();
});

async function listen(app: Express): Promise<{ url: string; close: () => Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function twice(url: string): Promise<string[]> {
  const first = await fetch(url);
  await first.text();
  example.posts[0] = { id: 1, title: `changed ${url}` }; // a hit must not see this
  const second = await fetch(url);
  const body = await second.text();
  example.posts[0] = { id: 1, title: 'Hello' };
  return [first.headers.get('x-cache') ?? '', second.headers.get('x-cache') ?? '', body];
}

it('caches every route behind the site-wide middleware, mounted before them', async () => {
  const { url, close } = await listen(example.app);
  try {
    expect(await twice(`${url}/posts`)).toEqual(['MISS', 'HIT', '<ul><li>Hello</li></ul>']);
  } finally {
    await close();
  }
});

it('caches one route with cachePage', async () => {
  const { url, close } = await listen(example.blog);
  try {
    expect(await twice(`${url}/posts`)).toEqual(['MISS', 'HIT', '<ul><li>Hello</li></ul>']);
  } finally {
    await close();
  }
});

it('works on plain node:http', async () => {
  if (!example.server.listening) await new Promise((resolve) => example.server.once('listening', resolve));
  const { port } = example.server.address() as AddressInfo;
  expect(await twice(`http://127.0.0.1:${port}/posts`)).toEqual(['MISS', 'HIT', '<ul><li>Hello</li></ul>']);
});
