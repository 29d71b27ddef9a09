/**
 * docs/views.md: renderView from an Express route, keys, versions, and what it does not cover.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Cache, createCache } from '../../src/index.js';
import { createEnvironment, renderView } from '../../src/nunjucks.js';
import { db } from './examples/db.js';
import { ROOT, docOutput, enterSite } from './support/docs.js';
import { runExample } from './support/run.js';

let site: ReturnType<typeof enterSite>;
beforeAll(() => {
  site = enterSite();
});
afterAll(() => site.leave());
beforeEach(() => db.reset());

describe('renderView', () => {
  it('serves a route from the cache, and invalidateView makes the next request render', async () => {
    const { exports } = await runExample('views');
    const app = exports.app as Express;
    const cache = exports.cache as Cache;
    const savePost = exports.savePost as (id: number, title: string) => Promise<void>;
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const get = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).text();
      expect(await get('/posts/2')).toBe(`${docOutput('views')}\n`);
      await get('/posts/2');
      expect(db.queries).toBe(1);
      await savePost(2, 'Lazy data, revised');
      expect(await get('/posts/2')).toContain('<h1>Lazy data, revised</h1>');
      expect(db.queries).toBe(3); // the update, and one render after it
      expect(cache.stats().byLabel['view:post.njk']).toMatchObject({ hits: 1, misses: 2 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await (exports.shutdown as () => Promise<void>)();
      expect(cache.stats()).toBeDefined();
      await expect(cache.set('after', 1)).rejects.toMatchObject({ code: 'ERR_CACHE_CLOSED' });
    }
  });

  it('keeps versions apart', async () => {
    const { output } = await runExample('view-versions');
    expect(output).toBe(docOutput('view-versions'));
  });

  it('does not notice an edited template: bump the version', async () => {
    mkdirSync('edited', { recursive: true });
    copyFileSync(`${ROOT}/test/docs/templates/post.njk`, 'edited/post.njk');
    const cache = createCache();
    const context = { loadPost: () => db.post(1) };
    const before = await renderView(createEnvironment('edited', { cache }), 'post.njk', context, { key: 1 });
    writeFileSync('edited/post.njk', '<h2>changed</h2>');
    expect(await renderView(createEnvironment('edited', { cache }), 'post.njk', context, { key: 1 })).toBe(before);
    expect(await renderView(createEnvironment('edited', { cache }), 'post.njk', context, { key: 1, version: 2 })).toBe('<h2>changed</h2>');
  });

  it('needs a cache: from installCache/createEnvironment or the cache option', async () => {
    const { default: nunjucks } = await import('nunjucks');
    mkdirSync('plain', { recursive: true });
    writeFileSync('plain/about.njk', '<h1>About {{ name }}</h1>');
    const plain = new nunjucks.Environment(new nunjucks.FileSystemLoader('plain'));
    await expect(renderView(plain, 'about.njk')).rejects.toThrow(/no cache/);
    const cache = createCache();
    expect(await renderView(plain, 'about.njk', { name: 'us' }, { cache, ttl: 60 })).toBe('<h1>About us</h1>');
    expect(await renderView(plain, 'about.njk', { name: 'them' }, { cache, ttl: 60 })).toBe('<h1>About us</h1>');
  });
});
