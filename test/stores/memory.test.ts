import { describe, expect, it } from 'vitest';
import * as vitest from 'vitest';
import { createCache } from '../../src/index.js';
import { createMemoryStore, createStore } from '../../src/stores.js';
import { describeStoreConformance } from '../../src/testing.js';

describeStoreConformance(vitest, 'memory', { makeStore: () => createStore('memory') });

describe('memory store', () => {
  it('stays within its byte budget under heavy churn of distinct keys', async () => {
    const maxBytes = 256 * 1024;
    const cache = createCache({ store: createMemoryStore({ maxBytes }) });
    let peak = 0;
    for (let i = 0; i < 20_000; i += 1) {
      await cache.set(`key-${i}`, `<p>${'x'.repeat(i % 500)}</p>`);
      if (i % 100 === 0) peak = Math.max(peak, (await cache.usage()).bytes ?? 0);
    }
    const usage = await cache.usage();
    peak = Math.max(peak, usage.bytes ?? 0);
    console.log(`[memory] peak ${peak} bytes held for a ${maxBytes}-byte budget after 20,000 distinct keys (${usage.entries} entries kept)`);
    expect(usage.maxBytes).toBe(maxBytes);
    expect(peak).toBeLessThanOrEqual(maxBytes);
    expect(usage.entries).toBeGreaterThan(100);
    // the most recent entries survive, the oldest went first
    expect(await cache.get('key-19999')).toBeDefined();
    expect(await cache.get('key-0')).toBeUndefined();
    await cache.close();
  });

  it('refuses a value larger than its whole budget: set() returns false and the error event says why', async () => {
    const cache = createCache({ store: 'memory://?maxBytes=4096', breaker: { failureThreshold: 2, cooldownMs: 60_000 } });
    const events: Array<{ error: unknown; operation: string }> = [];
    cache.on('error', (event) => events.push(event));
    expect(await cache.set('small', 'fits')).toBe(true);
    await cache.set('big', 'old');
    for (let i = 0; i < 5; i += 1) expect(await cache.set('big', 'x'.repeat(4096))).toBe(false);
    // nothing stored, and no older value left to be served as if the write had happened
    expect(await cache.get('big', 'MISS')).toBe('MISS');
    expect(events).toHaveLength(5);
    expect(events[0]).toMatchObject({ operation: 'set', error: { code: 'ERR_CACHE_ENTRY_TOO_LARGE' } });
    expect(String((events[0]?.error as Error).message)).toMatch(/takes \d+ bytes, more than the store's whole budget of 4096 bytes/);
    // a refusal is not a store failure: counted as oversize, the breaker stays closed
    expect(cache.stats()).toMatchObject({ oversize: 5, errors: 0, circuit: 'closed' });
    expect(await cache.get('small')).toBe('fits');
    await cache.close();
  });

  it('parses maxBytes from the URL and rejects nonsense', () => {
    expect(createStore('memory://?maxBytes=1024').kind).toBe('memory');
    expect(() => createStore('memory://?maxBytes=lots')).toThrow(/whole number of bytes/);
  });
});
