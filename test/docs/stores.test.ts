/**
 * docs/stores.md: each store form configured as the page shows, and the behaviour it describes.
 */
import { join } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { Keyv } from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache, StoreSpecError } from '../../src/index.js';
import { createMemoryStore, createRedisStore, createSqliteStore, createStore, type Store } from '../../src/stores.js';
import { ManualClock } from '../../src/testing.js';
import { REDIS_URL, announceSkip } from '../support/env.js';
import { docOutput, enterSite } from './support/docs.js';
import { captureLog, runExample } from './support/run.js';

let site: ReturnType<typeof enterSite>;
beforeAll(() => {
  site = enterSite();
});
afterAll(() => site.leave());

describe('URL forms', () => {
  it.each([
    ['memory', 'memory'],
    ['memory://?maxBytes=16777216', 'memory'],
    ['sqlite://cache.db', 'sqlite'],
    ['sqlite://:memory:', 'sqlite'],
    ['sqlite://cache.db?table=page_cache', 'sqlite'],
  ])('%s stores and reads back', async (url, kind) => {
    const cache = createCache({ store: url });
    expect(cache.store.kind).toBe(kind);
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    await cache.close();
  });

  it('sqlite:/// takes an absolute path', async () => {
    const cache = createCache({ store: `sqlite://${join(site.dir, 'abs.db')}` });
    await cache.set('k', 'v');
    await cache.close();
    const again = createCache({ store: createSqliteStore({ path: join(site.dir, 'abs.db') }) });
    expect(await again.get('k')).toBe('v');
    await again.close();
  });

  it('rejects what it cannot use, naming the forms it accepts', () => {
    expect(() => createStore('memcached://127.0.0.1:11211')).toThrow(StoreSpecError);
    expect(() => createStore('memcached://127.0.0.1:11211')).toThrow(docOutput('store-unknown-url'));
  });
});

describe('memory store', () => {
  it('is bounded by bytes and reports its usage', async () => {
    const output = await captureLog(async () => {
      // #region memory
      const cache = createCache({ store: createMemoryStore({ maxBytes: 1024 * 1024 }) }); // 1 MiB
      for (let i = 0; i < 10_000; i++) await cache.set(`row:${i}`, 'x'.repeat(100));
      const { entries, bytes, maxBytes } = await cache.usage();
      console.log(entries! < 10_000, bytes! <= maxBytes!); // true true: the oldest rows were evicted
      console.log(await cache.has('row:0'), await cache.has('row:9999')); // false true
      // #endregion
    });
    expect(output).toBe(docOutput('memory'));
  });
});

describe('sqlite store', () => {
  it('creates its table, is shared by caches on one file, sweeps expired rows', async () => {
    const output = await captureLog(async () => {
      // #region sqlite
      const store = createSqliteStore({ path: 'cache.db', table: 'njkc_cache', sweepIntervalMs: 60_000 });
      await store.createTable!(); // Django's createcachetable; also done on first use

      const web = createCache({ store });
      const worker = createCache({ store: 'sqlite://cache.db' }); // another process on this host
      await worker.set('report', { total: 42 }, 3600);
      console.log(await web.get('report')); // { total: 42 }

      await web.set('short', 'lived', 0.05);
      await new Promise((resolve) => setTimeout(resolve, 100));
      console.log(await store.sweep!(), 'expired row deleted'); // the timer does this every minute
      await web.close(); // closes the store (and its timer) too
      await worker.close();
      // #endregion
    });
    expect(output).toBe(docOutput('sqlite'));
  });
});

describe.skipIf(REDIS_URL === undefined)('redis store', () => {
  if (REDIS_URL === undefined) announceSkip('docs Redis examples', 'REDIS_URL');

  it('connects from a URL, and a namespace keeps clear() to its own keys', async () => {
    const output = await captureLog(async () => {
      // #region redis
      const cache = createCache({ store: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0' });
      await cache.connect(); // optional: wait for the connection at start-up (rejects after 5 s)

      const shop = createCache({ store: createRedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', namespace: 'shop' }) });
      await cache.set('greeting', 'hello');
      await shop.set('greeting', 'bonjour');
      await shop.clear(); // removes only the shop namespace's keys
      console.log(await cache.get('greeting'), await shop.get('greeting')); // hello undefined
      await cache.delete('greeting');
      await cache.close(); // a script that does not close its Redis connection never exits
      await shop.close();
      // #endregion
    });
    expect(output).toBe(docOutput('redis'));
  });
});

describe('namespaces and clear()', () => {
  it('keyPrefix separates keys, but clear() empties the whole store namespace', async () => {
    const output = await captureLog(async () => {
      // #region clear
      const store = createStore('sqlite://shared.db');
      const blog = createCache({ store, keyPrefix: 'blog' });
      const shop = createCache({ store, keyPrefix: 'shop' });
      await blog.set('home', 'blog home');
      await shop.set('home', 'shop home');
      console.log(await blog.get('home'), '/', await shop.get('home')); // separate keys
      await blog.clear();
      console.log(await shop.get('home')); // undefined: clear() emptied the "njkc" namespace
      await blog.close(); // closes the shared store: close it once, when both are done
      // #endregion
    });
    expect(output).toBe(docOutput('clear'));
  });
});

describe('any Keyv store, or a Store of your own', () => {
  it('takes a Keyv instance with its own adapter and namespace', async () => {
    // #region keyv
    const keyv = new Keyv({ store: new KeyvSqlite('sqlite://other.db'), namespace: 'app' });
    const cache = createCache({ store: keyv });
    await cache.set('k', 'v');
    await cache.close(); // disconnects the Keyv
    // #endregion
    expect(cache.store.kind).toBe('keyv');
    const again = createCache({ store: new Keyv({ store: new KeyvSqlite('sqlite://other.db'), namespace: 'app' }) });
    expect(await again.get('k')).toBe('v');
    await again.close();
  });

  it('takes an object implementing Store: a dummy store that keeps nothing', async () => {
    // #region dummy
    const dummy: Store = {
      kind: 'dummy', // Django's DummyCache: every lookup misses, every write is dropped
      get: async () => undefined,
      getMany: async (keys) => keys.map(() => undefined),
      set: async () => {},
      setMany: async () => {},
      delete: async () => false,
      deleteMany: async () => {},
      clear: async () => {},
      close: async () => {},
    };
    const cache = createCache({ store: dummy });
    // #endregion
    let calls = 0;
    await cache.getOrSet('k', () => ++calls);
    await cache.getOrSet('k', () => ++calls);
    expect(calls).toBe(2);
    expect(await cache.set('k', 1)).toBe(true);
    expect(await cache.get('k')).toBeUndefined();
  });
});

describe('operating', () => {
  it('failing store: pages render, errors are events, the breaker opens and probes', async () => {
    const { output } = await runExample('store-down');
    expect(output).toBe(docOutput('store-down'));
  });

  it('events and stats', async () => {
    const { output } = await runExample('events');
    expect(output).toBe(docOutput('events'));
  });

  it('failOpen: false makes store errors throw', async () => {
    const refuse = async (): Promise<never> => {
      throw new Error('down');
    };
    const down: Store = { kind: 'down', get: refuse, getMany: refuse, set: refuse, setMany: refuse, delete: refuse, deleteMany: refuse, clear: refuse, close: async () => {} };
    const strict = createCache({ store: down, failOpen: false, clock: new ManualClock() });
    await expect(strict.get('k')).rejects.toThrow('down');
  });
});
