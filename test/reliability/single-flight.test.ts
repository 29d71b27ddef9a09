import type nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { createEnvironment, render, renderView } from '../../src/nunjucks.js';
import { MapLoader, countingStore, sleep } from '../support/stores.js';

let cache: Cache;
afterEach(() => cache?.close());

const envWith = (templates: Record<string, string>) => createEnvironment(new MapLoader(templates) as unknown as nunjucks.ILoader, { cache });

describe('single-flight', () => {
  it('1000 concurrent renders of a cold fragment run the body once, and all get its output', async () => {
    const counted = countingStore();
    cache = createCache({ store: counted.store });
    const env = envWith({ t: '<% cache 60 cold %>{{ load | resolve }}<% endcache %>' });
    let bodies = 0;
    const load = async () => {
      bodies += 1;
      await sleep(20);
      return `body ${bodies}`;
    };
    let joined = 0;
    cache.on('coalesced', (event) => {
      if (event.label === 'cold' && event.status === 'miss') joined += 1;
    });
    const pages = await Promise.all(Array.from({ length: 1000 }, () => render(env, 't', { load })));
    expect(bodies).toBe(1);
    expect(joined).toBe(999);
    expect(new Set(pages)).toEqual(new Set(['body 1']));
    expect(cache.stats().coalesced).toBe(999);
    // one lookup and one write for the whole crowd
    expect(counted.calls.get + counted.calls.getMany).toBe(1);
    expect(counted.calls.set).toBe(1);
  });

  it('applies to renderView and getOrSet', async () => {
    cache = createCache();
    const env = envWith({ v: '{{ load() }}' });
    let views = 0;
    const load = () => `view ${++views}`;
    await Promise.all(Array.from({ length: 100 }, () => renderView(env, 'v', { load }, { key: 'k' })));
    expect(views).toBe(1);
    let values = 0;
    await Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('k', async () => (await sleep(5), ++values))));
    expect(values).toBe(1);
  });

  it('gives every waiter the same error when the render fails, and caches nothing', async () => {
    cache = createCache();
    let calls = 0;
    const failing = async () => {
      calls += 1;
      await sleep(10);
      throw new Error(`render failed #${calls}`);
    };
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => cache.getOrSet('k', failing)));
    expect(calls).toBe(1);
    expect(new Set(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok')))).toEqual(new Set(['render failed #1']));
    expect(await cache.has('k')).toBe(false);
    await expect(cache.getOrSet('k', failing)).rejects.toThrow('render failed #2');
  });
});

describe('single-flight across templates', () => {
  it('does not hand one template\'s fragment to another that uses the same name', async () => {
    cache = createCache();
    const env = envWith({
      a: '<% cache 60 sidebar %>A-{{ load | resolve }}<% endcache %>',
      b: '<% cache 60 sidebar %>B-{{ load | resolve }}<% endcache %>',
    });
    const load = async () => {
      await sleep(20);
      return 'side';
    };
    const [a, b] = await Promise.all([render(env, 'a', { load }), render(env, 'b', { load })]);
    expect([a, b]).toEqual(['A-side', 'B-side']);
  });
});
