/**
 * docs/getting-started.md: the first examples a reader runs, executed for real.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import nunjucks from 'nunjucks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Cache, createCache } from '../../src/index.js';
import { installCache, render } from '../../src/nunjucks.js';
import { db } from './examples/db.js';
import { docOutput, enterSite } from './support/docs.js';
import { captureLog, runExample } from './support/run.js';

let site: ReturnType<typeof enterSite>;
beforeAll(() => {
  site = enterSite();
});
afterAll(() => site.leave());
beforeEach(() => db.reset());

describe('getting started', () => {
  it('renders the sidebar once and serves it from the cache the second time', async () => {
    const { output, exports } = await runExample('getting-started');
    expect(output).toBe(docOutput('getting-started'));
    expect(output.startsWith('true 1\n')).toBe(true);
    const cache = exports.cache as Cache;
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('invalidates and reports stats as the page shows', async () => {
    const { exports } = await runExample('getting-started');
    const cache = exports.cache as Cache;
    const output = await captureLog(async () => {
      // #region invalidate
      await cache.invalidateFragment('sidebar'); // the next render queries again
      // #endregion
      // #region stats
      const { hits, misses, byLabel } = cache.stats();
      console.log({ hits, misses, sidebar: byLabel.sidebar?.hits });
      // #endregion
    });
    expect(output).toBe(docOutput('getting-started-stats'));
  });
});

describe('an existing Nunjucks setup', () => {
  it('installCache adds {% cache %} to nunjucks.configure, and Express res.render works', async () => {
    const { exports } = await runExample('existing-setup');
    const app = exports.app as Express;
    const cache = exports.cache as Cache;
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const get = async (name: string) => (await fetch(`http://127.0.0.1:${port}/hello?name=${encodeURIComponent(name)}`)).text();
      const first = await get('<Ann>');
      const second = await get('<Ann>');
      expect(first).toBe(`${docOutput('existing-setup')}\n`);
      expect(second).toBe(first);
      expect(await get('Bo')).toBe('<p>Hello, Bo!</p>\n');
      expect(cache.stats()).toMatchObject({ hits: 1, misses: 2 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await (exports.shutdown as () => Promise<void>)();
      await expect(cache.set('after', 1)).rejects.toMatchObject({ code: 'ERR_CACHE_CLOSED' });
    }
  });

  it('works with the application’s own copy of Nunjucks (no double escaping)', async () => {
    const require = createRequire(import.meta.url);
    const modulePath = require.resolve('nunjucks');
    const root = modulePath.slice(0, modulePath.lastIndexOf('/node_modules/nunjucks/') + '/node_modules/nunjucks/'.length);
    for (const key of Object.keys(require.cache)) if (key.startsWith(root)) delete require.cache[key];
    const other = require('nunjucks') as typeof nunjucks;
    expect(other).not.toBe(nunjucks);
    expect((other as unknown as { runtime: { SafeString: unknown } }).runtime.SafeString).not.toBe((nunjucks as unknown as { runtime: { SafeString: unknown } }).runtime.SafeString);

    const env = installCache(new other.Environment(new other.FileSystemLoader('templates'), { autoescape: true }), createCache());
    const html = '<p>Hello, &lt;Ann&gt;!</p>\n';
    expect(await render(env, 'hello.njk', { name: '<Ann>' })).toBe(html);
    expect(await render(env, 'hello.njk', { name: '<Ann>' })).toBe(html); // the hit is not escaped again
  });
});
