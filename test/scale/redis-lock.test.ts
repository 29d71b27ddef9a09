import { afterAll, describe, expect, it } from 'vitest';
import { createRedisLock } from '../../src/stores.js';
import { REDIS_URL, announceSkip, uniquePrefix } from '../support/env.js';
import { RedisProcess, freePort, hasRedisServer } from '../support/redis-server.js';
import { describeLock } from './support/lock-suite.js';

if (REDIS_URL === undefined) announceSkip('Redis lock', 'REDIS_URL');
else {
  const url = REDIS_URL;
  describeLock('redis', () => createRedisLock(url));

  it('works over a client the application owns, and leaves it open', async () => {
    const { createClient } = await import('@redis/client');
    const client = createClient({ url });
    await client.connect();
    const lock = createRedisLock(client);
    const key = uniquePrefix('own');
    const token = (await lock.acquire(key, 1_000)) as string;
    expect(await client.pTTL(`njkc:lock:${key}`)).toBeGreaterThan(0);
    await lock.release(key, token);
    await lock.close();
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  it('rejects an unusable URL and a TTL under 1 ms', async () => {
    expect(() => createRedisLock('http://nope')).toThrow(/redis:\/\/ or redis\+cluster:\/\//);
    const lock = createRedisLock(url);
    await expect(lock.acquire('k', 0)).rejects.toThrow(/at least 1 ms/);
    await lock.close();
  });
}

describe.runIf(hasRedisServer)('redis lock: Redis unreachable', () => {
  let redis: RedisProcess | undefined;
  afterAll(() => redis?.stop());

  it('fails at once instead of waiting for Redis to come back', async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    const lock = createRedisLock(redis.url);
    expect(await lock.acquire('k', 1_000)).not.toBeNull();
    await redis.stop();
    const started = performance.now();
    await expect(lock.acquire('j', 1_000)).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(500);
    await lock.close();
  });
});
