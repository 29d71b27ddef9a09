import type nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, createEnvironment, render, type Cache } from '../../src/index.js';
import { MapLoader } from '../support/stores.js';

let cache: Cache;
afterEach(() => cache?.close());

describe('limits and bad input', () => {
  it('does not store a fragment over maxEntryBytes, and still renders it whole', async () => {
    cache = createCache({ maxEntryBytes: 10_000 });
    const env = createEnvironment(new MapLoader({ t: '<% cache 60 big %>{{ load() }}<% endcache %>' }) as unknown as nunjucks.ILoader, { cache });
    let calls = 0;
    const load = () => {
      calls += 1;
      return 'x'.repeat(20_000);
    };
    expect((await render(env, 't', { load })).length).toBe(20_000);
    expect((await render(env, 't', { load })).length).toBe(20_000);
    expect(calls).toBe(2);
    expect(cache.stats().oversize).toBe(2);
  });

  it('rejects nonsense options early, saying what is allowed', () => {
    expect(() => createCache({ timeoutMs: 0 })).toThrow(/"timeoutMs" must be a positive number; got 0/);
    expect(() => createCache({ version: 1.5 })).toThrow(/"version" must be a whole number/);
    expect(() => createCache({ defaultTtl: 'soon' as unknown as number })).toThrow(/TTL must be a number of seconds or null/);
    expect(() => createCache({ staleTtl: -1 })).toThrow(/"staleTtl" must be zero or a positive number/);
  });

  it('refuses to work after close, with advice', async () => {
    cache = createCache();
    await cache.close();
    await expect(cache.get('k')).rejects.toThrow(/This cache was closed/);
  });
});
