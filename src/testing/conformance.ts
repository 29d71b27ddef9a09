/**
 * The store conformance suite: the same behaviour, through the cache, on every store. Each
 * store's test file is a few lines that call `describeStoreConformance` with a factory; the
 * author of a store of their own runs it the same way (as Keyv's adapters run @keyv/test-suite):
 *
 *     import * as vitest from 'vitest';
 *     import { describeStoreConformance } from 'nunjucks-fragment-cache/testing';
 *     describeStoreConformance(vitest, 'my store', { makeStore: () => createMyStore() });
 *
 * The test runner is a parameter, so importing `./testing` never loads one: any runner with
 * `describe`, `it`, `afterEach` and a Jest-style `expect` (vitest, Jest) will do.
 */
import nunjucks from 'nunjucks';
import { CacheError } from '../contracts/errors.js';
import type { Store } from '../contracts/store.js';
import { createCache } from '../compose/create-cache.js';
import type { Cache } from '../core/cache.js';
import type { CacheOptions } from '../core/options.js';
import { installCache } from '../nunjucks/install.js';
import { render } from '../nunjucks/render.js';
import { ManualClock } from './manual-clock.js';

/** The assertions the suite makes, as vitest's and Jest's `expect` provide them. */
export interface ConformanceAssertion {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toBeUndefined(): void;
  toMatchObject(expected: object): void;
  readonly rejects: {
    toThrow(expected: RegExp): Promise<void>;
    toMatchObject(expected: object): Promise<void>;
    toBeInstanceOf(expected: abstract new (...args: never[]) => unknown): Promise<void>;
  };
}

/** The test runner the suite registers its tests with: `import * as vitest from 'vitest'` is one. */
export interface ConformanceTestApi {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
  afterEach(body: () => Promise<void>): unknown;
  expect(actual: unknown): ConformanceAssertion;
}

export interface ConformanceOptions {
  /** Builds a fresh store for one test. */
  makeStore: () => Store | Promise<Store>;
  /**
   * Write `text` as the raw stored text of `storedKey` (a key from `cache.makeKey`), with the
   * backend's own client, as another program writing under our namespace would. Optional: the
   * test of unreadable stored text runs only with it.
   */
  writeRaw?: (store: Store, storedKey: string, text: string) => Promise<void>;
}

/** Templates by name, for the suite's one template render. */
function templates(sources: Record<string, string>): nunjucks.ILoader {
  return {
    getSource: (name: string) => {
      const src = sources[name];
      if (src === undefined) throw new CacheError('ERR_CACHE_OPTIONS', `conformance suite: no template "${name}"`);
      return { src, path: name, noCache: true };
    },
  };
}

/**
 * Register the conformance tests for the stores `options.makeStore` builds, under
 * `store conformance: NAME`, with the test runner `test`.
 */
export function describeStoreConformance(test: ConformanceTestApi, name: string, options: ConformanceOptions): void {
  const { describe, it, afterEach, expect } = test;
  describe(`store conformance: ${name}`, () => {
    const open: Cache[] = [];
    let counter = 0;
    const make = async (extra: Omit<CacheOptions, 'store'> = {}): Promise<Cache> => {
      const store = await options.makeStore();
      counter += 1;
      const cache = createCache({ keyPrefix: `c${process.pid}x${Date.now().toString(36)}x${counter}`, ...extra, store });
      open.push(cache);
      return cache;
    };
    afterEach(async () => {
      for (const cache of open.splice(0)) {
        await cache.clear().catch(() => {});
        await cache.close();
      }
    });

    describe('basic values', () => {
      it('returns undefined, or the default, for a key never set', async () => {
        const cache = await make();
        expect(await cache.get('absent')).toBeUndefined();
        expect(await cache.get('absent', 'fallback')).toBe('fallback');
      });

      for (const [label, value] of [
        ['a string', 'hello <b>world</b>'],
        ['the empty string', ''],
        ['zero', 0],
        ['a float', 3.25],
        ['false', false],
        ['true', true],
        ['null', null],
        ['an array', [1, 'two', null, { three: 3 }]],
        ['a plain object', { a: 1, nested: { b: [true, false] }, s: 'x' }],
        ['unicode text', 'héllo — 日本語 🎉'],
      ] as const) {
        it(`round-trips ${label}`, async () => {
          const cache = await make();
          await cache.set('k', value);
          expect(await cache.get('k', 'MISSING')).toEqual(value);
        });
      }

      it('keeps an empty string distinct from a miss', async () => {
        const cache = await make();
        await cache.set('empty', '');
        expect(await cache.has('empty')).toBe(true);
        expect(await cache.get('empty', 'MISSING')).toBe('');
      });

      it('refuses undefined as a value, with advice', async () => {
        const cache = await make();
        await expect(cache.set('k', undefined)).rejects.toThrow(/store null instead/);
      });
    });

    describe('values Keyv escapes', () => {
      it('reads back strings that start with ":" (at any depth) exactly', async () => {
        const cache = await make();
        const values = [':one', '::two', ':base64:AAAA', { a: ':x', b: [':y', 'z'] }, 'plain "quoted": text'];
        await cache.setMany(Object.fromEntries(values.map((value, i) => [`v${i}`, value])));
        for (const [i, value] of values.entries()) expect(await cache.get(`v${i}`)).toEqual(value);
        expect((await cache.fetch('v0', () => 'never')).value).toBe(':one');
      });
    });

    describe('keys', () => {
      for (const [label, key] of [
        ['a 1000-character key', 'k'.repeat(1000)],
        ['a key with spaces', 'a key with spaces'],
        ['a key with control characters', 'tab\there\nnewline\u0000nul'],
        ['a unicode key', 'ключ/鍵/🔑'],
        ['a key starting with #', '#hash'],
        ['a key with colons', 'a:b:c'],
      ] as const) {
        it(`stores and finds ${label}`, async () => {
          const cache = await make();
          await cache.set(key, 'value');
          expect(await cache.get(key)).toBe('value');
          expect(await cache.delete(key)).toBe(true);
          expect(await cache.get(key)).toBeUndefined();
        });
      }

      it('keeps long keys that differ only at the end apart', async () => {
        const cache = await make();
        const base = 'x'.repeat(500);
        await cache.set(`${base}1`, 'one');
        await cache.set(`${base}2`, 'two');
        expect(await cache.get(`${base}1`)).toBe('one');
        expect(await cache.get(`${base}2`)).toBe('two');
      });

      it('keeps caches with different key prefixes apart', async () => {
        const a = await make({ keyPrefix: `pa${counter}` });
        const b = await make({ keyPrefix: `pb${counter}` });
        await a.set('k', 'from a');
        expect(await b.get('k')).toBeUndefined();
      });
    });

    describe('expiry', () => {
      it('does not serve an entry past its TTL (fake clock)', async () => {
        const clock = new ManualClock();
        const cache = await make({ clock });
        await cache.set('k', 'v', 10);
        clock.advance(9);
        expect(await cache.get('k')).toBe('v');
        clock.advance(2);
        expect(await cache.get('k')).toBeUndefined();
      });

      it('uses the default TTL of 300 s when none is given', async () => {
        const clock = new ManualClock();
        const cache = await make({ clock });
        await cache.set('k', 'v');
        clock.advance(299);
        expect(await cache.get('k')).toBe('v');
        clock.advance(2);
        expect(await cache.get('k')).toBeUndefined();
      });

      it('keeps an entry with a null TTL forever', async () => {
        const clock = new ManualClock();
        const cache = await make({ clock });
        await cache.set('k', 'v', null);
        clock.advance(10 * 365 * 24 * 3600);
        expect(await cache.get('k')).toBe('v');
      });

      for (const ttl of [0, -1]) {
        it(`does not store with a TTL of ${ttl}, and removes what was there`, async () => {
          const cache = await make();
          await cache.set('k', 'old');
          expect(await cache.set('k', 'new', ttl)).toBe(false);
          expect(await cache.get('k')).toBeUndefined();
        });
      }

      it('lets the store itself drop the entry after its TTL (real time)', async () => {
        const cache = await make();
        await cache.set('k', 'v', 0.2);
        expect(await cache.get('k')).toBe('v');
        await new Promise((resolve) => setTimeout(resolve, 350));
        expect(await cache.get('k')).toBeUndefined();
      });

      it('touch gives an existing key a new TTL and reports a missing one', async () => {
        const clock = new ManualClock();
        const cache = await make({ clock });
        await cache.set('k', 'v', 10);
        clock.advance(8);
        expect(await cache.touch('k', 10)).toBe(true);
        clock.advance(8);
        expect(await cache.get('k')).toBe('v');
        expect(await cache.touch('absent', 10)).toBe(false);
      });
    });

    describe('add and getOrSet', () => {
      it('add stores only when absent', async () => {
        const cache = await make();
        expect(await cache.add('k', 'first')).toBe(true);
        expect(await cache.add('k', 'second')).toBe(false);
        expect(await cache.get('k')).toBe('first');
      });

      it('add stores again once the old entry expired', async () => {
        const clock = new ManualClock();
        const cache = await make({ clock });
        await cache.add('k', 'first', 5);
        clock.advance(6);
        expect(await cache.add('k', 'second', 5)).toBe(true);
        expect(await cache.get('k')).toBe('second');
      });

      it('getOrSet calls the producer only on a miss', async () => {
        const cache = await make();
        let calls = 0;
        const produce = async () => {
          calls += 1;
          return { n: calls };
        };
        expect(await cache.getOrSet('k', produce, 60)).toEqual({ n: 1 });
        expect(await cache.getOrSet('k', produce, 60)).toEqual({ n: 1 });
        expect(calls).toBe(1);
        expect(await cache.getOrSet('plain', 'value')).toBe('value');
      });

      it('getOrSet runs the producer once for 50 concurrent misses', async () => {
        const cache = await make();
        let calls = 0;
        const produce = async () => {
          calls += 1;
          await new Promise((resolve) => setTimeout(resolve, 20));
          return 'v';
        };
        const results = await Promise.all(Array.from({ length: 50 }, () => cache.getOrSet('k', produce)));
        expect(new Set(results)).toEqual(new Set(['v']));
        expect(calls).toBe(1);
      });
    });

    describe('many at once', () => {
      it('setMany, getMany and deleteMany work on several keys', async () => {
        const cache = await make();
        expect(await cache.setMany({ a: 1, b: 'two', c: null })).toEqual([]);
        const found = await cache.getMany(['a', 'b', 'c', 'absent']);
        expect(found).toEqual(new Map<string, unknown>([['a', 1], ['b', 'two'], ['c', null]]));
        await cache.deleteMany(['a', 'b']);
        expect(await cache.getMany(['a', 'b', 'c'])).toEqual(new Map([['c', null]]));
      });

      it('answers lookups made in the same tick from one batch, each with its own value', async () => {
        const cache = await make();
        const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
        expect(await cache.setMany(Object.fromEntries(keys.map((key, i) => [key, i])), 60)).toEqual([]);
        await cache.set('tagged', 'T', 60, { tags: ['batch-tag'] });
        const lookups = [...keys, 'absent', 'k7', 'tagged'].map((key) => cache.get(key, 'MISS'));
        const fetched = cache.fetch('tagged', () => 'new', { ttl: 60, tags: ['batch-tag'] });
        expect(await Promise.all(lookups)).toEqual([...keys.map((_, i) => i), 'MISS', 7, 'T']);
        expect((await fetched).value).toBe('T');
        expect((await cache.getMany(keys)).size).toBe(300);
        await cache.invalidateTags(['batch-tag']);
        expect(await Promise.all([cache.get('tagged', 'MISS'), cache.get('k1')])).toEqual(['MISS', 1]);
      });

      it('renders a loop of cached fragments warm from one prefetch, and an invalidation in between is seen', async () => {
        const cache = await make();
        const loader = templates({ list: '{% for p in posts %}{% cache 60 card p.id tags=["p" + p.id] %}<{{ p.t }}{{ seen(p) }}>{% endcache %}{% endfor %}' });
        const env = installCache(new nunjucks.Environment(loader, { autoescape: true }), cache);
        const posts = Array.from({ length: 20 }, (_, i) => ({ id: i, t: `p${i}` }));
        let bodies = 0;
        const seen = () => ((bodies += 1), '');
        const cold = await render(env, 'list', { posts, seen });
        await render(env, 'list', { posts, seen });
        bodies = 0;
        expect(await render(env, 'list', { posts, seen })).toBe(cold);
        expect(bodies).toBe(0);
        await cache.invalidateTags(['p5']);
        await cache.invalidateFragment('card', [9]);
        expect(await render(env, 'list', { posts, seen })).toBe(cold);
        expect(bodies).toBe(2);
      });

      it('delete reports whether something was removed', async () => {
        const cache = await make();
        await cache.set('k', 'v');
        expect(await cache.delete('k')).toBe(true);
        expect(await cache.has('k')).toBe(false);
      });

      it('clear removes every entry of the cache', async () => {
        const cache = await make();
        await cache.setMany({ a: 1, b: 2 });
        await cache.clear();
        expect(await cache.getMany(['a', 'b'])).toEqual(new Map());
      });
    });

    describe('incr and decr', () => {
      it('adds to a stored number', async () => {
        const cache = await make();
        await cache.set('n', 10);
        expect(await cache.incr('n')).toBe(11);
        expect(await cache.incr('n', 5)).toBe(16);
        expect(await cache.decr('n', 6)).toBe(10);
        expect(await cache.get('n')).toBe(10);
      });

      it('throws ERR_CACHE_MISSING_KEY for a missing key, like Django', async () => {
        const cache = await make();
        await expect(cache.incr('absent')).rejects.toMatchObject({ code: 'ERR_CACHE_MISSING_KEY' });
        await expect(cache.incr('absent')).rejects.toBeInstanceOf(CacheError);
      });

      it('throws ERR_CACHE_NOT_A_NUMBER for a non-number', async () => {
        const cache = await make();
        await cache.set('s', 'text');
        await expect(cache.incr('s')).rejects.toMatchObject({ code: 'ERR_CACHE_NOT_A_NUMBER' });
      });

      it('keeps the remaining TTL', async () => {
        const clock = new ManualClock();
        const cache = await make({ clock });
        await cache.set('n', 1, 10);
        clock.advance(5);
        await cache.incr('n');
        clock.advance(6);
        expect(await cache.get('n')).toBeUndefined();
      });
    });

    describe('versions', () => {
      it('incrVersion moves a key to the next version; the old version misses', async () => {
        const cache = await make();
        await cache.set('k', 'v');
        expect(await cache.incrVersion('k')).toBe(2);
        expect(await cache.get('k')).toBeUndefined();
        expect(await cache.get('k', undefined, 2)).toBe('v');
        expect(await cache.decrVersion('k', 1, 2)).toBe(1);
        expect(await cache.get('k')).toBe('v');
      });

      it('incrVersion of a missing key throws ERR_CACHE_MISSING_KEY', async () => {
        const cache = await make();
        await expect(cache.incrVersion('absent')).rejects.toMatchObject({ code: 'ERR_CACHE_MISSING_KEY' });
      });

      it('a cache at another version does not see the entries', async () => {
        const v1 = await make({ version: 1 });
        await v1.set('k', 'v');
        expect(await v1.get('k', undefined, 2)).toBeUndefined();
      });
    });

    describe('tags', () => {
      it('invalidateTags makes every entry carrying the tag miss, and only those', async () => {
        const cache = await make();
        await cache.set('a', 1, 60, { tags: ['posts'] });
        await cache.set('b', 2, 60, { tags: ['posts', 'authors'] });
        await cache.set('c', 3, 60, { tags: ['authors'] });
        await cache.invalidateTags(['posts']);
        expect(await cache.getMany(['a', 'b', 'c'])).toEqual(new Map([['c', 3]]));
        await cache.set('a', 10, 60, { tags: ['posts'] });
        expect(await cache.get('a')).toBe(10);
      });

      it('getOrSet with tags re-produces after the tag is invalidated', async () => {
        const cache = await make();
        let calls = 0;
        const produce = () => ++calls;
        await cache.getOrSet('k', produce, 60, { tags: ['t'] });
        await cache.getOrSet('k', produce, 60, { tags: ['t'] });
        await cache.invalidateTags(['t']);
        expect(await cache.getOrSet('k', produce, 60, { tags: ['t'] })).toBe(2);
      });
    });

    describe('foreign and corrupt values', () => {
      it('reads a value it did not write as a miss, counts it, and replaces it', async () => {
        const cache = await make();
        const raw = cache.store;
        await raw.set(cache.makeKey('k'), 'written by something else', undefined);
        await raw.set(cache.makeKey('j'), { njkc: 1, v: 'x', exp: 'tomorrow' }, undefined);
        expect(await cache.get('k', 'MISS')).toBe('MISS');
        expect(await cache.get('j', 'MISS')).toBe('MISS');
        expect(cache.stats().corrupt).toBe(2);
        await cache.set('k', 'ours');
        expect(await cache.get('k')).toBe('ours');
      });

      const writeRaw = options.writeRaw;
      if (writeRaw !== undefined) {
        it('reads a stored text that is not JSON as a miss counted in stats().corrupt, not as a store error', async () => {
          const lenient = await make({ breaker: { failureThreshold: 2, cooldownMs: 60_000 } });
          const strict = await make({ failOpen: false });
          const errors: unknown[] = [];
          lenient.on('error', ({ error }) => errors.push(error));
          for (const cache of [lenient, strict]) {
            await writeRaw(cache.store, cache.makeKey('k'), 'not json {');
            await writeRaw(cache.store, cache.makeKey('n'), '42');
          }
          // more reads than the breaker's threshold: it must stay closed
          for (let i = 0; i < 6; i += 1) expect(await lenient.get('k', 'MISS')).toBe('MISS');
          expect(await lenient.getOrSet('n', () => 'made', 60)).toBe('made');
          expect(lenient.stats()).toMatchObject({ corrupt: 7, errors: 0, circuit: 'closed' });
          expect(errors).toEqual([]);
          // failOpen: false throws store errors, but this is not one
          expect(await strict.get('k', 'MISS')).toBe('MISS');
          expect((await strict.getMany(['k', 'n'])).size).toBe(0);
          await expect(strict.incr('n')).rejects.toMatchObject({ code: 'ERR_CACHE_MISSING_KEY' });
          expect(strict.stats().corrupt).toBe(4);
          await strict.set('k', 'ours');
          expect(await strict.get('k')).toBe('ours');
        });
      }
    });
  });
}
