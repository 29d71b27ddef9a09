import type nunjucks from 'nunjucks';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { createEnvironment, render } from '../../src/nunjucks.js';
import { MapLoader, sleep } from '../support/stores.js';
import { RedisProcess, freePort, hasRedisServer } from '../support/redis-server.js';

if (!hasRedisServer) console.warn('\n[skip] Redis fault-injection test skipped: no redis-server binary on PATH.\n');

describe.runIf(hasRedisServer)('a real redis-server killed mid-run', () => {
  let redis: RedisProcess;
  afterAll(() => redis?.stop());

  it('causes zero failed renders, and caching resumes after it restarts', async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    const cache = createCache({ store: redis.url, timeoutMs: 150, breaker: { failureThreshold: 3, cooldownMs: 200 } });
    await cache.connect();
    const env = createEnvironment(new MapLoader({ t: '<h1>{{ title }}</h1><% cache 60 frag %>{{ load() }}<% endcache %>' }) as unknown as nunjucks.ILoader, { cache });
    let bodies = 0;
    const load = () => `body${++bodies}`;
    let failed = 0;
    let rendered = 0;
    const renderOnce = async () => {
      try {
        const html = await render(env, 't', { title: 'T', load });
        if (!html.startsWith('<h1>T</h1>body')) failed += 1;
        rendered += 1;
      } catch {
        failed += 1;
      }
    };

    for (let i = 0; i < 20; i += 1) await renderOnce();
    expect(bodies).toBe(1); // warm: served from Redis

    await redis.stop();
    for (let i = 0; i < 30; i += 1) await Promise.all([renderOnce(), renderOnce()]);
    expect(failed).toBe(0);
    expect(cache.stats().errors).toBeGreaterThan(0);

    await redis.start();
    // caching resumes by itself: the breaker probes, the client reconnects, a render is stored, then hit
    const deadline = Date.now() + 10_000;
    let resumed = false;
    while (Date.now() < deadline && !resumed) {
      await renderOnce();
      const before = bodies;
      await renderOnce();
      resumed = bodies === before;
      if (!resumed) await sleep(100);
    }
    expect(failed).toBe(0);
    expect(resumed).toBe(true);
    console.log(`[redis-fault] renders: ${rendered}, failed: ${failed}, store errors absorbed: ${cache.stats().errors}`);
    await cache.close();
  });
});
