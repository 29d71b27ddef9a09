/**
 * Fragment rows: the page of `fixtures/page.ts` rendered warm on each store, against the same page
 * with the fragments inlined as static text (the limit), and against the same page cold.
 *
 * Every task is one page view, awaited before the next (latency of one render, not throughput).
 * The tasks run in several rounds, each in a different order; a row's number is the median over
 * rounds of each round's median, and a ratio is the median of the ratios taken within each round,
 * so slow drift on a noisy machine hits both sides of a ratio alike.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { createCache, createSqliteStore, type Cache } from './lib/library.js';
import { benchRedisStore } from './lib/redis-stores.js';
import { createPageFixture, FRAGMENTS_PER_PAGE, type PageFixture, type PageName } from './fixtures/page.js';
import { median, rotate, summary } from './lib/stats.js';
import { judge, type BenchContext, type GroupResult, type Row } from './lib/types.js';

const STORE_LABEL = { memory: 'memory store', sqlite: 'SQLite store', redis: 'Redis store', 'redis-tier': 'Redis store + first tier' } as const;

interface StoreUnderTest {
  name: keyof typeof STORE_LABEL;
  cache: Cache;
  dispose: () => Promise<void>;
}

async function openStores(context: BenchContext, skipped: string[]): Promise<StoreUnderTest[]> {
  const stores: StoreUnderTest[] = [];
  const memory = createCache({ store: 'memory' });
  stores.push({ name: 'memory', cache: memory, dispose: () => memory.close() });

  // A file, as an app would use it (WAL mode), in the temp folder.
  const file = join(tmpdir(), `njkc-bench-${process.pid}-${randomUUID().slice(0, 8)}.db`);
  const sqlite = createCache({ store: createSqliteStore({ path: file, sweepIntervalMs: 0 }) });
  stores.push({
    name: 'sqlite',
    cache: sqlite,
    dispose: async () => {
      await sqlite.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    },
  });

  if (context.redisUrl === undefined) {
    skipped.push('fragments on Redis: REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379/0 npm run bench)');
  } else {
    for (const tier of [false, true]) {
      const redis = createCache({ store: benchRedisStore(context.redisUrl, tier), failOpen: false });
      await redis.connect();
      stores.push({
        name: tier ? 'redis-tier' : 'redis',
        cache: redis,
        dispose: async () => {
          await redis.clear();
          await redis.close();
        },
      });
    }
  }
  return stores;
}

interface TierView {
  tierStats(): { live: boolean; hits: number; misses: number };
}
const tierOf = (cache: Cache) => (typeof (cache.store as Partial<TierView>).tierStats === 'function' ? (cache.store as unknown as TierView) : undefined);

/**
 * Render until every fragment is stored, then prove a view runs no query and hits every fragment
 * (and, with a first tier, that the tier answered all of them).
 */
async function warm(fixture: PageFixture, env: ReturnType<PageFixture['environment']>, cache: Cache, name: string, page: PageName = 'page.njk', lookups = FRAGMENTS_PER_PAGE): Promise<void> {
  const tier = tierOf(cache);
  for (let i = 0; tier !== undefined && !tier.tierStats().live && i < 100; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  await fixture.view(env, page, 0);
  await fixture.view(env, page, 1);
  cache.resetStats();
  fixture.db.resetQueries();
  const before = tier?.tierStats();
  await fixture.view(env, page, 2);
  const stats = cache.stats();
  if (fixture.db.queries !== 0 || stats.hits !== lookups || stats.misses !== 0) {
    throw new Error(`bench: the ${name} page is not warm (${stats.hits} hits, ${stats.misses} misses, ${fixture.db.queries} queries)`);
  }
  const after = tier?.tierStats();
  if (before !== undefined && after !== undefined && (after.misses !== before.misses || after.hits - before.hits < lookups)) {
    throw new Error(`bench: the ${name} first tier did not answer the warm page (${after.hits - before.hits} tier hits, ${after.misses - before.misses} tier misses)`);
  }
}

export async function runFragments(context: BenchContext): Promise<GroupResult> {
  const skipped: string[] = [];
  const fixture = await createPageFixture();
  const stores = await openStores(context, skipped);
  try {
    const plain = createCache({ store: 'memory' });
    const plainEnv = fixture.environment(plain); // renders the cold and static pages; its cache is never used
    const pageBytes = await fixture.assertSameOutput(plainEnv);

    const envs = new Map(stores.map((store) => [store.name, fixture.environment(store.cache)]));
    for (const store of stores) await warm(fixture, envs.get(store.name)!, store.cache, store.name);
    const nestedCache = createCache({ store: 'memory' });
    const nestedEnv = fixture.environment(nestedCache);
    await warm(fixture, nestedEnv, nestedCache, 'nested', 'page-nested.njk', 2);

    // The miss path: the cached page on an empty memory store (lookups, renders, queries, writes).
    const missCache = createCache({ store: 'memory' });
    const missEnv = fixture.environment(missCache);

    let i = 0;
    const view = (env: ReturnType<PageFixture['environment']>, page: PageName) => () => fixture.view(env, page, i++);
    const tasks: Array<{ name: string; fn: () => Promise<string>; beforeEach?: () => Promise<void> }> = [
      { name: 'static', fn: view(plainEnv, 'page-static.njk') },
      { name: 'floor.async', fn: view(plainEnv, 'page-floor-async.njk') },
      { name: 'cold', fn: view(plainEnv, 'page-cold.njk') },
      { name: 'miss.memory', fn: view(missEnv, 'page.njk'), beforeEach: () => missCache.clear() },
      { name: 'nested.memory', fn: view(nestedEnv, 'page-nested.njk') },
      ...stores.map((store) => ({ name: `warm.${store.name}`, fn: view(envs.get(store.name)!, 'page.njk') })),
    ];

    const rounds = context.quick ? 1 : 5;
    const time = context.quick ? 150 : 400;
    const perRound: Array<Record<string, number>> = [];
    for (let round = 0; round < rounds; round++) {
      const bench = new Bench({ time, iterations: 30, warmupTime: context.quick ? 50 : 150, warmupIterations: 20, throws: true });
      for (const task of rotate(tasks, round)) bench.add(task.name, task.fn, task.beforeEach ? { beforeEach: task.beforeEach } : {});
      await bench.run();
      const medians: Record<string, number> = {};
      for (const task of bench.tasks) medians[task.name] = (task.result?.latency.p50 ?? Number.NaN) * 1000; // µs
      perRound.push(medians);
      context.log(`fragments: round ${round + 1}/${rounds} ${Object.entries(medians).map(([k, v]) => `${k}=${v.toFixed(0)}µs`).join(' ')}`);
    }
    const med = (name: string) => median(perRound.map((r) => r[name] as number));
    const ratios = (top: string, bottom: string) => summary(perRound.map((r) => (r[top] as number) / (r[bottom] as number)));
    const ratio = (top: string, bottom: string) => ratios(top, bottom).median;
    const range = (top: string, bottom: string) => ({ ratioRange: ratios(top, bottom).range });

    const rows: Row[] = [];
    for (const store of stores) {
      const target = store.name === 'memory' ? { op: '<=' as const, value: 1.5, text: '≤ 1.5x static' } : undefined;
      const r = ratio(`warm.${store.name}`, 'static');
      rows.push({
        id: `fragments.hit-overhead.${store.name}`,
        label: `Warm page, ${STORE_LABEL[store.name]}`,
        value: med(`warm.${store.name}`),
        unit: 'µs',
        baseline: { label: 'static', value: med('static'), unit: 'µs' },
        ratio: r,
        ratioMeaning: 'warm ÷ static',
        ...range(`warm.${store.name}`, 'static'),
        ...(target ? { target, met: judge(r, target) as boolean } : {}),
        ...(store.name === 'memory' ? { note: `${FRAGMENTS_PER_PAGE} fragment hits a view; each number is the median of ${rounds} round medians, each ratio the median of ${rounds} same-round ratios` } : {}),
      });
    }
    for (const store of stores) {
      const target = { op: '>=' as const, value: 20, text: '≥ 20x' };
      const r = ratio('cold', `warm.${store.name}`);
      rows.push({
        id: `fragments.speedup.${store.name}`,
        label: `Warm vs cold, ${STORE_LABEL[store.name]}`,
        value: med(`warm.${store.name}`),
        unit: 'µs',
        baseline: { label: 'cold', value: med('cold'), unit: 'µs' },
        ratio: r,
        ratioMeaning: 'cold ÷ warm',
        ...range('cold', `warm.${store.name}`),
        target,
        met: judge(r, target) as boolean,
        ...(store.name === 'memory' ? { note: 'cold = the same templates without cache tags: 21 queries to an in-memory SQLite database (sqlite3) and the full render' } : {}),
      });
    }
    rows.push({
      id: 'fragments.floor',
      label: 'Floor: a tag answering from a Map',
      value: med('floor.async'),
      unit: 'µs',
      baseline: { label: 'static', value: med('static'), unit: 'µs' },
      ratio: ratio('floor.async', 'static'),
      ratioMeaning: 'floor ÷ static',
      ...range('floor.async', 'static'),
      note: 'diagnostic: the least any fragment tag costs in Nunjucks, through the async-extension path the cache tag uses (no key hashing, envelope, store or stats; fixtures/floor.ts)',
    });
    rows.push({
      id: 'fragments.above-floor.memory',
      label: 'Warm page, memory store, against the floor',
      value: med('warm.memory'),
      unit: 'µs',
      baseline: { label: 'floor', value: med('floor.async'), unit: 'µs' },
      ratio: ratio('warm.memory', 'floor.async'),
      ratioMeaning: 'warm ÷ floor',
      ...range('warm.memory', 'floor.async'),
    });
    rows.push({
      id: 'fragments.nested.memory',
      label: 'Warm page, memory store, cards nested in one fragment',
      value: med('nested.memory'),
      unit: 'µs',
      baseline: { label: 'static', value: med('static'), unit: 'µs' },
      ratio: ratio('nested.memory', 'static'),
      ratioMeaning: 'warm ÷ static',
      note: 'diagnostic: the card loop inside an outer <% cache 600 cards posts %>, 2 lookups a view (a template change)',
    });
    rows.push({
      id: 'fragments.miss.memory',
      label: 'Empty cache (all misses), memory store',
      value: med('miss.memory'),
      unit: 'µs',
      baseline: { label: 'cold', value: med('cold'), unit: 'µs' },
      ratio: ratio('miss.memory', 'cold'),
      ratioMeaning: 'miss ÷ cold',
    });
    await missCache.close();
    await nestedCache.close();
    await plain.close();
    return { group: 'fragments', rows, skipped, detail: { pageBytes, fragmentsPerPage: FRAGMENTS_PER_PAGE, rounds, timePerTaskMs: time, medianUsPerRound: perRound } };
  } finally {
    for (const store of stores) await store.dispose().catch(() => {});
    await fixture.close();
  }
}
