import nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, viewKey, type Cache } from '../../src/index.js';
import { createEnvironment, render, renderView } from '../../src/nunjucks.js';
import { ManualClock } from '../../src/testing.js';
import { MapLoader } from '../support/stores.js';

let cache: Cache;
afterEach(() => cache?.close());

function setup(clock = new ManualClock()) {
  cache = createCache({ clock });
  const env = createEnvironment(new MapLoader({ 'post.njk': '<h1>{{ load() }}</h1>' }) as unknown as nunjucks.ILoader, { cache });
  let calls = 0;
  const load = () => `render ${++calls}`;
  return { env, load, clock, calls: () => calls };
}

describe('renderView', () => {
  it('caches the whole rendered view under its template and key', async () => {
    const { env, load, calls } = setup();
    expect(await renderView(env, 'post.njk', { load }, { key: 42, ttl: 60 })).toBe('<h1>render 1</h1>');
    expect(await renderView(env, 'post.njk', { load }, { key: 42, ttl: 60 })).toBe('<h1>render 1</h1>');
    expect(await renderView(env, 'post.njk', { load }, { key: 43, ttl: 60 })).toBe('<h1>render 2</h1>');
    expect(calls()).toBe(2);
    expect(await cache.get(viewKey('post.njk', 42))).toBe('<h1>render 1</h1>');
  });

  it('expires after its TTL', async () => {
    const { env, load, clock } = setup();
    await renderView(env, 'post.njk', { load }, { ttl: 60 });
    clock.advance(61);
    expect(await renderView(env, 'post.njk', { load }, { ttl: 60 })).toBe('<h1>render 2</h1>');
  });

  it('makes old entries unreachable when the version option is bumped', async () => {
    const { env, load } = setup();
    await renderView(env, 'post.njk', { load }, { key: 1, version: 1 });
    expect(await renderView(env, 'post.njk', { load }, { key: 1, version: 2 })).toBe('<h1>render 2</h1>');
    expect(await renderView(env, 'post.njk', { load }, { key: 1, version: 1 })).toBe('<h1>render 1</h1>');
  });

  it('misses at the default version after cache.incrVersion of its key', async () => {
    const { env, load } = setup();
    await renderView(env, 'post.njk', { load }, { key: 1 });
    expect(await cache.incrVersion(viewKey('post.njk', 1))).toBe(2);
    expect(await renderView(env, 'post.njk', { load }, { key: 1 })).toBe('<h1>render 2</h1>');
  });

  it('re-renders after invalidateView and after a tag invalidation', async () => {
    const { env, load } = setup();
    await renderView(env, 'post.njk', { load }, { key: 1, tags: ['posts'] });
    expect(await cache.invalidateView('post.njk', 1)).toBe(true);
    expect(await renderView(env, 'post.njk', { load }, { key: 1, tags: ['posts'] })).toBe('<h1>render 2</h1>');
    await cache.invalidateTags(['posts']);
    expect(await renderView(env, 'post.njk', { load }, { key: 1, tags: ['posts'] })).toBe('<h1>render 3</h1>');
  });

  it('needs a cache, and says how to give it one', async () => {
    const env = new nunjucks.Environment(new MapLoader({ 'x.njk': 'x' }) as unknown as nunjucks.ILoader);
    cache = createCache();
    await expect(renderView(env, 'x.njk')).rejects.toThrow(/Pass \{ cache \} or set the Environment up with installCache/);
    expect(await renderView(env, 'x.njk', {}, { cache })).toBe('x');
  });

  it('render() is an uncached Promise helper', async () => {
    const { env, load } = setup();
    expect(await render(env, 'post.njk', { load })).toBe('<h1>render 1</h1>');
    expect(await render(env, 'post.njk', { load })).toBe('<h1>render 2</h1>');
  });
});
