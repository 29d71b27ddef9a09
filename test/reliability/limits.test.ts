import type nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { createEnvironment, render } from '../../src/nunjucks.js';
import { MapLoader, faultyStore } from '../support/stores.js';

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

describe('values that cannot be stored', () => {
  it('getOrSet still returns what the producer made, and reports why it was not stored', async () => {
    cache = createCache();
    const errors: string[] = [];
    cache.on('error', ({ operation, error }) => errors.push(`${operation}: ${(error as Error).message}`));
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    expect(await cache.getOrSet('c', () => circular)).toBe(circular);
    expect(await cache.getOrSet('u', () => undefined)).toBeUndefined();
    expect(errors[0]).toMatch(/^set: Cannot cache this value: it is not JSON-serialisable/);
    expect(errors[1]).toMatch(/^set: Cannot cache undefined/);
    await expect(cache.set('c', circular)).rejects.toThrow(/not JSON-serialisable/);
  });

  it('keeps the breaker on when an option is passed as undefined, and checks its numbers', async () => {
    const faulty = faultyStore();
    faulty.mode.now = 'throw';
    cache = createCache({ store: faulty.store, breaker: { failureThreshold: undefined } });
    for (let i = 0; i < 5; i += 1) await cache.get('k');
    expect(cache.stats().circuit).toBe('open'); // the default threshold of 5 applies
    expect(() => createCache({ breaker: { cooldownMs: -1 } })).toThrow(/"breaker.cooldownMs" must be a positive number/);
  });
});
