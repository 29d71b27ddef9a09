import { describe, expect, it } from 'vitest';
import * as vitest from 'vitest';
import { createCache } from '../../src/index.js';
import { createMemoryStore, createTieredStore, type Store } from '../../src/stores.js';
import { TieredStore } from '../../src/stores/tiered.js';
import { countingStore } from '../support/stores.js';
import { describeStoreConformance } from '../../src/testing.js';
import { FakeHub } from './support/fake-bus.js';

describeStoreConformance(vitest, 'first tier over memory (no bus)', { makeStore: () => createTieredStore(createMemoryStore(), { bus: null }) });

/** Two "processes": each its own first tier, over one shared store, joined by one hub. */
function twoProcesses(shared: Store = createMemoryStore()) {
  const hub = new FakeHub();
  const busA = hub.bus();
  const busB = hub.bus();
  const a = createTieredStore(shared, { bus: busA });
  const b = createTieredStore(shared, { bus: busB });
  busA.up();
  busB.up();
  return { hub, busA, busB, a, b, shared };
}

type Hold = 'before' | 'after' | false;

/**
 * A shared store whose operations can be held by the test: `before` they reach the server, or
 * `after` (it happened at the server, the caller has not heard yet). `release(op)` lets the oldest
 * held one go on, `release(op, 'newest')` the newest.
 */
function gated(inner: Store = createMemoryStore(), held: { get: Hold; set: Hold } = { get: 'after', set: false }) {
  const gates = { get: [] as Array<() => void>, set: [] as Array<() => void> };
  const wait = (op: 'get' | 'set') => new Promise<void>((resolve) => gates[op].push(resolve));
  const around = async <T>(op: 'get' | 'set', run: () => Promise<T>): Promise<T> => {
    if (held[op] === 'before') await wait(op);
    const result = await run();
    if (held[op] === 'after') await wait(op);
    return result;
  };
  const store: Store = {
    kind: 'gated',
    get: (key) => around('get', () => inner.get(key)),
    getMany: (keys) => inner.getMany(keys),
    set: (key, value, ttl) => around('set', () => inner.set(key, value, ttl)),
    setMany: (entries) => around('set', () => inner.setMany(entries)),
    delete: (key) => inner.delete(key),
    deleteMany: (keys) => inner.deleteMany(keys),
    clear: () => inner.clear(),
    close: () => inner.close(),
  };
  const tick = () => new Promise((resolve) => setTimeout(resolve, 2));
  const release = async (op: 'get' | 'set' = 'get', which: 'oldest' | 'newest' = 'oldest') => {
    while (gates[op].length === 0) await tick();
    (which === 'oldest' ? gates[op].shift() : gates[op].pop())?.();
    await tick();
  };
  return { store, release, held, tick };
}

describe('first tier', () => {
  it('answers a warm read without touching the shared store', async () => {
    const counted = countingStore();
    const tier = createTieredStore(counted.store, { bus: null });
    await tier.set('k', { njkc: 1, v: '<p>hi</p>', exp: null, fresh: null }, undefined);
    counted.reset();
    for (let i = 0; i < 10; i += 1) expect(await tier.get('k')).toEqual({ njkc: 1, v: '<p>hi</p>', exp: null, fresh: null });
    expect(await tier.getMany(['k', 'k'])).toHaveLength(2);
    expect(counted.total()).toBe(0);
    expect(tier.tierStats()).toMatchObject({ live: true, entries: 1, hits: 12 });
  });

  it('fills from a read, then serves the next read itself', async () => {
    const counted = countingStore();
    await counted.store.set('k', 'v', undefined);
    const tier = createTieredStore(counted.store, { bus: null });
    counted.reset();
    expect(await tier.getMany(['k', 'absent'])).toEqual(['v', undefined]);
    expect(await tier.get('k')).toBe('v');
    expect(tier.peek('k')).toBe('v');
    expect(counted.calls.getMany).toBe(1);
    expect(counted.calls.get).toBe(0);
  });

  it('peek returns a frozen value; get returns a copy the caller may change', async () => {
    const tier = createTieredStore(createMemoryStore(), { bus: null });
    await tier.set('k', { v: { list: [1, 2] } }, undefined);
    const peeked = tier.peek('k') as { v: { list: number[] } };
    expect(Object.isFrozen(peeked) && Object.isFrozen(peeked.v.list)).toBe(true);
    const mine = (await tier.get('k')) as { v: { list: number[] } };
    mine.v.list.push(3);
    expect(await tier.get('k')).toEqual({ v: { list: [1, 2] } });
    expect(tier.peek('k')).toEqual({ v: { list: [1, 2] } });
  });

  it('holds what a JSON store would give back, not the object that was written', async () => {
    const tier = createTieredStore(createMemoryStore(), { bus: null });
    const value = { when: new Date(0), gone: undefined, list: [1] };
    await tier.set('k', value, undefined);
    value.list.push(2);
    expect(tier.peek('k')).toEqual({ when: '1970-01-01T00:00:00.000Z', list: [1] });
  });

  it('keeps an entry no longer than the TTL it was written with', async () => {
    const tier = createTieredStore(createMemoryStore(), { bus: null });
    await tier.set('k', 'v', 40);
    expect(tier.peek('k')).toBe('v');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(tier.peek('k')).toBeUndefined();
  });

  it('keeps an entry read from the shared store no longer than its envelope says', async () => {
    const shared = createMemoryStore();
    await shared.set('k', { njkc: 1, v: 'x', exp: Date.now() + 40, fresh: null }, 10_000);
    await shared.set('expired', { njkc: 1, v: 'x', exp: Date.now() - 1, fresh: null }, 10_000);
    const tier = createTieredStore(shared, { bus: null });
    await tier.getMany(['k', 'expired']);
    expect(tier.peek('k')).toBeDefined();
    expect(tier.peek('expired')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(tier.peek('k')).toBeUndefined();
  });

  it('reads no value itself: how long a value read may stay comes from the injected expiryOf', async () => {
    const shared = createMemoryStore();
    await shared.set('envelope', { njkc: 1, v: 'x', exp: Date.now() - 1, fresh: null }, 10_000);
    await shared.set('own', { until: Date.now() - 1 }, 10_000);
    const bare = new TieredStore(shared, { bus: null });
    await bare.getMany(['envelope', 'own']);
    expect(bare.peek('envelope')).toBeDefined(); // nothing told it when the value expires
    const told = new TieredStore(shared, { bus: null, expiryOf: (value) => (value as { until?: number }).until });
    await told.getMany(['envelope', 'own']);
    expect(told.peek('own')).toBeUndefined();
    expect(told.peek('envelope')).toBeDefined();
  });

  it('caps every entry at maxAgeMs', async () => {
    const tier = createTieredStore(createMemoryStore(), { bus: null, maxAgeMs: 30 });
    await tier.set('k', 'v', undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(tier.peek('k')).toBeUndefined();
    expect(await tier.get('k')).toBe('v');
  });

  it('stays within its byte budget', async () => {
    const tier = createTieredStore(createMemoryStore(), { bus: null, maxBytes: 64 * 1024 });
    for (let i = 0; i < 2_000; i += 1) await tier.set(`k${i}`, 'x'.repeat(500), undefined);
    const stats = tier.tierStats();
    expect(stats.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(stats.entries).toBeGreaterThan(10);
    expect(tier.peek('k1999')).toBeDefined();
    expect(tier.peek('k0')).toBeUndefined();
    expect(await tier.get('k0')).toBe('x'.repeat(500)); // still in the shared store
  });

  it('refuses to be built without deciding about a bus', () => {
    expect(() => createTieredStore(createMemoryStore(), {} as never)).toThrow(/needs a "bus"/);
  });
});

describe('first tiers in several processes', () => {
  it('a write in one process drops the key from the others', async () => {
    const { a, b } = twoProcesses();
    await a.set('k', 'old', undefined);
    expect(await b.get('k')).toBe('old');
    expect(b.peek('k')).toBe('old');
    await a.set('k', 'new', undefined);
    expect(b.peek('k')).toBeUndefined();
    expect(await b.get('k')).toBe('new');
  });

  it('deletes, many-writes and clears reach the other processes', async () => {
    const { a, b } = twoProcesses();
    await a.setMany([{ key: 'x', value: 1, ttlMs: undefined }, { key: 'y', value: 2, ttlMs: undefined }]);
    await b.getMany(['x', 'y']);
    await a.delete('x');
    expect(b.peek('x')).toBeUndefined();
    expect(b.peek('y')).toBe(2);
    await a.deleteMany(['y']);
    expect(b.peek('y')).toBeUndefined();
    await a.set('z', 3, undefined);
    await b.get('z');
    await a.clear();
    expect(b.tierStats().entries).toBe(0);
    expect(await b.get('z')).toBeUndefined();
  });

  it('tag invalidation and version bumps in one process make every other one miss (O(1): one key each)', async () => {
    const { a, b, busA } = twoProcesses();
    const cacheA = createCache({ store: a });
    const cacheB = createCache({ store: b });
    let renders = 0;
    const render = () => `<p>${++renders}</p>`;
    expect((await cacheB.fetch('post', render, { tags: ['posts'] })).value).toBe('<p>1</p>');
    expect((await cacheB.fetch('post', render, { tags: ['posts'] })).status).toBe('hit');
    busA.published = [];
    await cacheA.invalidateTags(['posts']);
    expect(busA.published).toEqual([{ keys: [cacheA.makeKey('tag:posts')] }]);
    expect((await cacheB.fetch('post', render, { tags: ['posts'] })).value).toBe('<p>2</p>');

    await cacheB.set('view', 'v1');
    expect(await cacheB.get('view')).toBe('v1');
    await cacheA.incrVersion('view');
    expect(await cacheB.get('view')).toBeUndefined();
    expect(await cacheB.get('view', undefined, 2)).toBe('v1');
  });

  it('a read that overlapped another process\'s write does not fill the tier with the old value', async () => {
    const slow = gated();
    const { a, b } = twoProcesses(slow.store);
    await a.set('k', 'old', undefined);
    const reading = b.get('k'); // reaches the server, reads "old", answer still on its way
    await new Promise((resolve) => setTimeout(resolve, 5));
    await a.set('k', 'new', undefined); // written and published before B's answer arrives
    await slow.release();
    expect(await reading).toBe('old'); // that answer was right when it was read…
    expect(b.peek('k')).toBeUndefined(); // …but is not kept
    const again = b.get('k');
    await slow.release();
    expect(await again).toBe('new');
    expect(b.peek('k')).toBe('new');
  });

  it('a read that overlapped this process\'s own write does not overwrite it', async () => {
    const inner = createMemoryStore();
    await inner.set('k', 'old', undefined);
    const gate = gated(inner, { get: 'after', set: 'before' });
    const tier = createTieredStore(gate.store, { bus: null });
    const writing = tier.set('k', 'new', undefined); // on its way to the server
    await gate.tick();
    const reading = tier.get('k'); // overtakes it: reads "old", the answer is held
    await gate.tick();
    await gate.release('set');
    await writing;
    expect(tier.peek('k')).toBe('new');
    await gate.release('get');
    expect(await reading).toBe('old');
    expect(tier.peek('k')).toBe('new');
  });

  it('a write whose key another process wrote meanwhile is not kept (which one won is unknown)', async () => {
    const gate = gated(createMemoryStore(), { get: false, set: 'after' });
    const { a, b } = twoProcesses(gate.store);
    const writingA = a.set('k', 'A', undefined); // lands first; A has not heard back
    await gate.tick();
    const writingB = b.set('k', 'B', undefined); // lands second…
    await gate.tick();
    await gate.release('set', 'newest'); // …and B hears back first and publishes to A
    await writingB;
    await gate.release('set');
    await writingA;
    expect(a.peek('k')).toBeUndefined();
    expect(await a.get('k')).toBe('B');
    expect(a.peek('k')).toBe('B');
  });

  it('while the bus is down nothing is served from the tier; it starts empty when the bus is back', async () => {
    const { a, b, busB } = twoProcesses();
    await a.set('k', 'v1', undefined);
    await b.get('k');
    busB.down();
    expect(b.peek('k')).toBeUndefined();
    await a.set('k', 'v2', undefined); // B misses this message
    expect(await b.get('k')).toBe('v2'); // from the shared store
    expect(b.peek('k')).toBeUndefined(); // and not kept while down
    busB.up();
    expect(b.tierStats()).toMatchObject({ live: true, entries: 0 });
    expect(await b.get('k')).toBe('v2');
    expect(b.peek('k')).toBe('v2');
  });

  it('a read that started before the bus came back does not fill the tier', async () => {
    const slow = gated();
    const { a, b, busB } = twoProcesses(slow.store);
    await a.set('k', 'v1', undefined);
    busB.down();
    const reading = b.get('k');
    await new Promise((resolve) => setTimeout(resolve, 5));
    busB.up();
    await slow.release();
    await reading;
    expect(b.peek('k')).toBeUndefined();
  });

  it('a write that fails is still announced: it may have landed', async () => {
    const inner = createMemoryStore();
    const flaky: Store = {
      ...inner, kind: 'flaky', setMany: async (entries) => (await inner.setMany(entries), Promise.reject(new Error('reply lost'))),
      get: (k) => inner.get(k), getMany: (ks) => inner.getMany(ks), set: (k, v, t) => inner.set(k, v, t), delete: (k) => inner.delete(k), deleteMany: (ks) => inner.deleteMany(ks), clear: () => inner.clear(), close: () => inner.close(),
    };
    const { a, b } = twoProcesses(flaky);
    await inner.set('k', 'old', undefined);
    expect(await b.get('k')).toBe('old');
    await expect(a.set('k', 'new', undefined)).rejects.toThrow(/reply lost/);
    expect(b.peek('k')).toBeUndefined();
    expect(await b.get('k')).toBe('new');
  });

  it('a failed publish fails the write (the value is stored; the bus sends it again later)', async () => {
    const { a, b, busA } = twoProcesses();
    busA.failPublish = true;
    await expect(a.set('k', 'v', undefined)).rejects.toThrow(/publish failed/);
    expect(await b.get('k')).toBe('v');
  });

  it('emits the invalidations it applies, and its bus state', async () => {
    const { a, b, busB } = twoProcesses();
    const seen: unknown[] = [];
    (b as TieredStore).on('invalidate', (message) => seen.push(message));
    (b as TieredStore).on('down', () => seen.push('down'));
    (b as TieredStore).on('up', () => seen.push('up'));
    await a.set('k', 1, undefined);
    await a.clear();
    busB.down();
    busB.up();
    expect(seen).toEqual([{ keys: ['k'] }, 'clear', 'down', 'up']);
  });
});

describe('caches over one tiered store', () => {
  it('remove the invalidation listener they added when they close', async () => {
    const tier = createTieredStore(createMemoryStore(), { bus: null });
    const caches = Array.from({ length: 30 }, () => createCache({ store: tier }));
    expect(tier.listenerCount('invalidate')).toBe(30);
    for (const cache of caches) await cache.close();
    expect(tier.listenerCount('invalidate')).toBe(0);
  });
});
