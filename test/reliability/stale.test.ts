import type nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { createEnvironment, render } from '../../src/nunjucks.js';
import { ManualClock } from '../../src/testing.js';
import type { CacheErrorEvent } from '../../src/core/types.js';
import { MapLoader, sleep } from '../support/stores.js';

let cache: Cache;
afterEach(() => cache?.close());

describe('stale-while-revalidate', () => {
  function setup() {
    const clock = new ManualClock();
    cache = createCache({ clock });
    let version = 0;
    let renders = 0;
    let fail = false;
    const produce = async () => {
      renders += 1;
      await sleep(10);
      if (fail) throw new Error('refresh failed (injected)');
      return `v${version}`;
    };
    return {
      clock,
      produce,
      bump: () => (version += 1),
      renders: () => renders,
      failRefreshes: (on: boolean) => (fail = on),
    };
  }

  it('inside the window serves the expired value at once while exactly one background refresh runs', async () => {
    const s = setup();
    expect(await cache.getOrSet('k', s.produce, 10, { staleTtl: 60 })).toBe('v0');
    s.bump();
    s.clock.advance(15);
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.fetch('k', s.produce, { ttl: 10, staleTtl: 60 })));
    expect(new Set(results.map((r) => `${r.status}:${String(r.value)}`))).toEqual(new Set(['stale:v0']));
    await sleep(30);
    expect(s.renders()).toBe(2);
    expect(await cache.getOrSet('k', s.produce, 10, { staleTtl: 60 })).toBe('v1');
    // one lookup found the stale entry; the other 49 callers joined it
    expect(cache.stats()).toMatchObject({ stale: 1, coalesced: 49 });
  });

  it('past the window is a normal miss', async () => {
    const s = setup();
    await cache.getOrSet('k', s.produce, 10, { staleTtl: 60 });
    s.bump();
    s.clock.advance(71);
    const result = await cache.fetch('k', s.produce, { ttl: 10, staleTtl: 60 });
    expect(result).toMatchObject({ status: 'miss', value: 'v1' });
  });

  it('keeps serving stale when refreshes fail, reports them, and stops at the end of the window', async () => {
    const s = setup();
    const errors: CacheErrorEvent[] = [];
    cache.on('error', (event) => errors.push(event));
    await cache.getOrSet('k', s.produce, 10, { staleTtl: 60 });
    s.failRefreshes(true);
    s.clock.advance(15);
    expect(await cache.getOrSet('k', s.produce, 10, { staleTtl: 60 })).toBe('v0');
    await sleep(30);
    expect(errors.map((e) => e.operation)).toEqual(['refresh']);
    expect(await cache.getOrSet('k', s.produce, 10, { staleTtl: 60 })).toBe('v0');
    await sleep(30);
    s.clock.advance(60);
    await expect(cache.getOrSet('k', s.produce, 10, { staleTtl: 60 })).rejects.toThrow('refresh failed');
  });

  it('works on the tag with stale=', async () => {
    const s = setup();
    const env = createEnvironment(new MapLoader({ t: '<% cache 10 swr stale=60 %>{{ load | resolve }}<% endcache %>' }) as unknown as nunjucks.ILoader, { cache });
    expect(await render(env, 't', { load: s.produce })).toBe('v0');
    s.bump();
    s.clock.advance(15);
    expect(await render(env, 't', { load: s.produce })).toBe('v0');
    await sleep(30);
    expect(await render(env, 't', { load: s.produce })).toBe('v1');
  });
});
