import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as vitest from 'vitest';
import { createCache } from '../../src/index.js';
import { createRedisLock, createRedisStore, createStore, type Store } from '../../src/stores.js';
import { describeLock } from '../scale/support/lock-suite.js';
import { RedisCluster, hasRedisCluster } from '../scale/support/redis-cluster.js';
import { describeStoreConformance } from '../../src/testing.js';

if (!hasRedisCluster) console.warn('\n[skip] Redis Cluster tests skipped: redis-server or redis-cli is not on PATH.\n');

// A real 3-master cluster of redis-server processes on free loopback ports, started for this file.
const cluster = new RedisCluster();
if (hasRedisCluster) {
  beforeAll(() => cluster.start(3), 30_000);
  afterAll(() => cluster.stop());
}

describe.runIf(hasRedisCluster)('redis cluster', () => {
  describeStoreConformance(vitest, 'redis cluster (URL)', { makeStore: () => connected(createStore(cluster.url)) });
  describeStoreConformance(vitest, 'redis cluster (options)', { makeStore: () => connected(createRedisStore({ cluster: { rootNodes: cluster.rootNodes } })) });
  describeStoreConformance(vitest, 'redis cluster with a first tier (URL)', { makeStore: () => connected(createStore(`${cluster.url}?tier=memory`)) });
  describeLock('redis cluster', () => createRedisLock(cluster.url));

  describe('redis cluster store', () => {
    it('spreads entries and tag tokens over all three shards, and reads them back together', async () => {
      const cache = createCache({ store: cluster.url, keyPrefix: 'spread' });
      const tags = Array.from({ length: 12 }, (_, i) => `tag${i}`);
      for (let i = 0; i < 60; i += 1) await cache.set(`k${i}`, i, 60, { tags: [tags[i % tags.length] as string] });
      const counts = cluster.keyCounts('njkc::spread:*');
      expect([...counts.values()].filter((n) => n > 0).length).toBe(3);
      const found = await cache.getMany(Array.from({ length: 60 }, (_, i) => `k${i}`));
      expect(found.size).toBe(60);
      await cache.invalidateTags(['tag3']);
      expect(await cache.get('k3')).toBeUndefined();
      expect(await cache.get('k4')).toBe(4);
      // a fetch reads the entry and its tags' tokens in one getMany, across shards
      const result = await cache.fetch('multi', () => 'rendered', { tags });
      expect(result.status).toBe('miss');
      expect((await cache.fetch('multi', () => 'again', { tags })).value).toBe('rendered');
      await cache.clear();
      expect([...cluster.keyCounts('njkc::spread:*').values()].reduce((a, b) => a + b, 0)).toBe(0);
      await cache.close();
    });

    it('docs/scaling.md cluster example: a first tier and the lock over a cluster', async () => {
      process.env.REDIS_CLUSTER_NODES = cluster.ports.map((port) => `127.0.0.1:${port}`).join(',');
      // #region cluster
      const nodes = process.env.REDIS_CLUSTER_NODES ?? '10.0.0.5:7000,10.0.0.6:7000,10.0.0.7:7000';
      const lock = createRedisLock(`redis+cluster://${nodes}`);
      const cache = createCache({ store: `redis+cluster://${nodes}?tier=memory`, lock }); // any reachable node is enough to start
      const shutdown = async () => {
        await cache.close();
        await lock.close(); // the lock is yours to close
      };
      // #endregion
      await cache.connect();
      expect((await cache.fetch('docs', () => 'v', { tags: ['a', 'b', 'c'] })).status).toBe('miss');
      expect((await cache.fetch('docs', () => 'w', { tags: ['a', 'b', 'c'] })).value).toBe('v');
      await cache.clear();
      await shutdown();
    });

    it('rejects a malformed cluster URL with the form it accepts', () => {
      expect(() => createStore('redis+cluster://')).toThrow(/redis\+cluster:\/\/\[user:password@\]host:port/);
      expect(() => createStore('redis+cluster://127.0.0.1')).toThrow(/not host:port/);
    });
  });
});

/** The store, connected: the suite's timings then measure operations, not connecting (loading a driver, discovering a cluster). */
async function connected(store: Store): Promise<Store> {
  await store.connect?.();
  return store;
}
