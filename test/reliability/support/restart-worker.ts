/**
 * An application process for the Redis restart test: a cache on NJKC_REDIS with the default
 * timeout and circuit breaker (500 ms, 5 failures, 5 s cool-down). Every 20 ms it caches a fresh
 * key and reads it back, and reports each attempt over IPC: `ok` when the value was stored and
 * then hit, i.e. caching through Redis works.
 *
 * NJKC_HIDE_READY=1 hides the store's `onReady` hook from the cache: the switch that shows the
 * restart test fails without the probe on reconnect.
 */
import { createCache } from '../../../src/index.js';
import { createRedisStore, type Store } from '../../../src/stores.js';

const redis = createRedisStore({ url: process.env.NJKC_REDIS as string });
const store: Store =
  process.env.NJKC_HIDE_READY === '1'
    ? new Proxy(redis, {
        get(target, name) {
          if (name === 'onReady') return undefined;
          const value: unknown = Reflect.get(target, name, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      })
    : redis;
const cache = createCache({ store, keyPrefix: 'restart' });
const now = () => performance.timeOrigin + performance.now();
const send = (message: object) => process.send?.(message);

let running = true;
let n = 0;

async function loop(): Promise<void> {
  while (running) {
    const key = `k:${process.pid}:${(n += 1)}`;
    const started = now();
    const stored = await cache.fetch(key, () => 'v', { ttl: 60 });
    const read = await cache.fetch(key, () => 'v', { ttl: 60 });
    send({ event: 'attempt', ok: stored.status === 'miss' && read.status === 'hit', started, at: now(), circuit: cache.stats().circuit });
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

process.on('message', (message: { op: string }) => {
  if (message.op === 'exit') {
    running = false;
    void cache.close().then(() => process.exit(0));
  }
});

await cache.connect(5_000);
send({ event: 'ready', at: now() });
void loop();
