import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../app/posts.js';
import { REDIS_URL, announceSkip, uniquePrefix } from '../support/env.js';
import { Client, redisDb, startDemo } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'njkc-demo-stores-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo on a SQLite cache (CACHE_URL=sqlite://…)', () => {
  it('serves a warm page with no query, and a second app process shares the fragments', async () => {
    const cacheUrl = `sqlite://${join(dir, 'cache.db')}`;
    const first = await startDemo({ cacheUrl });
    const second = await startDemo({ cacheUrl });
    try {
      expect((await new Client(first.url).page('/')).timing.queries).toBe(PAGE_SIZE + 2);
      expect((await new Client(first.url).page('/')).timing).toMatchObject({ queries: 0, misses: 0 });
      // Another process (here: another app on the same file) finds every fragment already there.
      expect((await new Client(second.url).page('/')).timing).toMatchObject({ queries: 0, misses: 0 });
      const dashboard = await (await new Client(first.url).get('/_cache')).text();
      expect(dashboard).toContain('(sqlite)');
      expect(dashboard).toMatch(/<span class="value">\d+<\/span><span class="label">entries/);
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});

if (REDIS_URL === undefined) {
  announceSkip('Demo on Redis', 'REDIS_URL');
  describe.skip('demo on a Redis cache (REDIS_URL not set)', () => {
    it('skipped', () => {});
  });
} else {
  const url = redisDb(REDIS_URL, 12);
  describe('demo on a Redis cache (CACHE_URL=redis://…)', () => {
    it('serves a warm page with no query; edits still show at once', async () => {
      const keyPrefix = uniquePrefix('demo');
      const run = await startDemo({ cacheUrl: url, keyPrefix });
      try {
        const client = new Client(run.url);
        expect((await client.page('/')).timing.misses).toBe(PAGE_SIZE + 2);
        // A miss's write may land just after its response: one more view lets every write settle.
        await client.page('/');
        expect((await client.page('/')).timing).toMatchObject({ queries: 0, misses: 0 });
        const csrf = await client.csrf('/posts/300/edit');
        await client.post('/posts/300/edit', { _csrf: csrf, title: 'Redis edit', body: 'Body.' });
        const home = await client.page('/');
        expect(home.html).toContain('Redis edit');
        expect(home.timing).toMatchObject({ misses: 2 });
        expect(await (await client.get('/_cache')).text()).toContain('This store cannot tell its entries and bytes.');
      } finally {
        await run.stop();
      }
    });
  });
}

describe('the demo shows store URLs through the library helper', () => {
  it('uses the same redactUrl as the library and the CLI', async () => {
    const app = await import('../../app/app.js');
    const library = await import('../../src/stores.js');
    expect(app.redactUrl).toBe(library.redactUrl);
    expect(app.redactUrl('redis://s3cret@127.0.0.1:6379/0')).toBe('redis://***@127.0.0.1:6379/0');
  });
});
