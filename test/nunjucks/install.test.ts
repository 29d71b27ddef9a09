import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import express from 'express';
import nunjucks from 'nunjucks';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { installCache, render, renderString } from '../../src/nunjucks.js';

const views = resolve(import.meta.dirname, '../fixtures/views');
const cache = createCache();
afterAll(() => cache.close());

describe('installCache', () => {
  it('adds {% cache %} to a default nunjucks.configure() setup', async () => {
    const env = installCache(nunjucks.configure(views, { autoescape: true }), cache);
    let calls = 0;
    const posts = async () => {
      calls += 1;
      return ['<a>', 'b'];
    };
    const expected = '<h1>T</h1><li>&lt;a&gt;</li><li>b</li>\n';
    expect(await render(env, 'home.njk', { title: 'T', posts })).toBe(expected);
    expect(await render(env, 'home.njk', { title: 'T', posts })).toBe(expected);
    expect(calls).toBe(1);
  });

  it('works with Express res.render', async () => {
    const local = createCache();
    const app = express();
    const env = installCache(new nunjucks.Environment(new nunjucks.FileSystemLoader(views), { autoescape: true }), local);
    env.express(app);
    app.set('view engine', 'njk');
    let calls = 0;
    app.get('/', (_req, res) => {
      res.render('home.njk', { title: 'Express', posts: async () => [`call ${++calls}`] });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((done) => server.once('listening', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const first = await (await fetch(url)).text();
      const second = await (await fetch(url)).text();
      expect(first).toBe('<h1>Express</h1><li>call 1</li>\n');
      expect(second).toBe(first);
      expect(calls).toBe(1);
    } finally {
      server.close();
      await local.close();
    }
  });

  it('works with an Environment from another copy of Nunjucks, without double escaping', async () => {
    // An application has its own copy of nunjucks; SafeString is only recognised by the copy
    // that compiled the template, so the tag must mark output safe with the app's copy.
    const require = createRequire(import.meta.url);
    const source = join(resolve(import.meta.dirname, '../../node_modules'), 'nunjucks');
    const copyRoot = resolve(import.meta.dirname, '../../node_modules/.njkc-test-copy/node_modules');
    if (!existsSync(join(copyRoot, 'nunjucks'))) {
      mkdirSync(copyRoot, { recursive: true });
      cpSync(source, join(copyRoot, 'nunjucks'), { recursive: true });
    }
    const other = require(join(copyRoot, 'nunjucks')) as typeof nunjucks;
    expect(other.Environment).not.toBe(nunjucks.Environment);
    const env = installCache(new other.Environment(null, { autoescape: true }), cache);
    const src = '{% cache 60 copy %}<b>{{ v }}</b>{% endcache %}';
    expect(await renderString(env, src, { v: '<i>' })).toBe('<b>&lt;i&gt;</b>');
    expect(await renderString(env, src, { v: '<i>' })).toBe('<b>&lt;i&gt;</b>');
  });

  it('works with autoescape off', async () => {
    const env = installCache(new nunjucks.Environment(null, { autoescape: false }), cache);
    const src = '{% cache 60 raw_out %}<b>{{ v }}</b>{% endcache %}';
    expect(await renderString(env, src, { v: '<i>' })).toBe('<b><i></b>');
    expect(await renderString(env, src, { v: '<i>' })).toBe('<b><i></b>');
  });

  it('takes another tag name', async () => {
    const env = installCache(new nunjucks.Environment(null), cache, { tagName: 'fragment' });
    expect(await renderString(env, '{% fragment 60 named %}ok{% endfragment %}')).toBe('ok');
  });
});

describe('installCache is idempotent and never replaces your filters', () => {
  it('installed 50 times on one Environment: one tag, one update listener per loader, no warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const fsLoader = new nunjucks.FileSystemLoader(views);
      const loader = fsLoader as unknown as { listeners(event: string): unknown[] };
      const env = new nunjucks.Environment(fsLoader, { autoescape: true });
      const before = loader.listeners('update').length;
      for (let i = 0; i < 50; i += 1) installCache(env, cache);
      expect(loader.listeners('update').length).toBe(before + 1);
      expect((env as unknown as { extensionsList: unknown[] }).extensionsList).toHaveLength(1);
      expect(await renderString(env, '{% cache 60 once %}ok{% endcache %}')).toBe('ok');
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a second install with another cache uses that cache', async () => {
    const other = createCache();
    const env = installCache(installCache(new nunjucks.Environment(null), cache), other);
    await renderString(env, '{% cache 60 which %}x{% endcache %}');
    expect(await other.invalidateFragment('which')).toBe(true);
    await other.close();
  });

  it('refuses to replace a filter named "resolve" that the app added first, and takes another name', async () => {
    const env = new nunjucks.Environment(null);
    env.addFilter('resolve', (path: string) => `/static/${path}`);
    expect(() => installCache(env, cache)).toThrow(/already has a filter named "resolve"[\s\S]*resolveFilter: 'load'/);
    installCache(env, cache, { resolveFilter: 'load' });
    const html = await renderString(env, '{{ "a.css" | resolve }}{% cache 60 rows %}{% for r in rows | load %}{{ r }}{% endfor %}{% endcache %}', { rows: async () => [1, 2] });
    expect(html).toBe('/static/a.css12');
  });

  it('refuses a filter named like ours added after install, which would make renders hang', () => {
    const env = installCache(new nunjucks.Environment(null), cache);
    expect(() => env.addFilter('resolve', (value: unknown) => value)).toThrow(/installCache already added a filter with that name[\s\S]*hang/);
    // other filters are added as usual
    env.addFilter('shout', (value: string) => value.toUpperCase());
    expect(env.getFilter('shout')('a')).toBe('A');
  });
});
