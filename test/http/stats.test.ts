/**
 * Pages count in the cache's stats like fragments do: one lookup per page view, under the label.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { cachePage } from '../../src/http.js';
import { serve, type TestServer } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'njkc-page-stats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([
  ['memory', () => 'memory'],
  ['sqlite', () => `sqlite://${join(dir, `stats-${Date.now()}.db`)}`],
  // A Keyv over a Map has no synchronous peek: every page is looked up on the asynchronous path.
  ['keyv (no synchronous peek)', () => new Map()],
])('page stats on the %s store', (_name, url) => {
  let cache: Cache;
  let server: TestServer;
  afterEach(async () => {
    await server?.close();
    await cache?.close();
  });

  it('counts one miss, then one hit per page view, under the page label', async () => {
    cache = createCache({ store: url() });
    const events: string[] = [];
    cache.on('hit', ({ label }) => events.push(`hit ${label}`));
    cache.on('miss', ({ label }) => events.push(`miss ${label}`));
    server = await serve('express', { routes: [{ path: '/about', use: [cachePage(cache, { ttl: 60, label: 'page:about' })], handler: (_req, res) => res.end('<p>about</p>') }] });
    await server.get('/about');
    // the page is stored just after it is sent: wait for both writes (the Vary index and the page)
    for (let waited = 0; cache.stats().sets < 2 && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    for (let i = 0; i < 3; i += 1) expect((await server.get('/about')).headers['x-cache']).toBe('HIT');
    expect(cache.stats().byLabel['page:about']).toMatchObject({ misses: 1, hits: 3 });
    expect(events).toEqual(['miss page:about', 'hit page:about', 'hit page:about', 'hit page:about']);
  });

  it("counts a HEAD answered from the GET page as that view's one lookup, with its event", async () => {
    cache = createCache({ store: url() });
    const events: string[] = [];
    cache.on('hit', ({ label }) => events.push(`hit ${label}`));
    cache.on('miss', ({ label }) => events.push(`miss ${label}`));
    server = await serve('express', { routes: [{ path: '/about', use: [cachePage(cache, { ttl: 60, label: 'page:about' })], handler: (_req, res) => res.end('<p>about</p>') }] });
    await server.get('/about');
    for (let waited = 0; cache.stats().sets < 2 && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    for (let i = 0; i < 2; i += 1) expect((await server.get('/about', { method: 'HEAD' })).headers['x-cache']).toBe('HIT');
    expect(cache.stats().byLabel['page:about']).toMatchObject({ misses: 1, hits: 2 });
    expect(cache.stats()).toMatchObject({ misses: 1, hits: 2 });
    expect(events).toEqual(['miss page:about', 'hit page:about', 'hit page:about']);
  });
});
