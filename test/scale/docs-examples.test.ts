/**
 * The code shown in docs/scaling.md, run: each block there equals a region of this file (checked
 * at the end), so the page cannot drift from what works.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { blocksOf, sourceFor } from '../docs/support/docs.js';
import { POSTGRES_URL, REDIS_URL, announceSkip, uniquePrefix } from '../support/env.js';
import { createCache, type Cache } from '../../src/index.js';
import { createRedisBus, createRedisLock, createRedisStore, createStore, createTieredStore, type DistributedLock, type StoreTypes } from '../../src/stores.js';

const open: Cache[] = [];
const locks: DistributedLock[] = [];
afterAll(async () => {
  for (const cache of open) {
    await cache.clear();
    await cache.close();
  }
  await Promise.all(locks.map((lock) => lock.close()));
});

if (REDIS_URL === undefined) announceSkip('scaling examples (Redis)', 'REDIS_URL');

describe.runIf(REDIS_URL !== undefined)('docs/scaling.md examples (Redis)', () => {
  it('url: a first tier and the lock, from URLs', async () => {
    process.env.CACHE_URL = REDIS_URL;
    // #region url
    const url = process.env.CACHE_URL ?? 'redis://127.0.0.1:6379/0';
    const lock = createRedisLock(url); // a cold fragment renders once across all processes
    const cache = createCache({
      store: `${url}?tier=memory&tierBytes=33554432`, // 32 MiB first tier, coherent over pub/sub
      lock,
      keyPrefix: 'blog',
    });
    // …and on shutdown: await cache.close(); await lock.close();
    // #endregion
    open.push(cache);
    locks.push(lock);
    await cache.connect();
    expect(cache.store.kind).toBe('memory+redis');
    expect((await cache.fetch('k', () => 'v')).status).toBe('miss');
    expect((await cache.fetch('k', () => 'w')).value).toBe('v');
  });

  it('explicit: the same, built piece by piece', async () => {
    const url = REDIS_URL as string;
    // #region explicit
    const shared = createRedisStore({ url, namespace: 'njkc' });
    const store = createTieredStore(shared, {
      bus: createRedisBus(url, { channel: 'njkc:invalidate:0' }), // every process: the same channel
      maxBytes: 32 * 1024 * 1024,
      maxAgeMs: 60_000, // optional: no entry older than a minute, whatever happens to messages
    });
    const lock = createRedisLock(url);
    const cache = createCache({ store, lock, lockWaitMs: 5_000, keyPrefix: 'blog' });
    const shutdown = async () => {
      await cache.close(); // the store, its first tier and the bus
      await lock.close(); // the lock is yours to close
    };
    // #endregion
    try {
      await cache.connect();
      await cache.set('k', 'v');
      expect(store.peek(cache.makeKey('k'))).toMatchObject({ v: 'v' });
    } finally {
      await shutdown();
    }
  });

  it('observe: what the first tier is doing', async () => {
    const url = REDIS_URL as string;
    const cache = createCache({ store: `${url}?tier=memory`, keyPrefix: uniquePrefix('observe') });
    open.push(cache);
    await cache.connect();
    const lines: string[] = [];
    const log = { info: (...args: unknown[]) => lines.push(args.join(' ')), warn: (...args: unknown[]) => lines.push(args.join(' ')) };
    // #region observe
    const tier = cache.store as StoreTypes.TieredStore;
    tier.on('down', (reason) => log.warn('first tier off until the bus is back:', String(reason)));
    tier.on('up', () => log.info('first tier on again (emptied)'));
    const { live, entries, bytes, hits, misses, invalidations } = tier.tierStats();
    // #endregion
    expect(live).toBe(true);
    expect([entries, bytes, hits, misses, invalidations].every((n) => typeof n === 'number')).toBe(true);
  });
});

if (POSTGRES_URL === undefined) announceSkip('scaling examples (PostgreSQL)', 'POSTGRES_URL');

describe.runIf(POSTGRES_URL !== undefined)('docs/scaling.md examples (PostgreSQL)', () => {
  it('postgres: the database cache, with a first tier kept coherent by LISTEN/NOTIFY', async () => {
    process.env.DATABASE_URL = POSTGRES_URL;
    // #region postgres
    const store = createStore(`${process.env.DATABASE_URL}?table=njkc_cache&tier=memory`);
    await store.createTable?.(); // or: npx njk-cache create-table --store "$DATABASE_URL?table=njkc_cache"
    const cache = createCache({ store });
    const shutdown = () => cache.close(); // the pool, the first tier and the LISTEN connection
    // #endregion
    try {
      await cache.connect();
      expect(store.kind).toBe('memory+postgres');
      await cache.set('k', 'v');
      expect(await cache.get('k')).toBe('v');
    } finally {
      await shutdown();
    }
  });
});

describe('docs/scaling.md', () => {
  it('shows every TypeScript example exactly as it is tested', () => {
    const blocks = blocksOf('scaling.md').filter((b) => b.lang === 'ts');
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      expect(block.marker?.kind, `scaling.md:${block.line} needs an <!-- example: … --> marker`).toBe('example');
      expect(block.text).toBe(sourceFor(block.marker?.ref ?? ''));
    }
  });
});
