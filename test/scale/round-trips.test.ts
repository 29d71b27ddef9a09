/**
 * What a warm page costs in store round trips, with and without a first tier: a page of ten
 * tagged fragments, rendered warm (one MGET of every entry and tag token, learned from the last render), against a redis-server this file starts (so Redis's own
 * command counters see only this test).
 */
import type nunjucks from 'nunjucks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { createEnvironment, render } from '../../src/nunjucks.js';
import { createRedisBus, createRedisStore, createTieredStore, type Store } from '../../src/stores.js';
import { countingStore } from '../support/stores.js';
import { RedisProcess, freePort, hasRedisServer } from '../support/redis-server.js';

/** Compiles once, as a production loader does (the test MapLoader recompiles on every render). */
const loader = { getSource: () => ({ src: page, path: 'page', noCache: false }) };
const page = Array.from({ length: 10 }, (_, i) => `<% cache 600 frag${i} i tags="posts" %><p>{{ i }}</p><% endcache %>`).join('\n');

async function commandsServed(url: string): Promise<number> {
  const { createClient } = await import('@redis/client');
  const client = createClient({ url });
  await client.connect();
  const info = await client.info('commandstats');
  await client.quit();
  // Leave out what the counting itself and the connections' housekeeping cost.
  return [...info.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)].filter(([, name]) => !['info', 'hello', 'client|setinfo', 'ping', 'subscribe', 'select', 'quit'].includes(name as string)).reduce((sum, [, , n]) => sum + Number(n), 0);
}

describe.runIf(hasRedisServer)('store round trips per warm page', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
  });
  afterAll(() => redis?.stop());

  const measure = async (tiered: boolean) => {
    const counted = countingStore(createRedisStore({ url: redis.url }));
    const store: Store = tiered ? createTieredStore(counted.store, { bus: createRedisBus(redis.url) }) : counted.store;
    const cache = createCache({ store, keyPrefix: tiered ? 'tiered' : 'plain' });
    await cache.connect();
    const env = createEnvironment(loader as unknown as nunjucks.ILoader, { cache });
    await render(env, 'page', { i: 1 }); // cold: renders and stores
    await render(env, 'page', { i: 1 });
    const pages = 200;
    counted.reset();
    const before = await commandsServed(redis.url);
    const started = performance.now();
    for (let n = 0; n < pages; n += 1) await render(env, 'page', { i: 1 });
    const ms = (performance.now() - started) / pages;
    const commands = (await commandsServed(redis.url)) - before;
    const calls = counted.total();
    await cache.close();
    return { calls: calls / pages, commands: commands / pages, ms };
  };

  it('is one without a first tier (the render prefetches what it read last time), and none with one', async () => {
    const without = await measure(false);
    const withTier = await measure(true);
    console.log(
      `[round-trips] warm page of 10 tagged fragments: ${without.calls} store calls (${without.commands} Redis commands), ${without.ms.toFixed(3)} ms a page without a first tier; ` +
        `${withTier.calls} (${withTier.commands}), ${withTier.ms.toFixed(3)} ms with one`,
    );
    expect(without.calls).toBe(1);
    expect(without.commands).toBe(1);
    expect(withTier.calls).toBe(0);
    expect(withTier.commands).toBe(0);
  });
});
