/**
 * docs/fragments.md: every example runs here and prints what the page says it prints.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCache, fragmentKey } from '../../src/index.js';
import { createEnvironment, render, renderString } from '../../src/nunjucks.js';
import { ManualClock } from '../../src/testing.js';
import { db } from './examples/db.js';
import { docOutput, enterSite } from './support/docs.js';
import { relativeMessage, runExample } from './support/run.js';

let site: ReturnType<typeof enterSite>;
beforeAll(() => {
  site = enterSite();
});
afterAll(() => site.leave());
beforeEach(() => db.reset());

function environment() {
  const cache = createCache();
  const env = createEnvironment('templates', { cache, trimBlocks: true, lstripBlocks: true });
  return { cache, env };
}

describe('lazy data', () => {
  it('runs the loader once for three renders, where eager data queries every time', async () => {
    const { output } = await runExample('lazy-data');
    expect(output).toBe(docOutput('lazy-data'));
    expect(output).toMatch(/^eager: 3 queries\nlazy: 1 query\n/);
  });

  it('resolve calls functions with the filter arguments and awaits promises, in set, if and for', async () => {
    const { output } = await runExample('resolve-forms');
    expect(output).toBe(docOutput('resolve-forms'));
  });
});

describe('vary-on and keys', () => {
  it('a changed vary-on value is a new key; invalidateFragment rebuilds it', async () => {
    const { output } = await runExample('vary-on');
    expect(output).toBe(docOutput('vary-on'));
  });

  it('stored keys have the prefix:version:kind:name:hash shape and vary-on is unambiguous', async () => {
    const { output } = await runExample('keys');
    expect(output).toBe(docOutput('keys'));
  });
});

describe('nesting', () => {
  it('an outer hit skips the inner fragments; a tag on the outer one refreshes it', async () => {
    const { output } = await runExample('nesting');
    expect(output).toBe(docOutput('nesting'));
  });
});

describe('template digests', () => {
  it('editing the block text makes the old entry miss; invalidateFragment still finds it', async () => {
    const { output } = await runExample('digest');
    expect(output).toBe(docOutput('digest'));
  });
});

describe('stale-while-revalidate', () => {
  it('serves the stale value once and refreshes in the background', async () => {
    const { output } = await runExample('stale');
    expect(output).toBe(docOutput('stale'));
  });
});

describe('the Nunjucks limits', () => {
  const context = { post: { id: 1, title: 'Hello' } };

  it.each([
    ['macro', 'limit-macro'],
    ['set-block', 'limit-set-block'],
    ['call-block', 'limit-call-block'],
    ['filter-block', 'limit-filter-block'],
    ['block-inside', 'limit-block-inside'],
    ['cache-in-filter', 'limit-cache-in-filter'],
    ['cache-in-call', 'limit-cache-in-call'],
  ])('limits/%s.njk fails to compile with the error the page shows', async (template, output) => {
    const { env } = environment();
    const error = await render(env, `limits/${template}.njk`, context).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(relativeMessage(error)).toBe(docOutput(output));
  });

  it('the macro alternative: cache around the macro call', async () => {
    const { env } = environment();
    expect((await render(env, 'limits/macro-fixed.njk', context)).trimEnd()).toBe(docOutput('limit-macro-fixed'));
  });

  it('the call and filter alternatives: a macro argument, a filter on a captured variable', async () => {
    const { env } = environment();
    const html = [(await render(env, 'limits/filter-fixed.njk')).trimEnd(), (await render(env, 'limits/call-fixed.njk')).trimEnd()];
    expect(html.join('\n')).toBe(docOutput('limit-call-filter-fixed'));
  });

  it('the block alternative: the cache tag inside the block', async () => {
    const { env } = environment();
    expect((await render(env, 'limits/block-fixed.njk', {})).trimEnd()).toBe(docOutput('limit-block-fixed'));
  });

  it('an include of a cache-using template inside a plain for or if fails to compile with the error the page shows', async () => {
    const items = [{ id: 1, name: 'one' }, { id: 2, name: 'two' }];
    const error = await render(environment().env, 'limits/include-in-for.njk', { items }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(relativeMessage(error)).toBe(docOutput('limit-include-in-for'));
    await expect(render(environment().env, 'limits/include-in-if.njk', { item: items[0] })).rejects.toThrow(/included inside a plain <% if %>[\s\S]*ifAsync/);
  });

  it('asyncEach and ifAsync render the include', async () => {
    const { env } = environment();
    const items = [{ id: 1, name: 'one' }, { id: 2, name: 'two' }];
    const html = (await render(env, 'limits/include-in-asynceach.njk', { items })) + (await render(env, 'limits/include-in-ifasync.njk', { item: { id: 3, name: 'three' } }));
    expect(html).toBe(`${docOutput('limit-include-fixed')}\n`);
  });

  // An include whose name is chosen at run time cannot be checked when the page compiles. It renders
  // after the loop has moved on; the tag notices (the loop position it was called at differs from
  // the one its body saw) and stores nothing rather than a wrong entry.
  it('an include chosen at run time inside for renders nothing on a miss and stores no wrong entries', async () => {
    const { cache, env } = environment();
    const items = [{ id: 1, name: 'one' }, { id: 2, name: 'two' }];
    expect(await render(env, 'limits/include-dynamic.njk', { items, rowTemplate: 'limits/row.njk' })).toBe('<ul></ul>\n');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stored = await cache.get(fragmentKey('row', [1]));
    expect(stored === undefined || stored === '<li>one</li>').toBe(true);
  });

  it('a set inside the cached body does not happen on a hit; set outside it does', async () => {
    const { env } = environment();
    const context2 = { author: 'Ada' };
    const inside = [await render(env, 'limits/set-inside.njk', context2), await render(env, 'limits/set-inside.njk', context2)];
    const outside = [await render(env, 'limits/set-outside.njk', context2), await render(env, 'limits/set-outside.njk', context2)];
    expect(inside.join('')).toBe(`${docOutput('limit-set-inside')}\n`);
    expect(outside.join('')).toBe(`${docOutput('limit-set-outside')}\n`);
  });

  it('super() inside the cached body runs on every hit; caching the parent block does not', async () => {
    const { env } = environment();
    let calls = 0;
    const loadAds = () => `ads #${++calls}`;
    await render(env, 'limits/super-inside.njk', { loadAds });
    const second = await render(env, 'limits/super-inside.njk', { loadAds });
    expect(second).toBe('<main></main>\n<aside>ads #1 and more</aside>\n');
    expect(calls).toBe(2);
    calls = 0;
    await render(env, 'limits/super-fixed.njk', { loadAds });
    await render(env, 'limits/super-fixed.njk', { loadAds });
    expect(calls).toBe(1);
  });

  it('render() without a callback returns null', async () => {
    const { env } = environment();
    // #region sync-render
    const html = env.render('limits/macro-fixed.njk', { post: { id: 1, title: 'Hello' } });
    console.log(html); // null: the cache tag is asynchronous
    // #endregion
    expect(html).toBeNull();
  });

  it('a vary-on value starting with "-" continues the previous expression', async () => {
    const { cache, env } = environment();
    const keys: string[] = [];
    cache.on('miss', ({ key }) => keys.push(key));
    await render(env, 'limits/greedy.njk', { page: 5 });
    expect(keys).toEqual([cache.makeKey(fragmentKey('offset_list', [4]))]);
  });

  it('two templates using one fragment name with different bodies miss every time', async () => {
    const { cache, env } = environment();
    for (const t of ['a', 'b', 'a', 'b']) await render(env, `limits/shared-${t}.njk`);
    const { hits, misses } = cache.stats().byLabel.sidebar ?? { hits: -1, misses: -1 };
    expect({ hits, misses }).toEqual({ hits: 0, misses: 4 });
  });
});

describe('claims made in the text', () => {
  const counting = () => {
    let n = 0;
    return { load: () => ++n, count: () => n };
  };

  it('TTL: a numeric string is seconds, none never expires, 0 renders every time', async () => {
    const clock = new ManualClock();
    const cache = createCache({ clock });
    const env = createEnvironment([], { cache });
    const a = counting();
    for (let i = 0; i < 2; i++) await renderString(env, '<% cache ttl s %>{{ load() }}<% endcache %>', { ttl: '600', load: a.load });
    expect(a.count()).toBe(1);
    clock.advance(601);
    await renderString(env, '<% cache ttl s %>{{ load() }}<% endcache %>', { ttl: '600', load: a.load });
    expect(a.count()).toBe(2);
    const b = counting();
    await renderString(env, '<% cache none forever %>{{ load() }}<% endcache %>', { load: b.load });
    clock.advance(10 * 365 * 24 * 3600);
    await renderString(env, '<% cache none forever %>{{ load() }}<% endcache %>', { load: b.load });
    expect(b.count()).toBe(1);
    const c = counting();
    for (let i = 0; i < 3; i++) await renderString(env, '<% cache 0 never %>{{ load() }}<% endcache %>', { load: c.load });
    expect(c.count()).toBe(3);
    expect(await cache.has(fragmentKey('never'))).toBe(false);
  });

  it('a loader that throws fails the render and stores nothing', async () => {
    const cache = createCache();
    const env = createEnvironment([], { cache });
    const failing = renderString(env, '<% cache 60 boom %>{{ load | resolve }}<% endcache %>', { load: async () => { throw new Error('db down'); } });
    await expect(failing).rejects.toThrow(/db down/);
    expect(await cache.has(fragmentKey('boom'))).toBe(false);
  });

  it('a failed background refresh is an error event with operation "refresh", and the stale HTML stays', async () => {
    const clock = new ManualClock();
    const cache = createCache({ clock });
    const env = createEnvironment([], { cache });
    const errors: string[] = [];
    cache.on('error', ({ operation }) => errors.push(operation));
    let fail = false;
    const load = async () => {
      if (fail) throw new Error('db down');
      return 'v1';
    };
    const src = '<% cache 60 news stale=30 %>{{ load | resolve }}<% endcache %>';
    await renderString(env, src, { load });
    fail = true;
    clock.advance(70);
    expect(await renderString(env, src, { load })).toBe('v1');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(errors).toEqual(['refresh']);
    clock.advance(10);
    expect(await renderString(env, src, { load })).toBe('v1');
  });

  it('objects with their own toString vary by their text', () => {
    class Slug {
      constructor(readonly text: string) {}
      toString() {
        return this.text;
      }
    }
    expect(fragmentKey('f', [new Slug('a')])).toBe(fragmentKey('f', [new Slug('a')]));
    expect(fragmentKey('f', [new Slug('a')])).not.toBe(fragmentKey('f', [new Slug('b')]));
    expect(fragmentKey('f', [{ b: 1, a: 2 }])).toBe(fragmentKey('f', [{ a: 2, b: 1 }]));
    expect(fragmentKey('f', [null])).not.toBe(fragmentKey('f', [undefined]));
  });

  it('the resolve filter can be renamed or left out', async () => {
    const cache = createCache();
    const renamed = createEnvironment([], { cache, resolveFilter: 'load' });
    expect(await renderString(renamed, '{{ f | load }}', { f: async () => 'ok' })).toBe('ok');
    const without = createEnvironment([], { cache, resolveFilter: false });
    await expect(renderString(without, '{{ f | resolve }}', { f: () => 'x' })).rejects.toThrow(/filter not found: resolve/);
  });

  it('digest: false keeps entries across edits of the block text', async () => {
    const cache = createCache();
    const v1 = createEnvironment([], { cache, digest: false });
    await renderString(v1, '<% cache 60 footer %>2025<% endcache %>');
    const v2 = createEnvironment([], { cache, digest: false });
    expect(await renderString(v2, '<% cache 60 footer %>2026<% endcache %>')).toBe('2025');
  });
});
