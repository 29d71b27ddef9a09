/**
 * One application process for the multi-process tests, driven over IPC by the test:
 * node --import tsx worker.ts, with NJKC_REDIS (the shared Redis), NJKC_DB (a JSON file standing
 * in for the application's database), NJKC_TIER=1 for a first tier, NJKC_LOCK=1 for the lock.
 */
import { readFile } from 'node:fs/promises';
import type nunjucks from 'nunjucks';
import { createCache } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';
import { createRedisBus, createRedisLock, createRedisStore, createTieredStore, type Store } from '../../../src/stores.js';
import type { TieredStore } from '../../../src/stores/tiered.js';
import { MapLoader } from '../../support/stores.js';

const redis = process.env.NJKC_REDIS as string;
const dbFile = process.env.NJKC_DB as string;
const tiered = process.env.NJKC_TIER === '1';
const locked = process.env.NJKC_LOCK === '1';
const now = () => performance.timeOrigin + performance.now();
const send = (message: object) => process.send?.(message);

/** Counts the shared store's round trips (one per call, as a pipeline or MGET is one). */
function counting(inner: Store) {
  const counts = { calls: 0 };
  const wrap = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A) => (counts.calls++, fn(...args));
  const store: Store = {
    ...inner,
    kind: inner.kind,
    get: wrap((k: string) => inner.get(k)),
    getMany: wrap((ks: readonly string[]) => inner.getMany(ks)),
    set: wrap((k: string, v: unknown, t: number | undefined) => inner.set(k, v, t)),
    setMany: wrap((e: Parameters<Store['setMany']>[0]) => inner.setMany(e)),
    delete: wrap((k: string) => inner.delete(k)),
    deleteMany: wrap((ks: readonly string[]) => inner.deleteMany(ks)),
    clear: wrap(() => inner.clear()),
    close: () => inner.close(),
    ...(inner.connect ? { connect: () => inner.connect!() } : {}),
  };
  return { store, counts };
}

// The shared store, counted, with an optional first tier in front (what `redis://…?tier=memory`
// builds, with the counter slipped between the tier and Redis).
const counted = counting(createRedisStore({ url: redis }));
const tier: TieredStore | undefined = tiered ? createTieredStore(counted.store, { bus: createRedisBus(redis), maxBytes: 8 * 1024 * 1024 }) : undefined;
const store: Store = tier ?? counted.store;
tier?.on('invalidate', (message) => send({ event: 'invalidate', at: now(), message }));
tier?.on('down', () => send({ event: 'down', at: now() }));
tier?.on('up', () => send({ event: 'up', at: now() }));

const lock = locked ? createRedisLock(redis) : undefined;
const cache = createCache({ store, keyPrefix: 'mp', timeoutMs: 1_000, breaker: { failureThreshold: 3, cooldownMs: 100 }, ...(lock ? { lock, lockWaitMs: 5_000, lockPollMs: 10 } : {}) });
await cache.connect(5_000).catch(() => {});

const templates = {
  post: '<h1>Blog</h1><% cache 600 post tags="posts" %><article>{{ loadPost | resolve }}</article><% endcache %>',
  page: Array.from({ length: 10 }, (_, i) => `<% cache 600 frag${i} tags="posts" %><p>{{ loadPost | resolve }} #${i}</p><% endcache %>`).join('\n'),
  cold: '<% cache 600 cold run %>{{ slowRender | resolve }}<% endcache %>',
};
const env = createEnvironment(new MapLoader(templates) as unknown as nunjucks.ILoader, { cache });
let renders = 0;
const loadPost = async () => {
  renders += 1;
  return JSON.parse(await readFile(dbFile, 'utf8')).post as string;
};
const slowRender = async () => {
  renders += 1;
  // Long enough that, even on a loaded machine, every process has looked the key up before the
  // first render is stored (see the report on the lock's look-up gap).
  await new Promise((resolve) => setTimeout(resolve, 300));
  return `rendered by ${process.pid}`;
};

type Command =
  | { id: number; op: 'render'; template?: 'post' | 'page' }
  | { id: number; op: 'loop'; ms: number }
  | { id: number; op: 'invalidate' }
  | { id: number; op: 'cold'; run: string; concurrency: number; startAt?: number }
  | { id: number; op: 'stats' }
  | { id: number; op: 'exit' };

async function handle(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'render': {
      const before = renders;
      const html = await render(env, command.template ?? 'post', { loadPost });
      return { html, rendered: renders > before };
    }
    case 'loop': {
      // Render as fast as possible for `ms`, recording when each render started and what it served.
      const seen: Array<{ at: number; html: string }> = [];
      const until = now() + command.ms;
      while (now() < until) {
        // Yield to I/O between renders, as requests arriving from sockets do: a warm hit is
        // answered without touching the event loop's I/O phase, and messages must get in.
        await new Promise((resolve) => setImmediate(resolve));
        const at = now();
        seen.push({ at, html: await render(env, 'post', { loadPost }) });
      }
      return seen;
    }
    case 'invalidate': {
      const started = now();
      await cache.invalidateTags(['posts']);
      return { started, finished: now() };
    }
    case 'cold': {
      // Start at an agreed instant, so requests to different processes are concurrent however
      // late each process got the command.
      if (command.startAt !== undefined) await new Promise((resolve) => setTimeout(resolve, Math.max(0, command.startAt! - now())));
      const before = renders;
      const htmls = await Promise.all(Array.from({ length: command.concurrency }, () => render(env, 'cold', { run: command.run, slowRender })));
      return { renders: renders - before, distinct: [...new Set(htmls)] };
    }
    case 'stats':
      return { calls: counted.counts.calls, renders, tier: tier?.tierStats(), cache: cache.stats() };
    case 'exit':
      await cache.close();
      await lock?.close();
      setImmediate(() => process.exit(0));
      return 'bye';
  }
}

process.on('message', (command: Command) => {
  handle(command).then(
    (result) => send({ id: command.id, result }),
    (error: unknown) => send({ id: command.id, error: String((error as Error)?.stack ?? error) }),
  );
});
send({ event: 'ready', at: now(), pid: process.pid });
