/**
 * Fragment rows: the page of `fixtures/page.ts` rendered warm on each store, against three
 * baselines measured in the same run:
 *
 * - pure render: the same page with no cache tags and its data already in memory (the hardest
 *   baseline: what the page costs when loading its data costs nothing);
 * - cold: the same page with no cache tags loading its data (21 queries);
 * - static: the page with every fragment's output inlined as text (the limit of a fragment cache).
 *
 * Ratios are speeds: the baseline's time ÷ the warm page's time, so 2x means the warm page renders
 * twice as fast as the baseline, and 0.5x half as fast.
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
import { createCache, type Cache } from './lib/library.js';
import { benchPostgresStore, benchRedisStore } from './lib/bench-stores.js';
import { createPageFixture, FRAGMENTS_PER_PAGE, type PageFixture, type PageName } from './fixtures/page.js';
import { median, rotate, summary } from './lib/stats.js';
import { judge, type BenchContext, type GroupResult, type Row } from './lib/types.js';

const STORE_LABEL = {
  memory: 'memory',
  sqlite: 'SQLite (sqlite:// file)',
  redis: 'plain Redis',
  'redis-tier': 'Redis + first tier',
  postgres: 'PostgreSQL',
} as const;
type StoreName = keyof typeof STORE_LABEL;

/** Issue 10's targets, as speeds against a baseline (baseline time ÷ warm time). */
const TARGETS: { pure: Partial<Record<StoreName, number>>; cold: number; static: number; tierVsMemory: number } = {
  pure: { redis: 1.2, sqlite: 2 },
  cold: 10,
  static: 0.5,
  tierVsMemory: 0.9,
};

interface StoreUnderTest {
  name: StoreName;
  cache: Cache;
  dispose: () => Promise<void>;
}

async function openStores(context: BenchContext, skipped: string[]): Promise<StoreUnderTest[]> {
  const stores: StoreUnderTest[] = [];
  const memory = createCache({ store: 'memory' });
  stores.push({ name: 'memory', cache: memory, dispose: () => memory.close() });

  // A file, as an app names it (`sqlite://path`), in the temp folder.
  const file = join(tmpdir(), `njkc-bench-${process.pid}-${randomUUID().slice(0, 8)}.db`);
  const sqlite = createCache({ store: `sqlite://${file}` });
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
  if (context.postgresUrl === undefined) {
    skipped.push('fragments on PostgreSQL: POSTGRES_URL is not set (e.g. POSTGRES_URL=postgres://postgres@127.0.0.1:5432/bench npm run bench)');
  } else {
    const postgres = createCache({ store: benchPostgresStore(context.postgresUrl), failOpen: false });
    await postgres.connect();
    await postgres.clear();
    stores.push({
      name: 'postgres',
      cache: postgres,
      dispose: async () => {
        await postgres.clear();
        await postgres.close();
      },
    });
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

    // Bubbling, on and off, on the nested page with tagged cards: warm (the outer fragment hits and
    // checks the 40 tags it learned) and with the outer fragment invalidated (it renders again around
    // 20 warm cards, which then read their implicit tags' tokens).
    const bubbling: Array<{ id: string; cache: Cache; env: ReturnType<PageFixture['environment']>; dispose: () => Promise<void> }> = [];
    for (const on of [true, false]) {
      const memory = createCache({ store: 'memory' });
      bubbling.push({ id: `memory.${on ? 'on' : 'off'}`, cache: memory, env: fixture.environment(memory, { bubble: on }), dispose: () => memory.close() });
      if (context.redisUrl !== undefined) {
        const redis = createCache({ store: benchRedisStore(context.redisUrl, false), failOpen: false, keyPrefix: `bubble-${on ? 'on' : 'off'}` });
        await redis.connect();
        bubbling.push({ id: `redis.${on ? 'on' : 'off'}`, cache: redis, env: fixture.environment(redis, { bubble: on }), dispose: () => redis.close() });
      }
    }
    for (const b of bubbling) await warm(fixture, b.env, b.cache, `nested-tagged ${b.id}`, 'page-nested-tagged.njk', 2);

    // The miss path: the cached page on an empty memory store (lookups, renders, queries, writes).
    const missCache = createCache({ store: 'memory' });
    const missEnv = fixture.environment(missCache);

    let i = 0;
    const view = (env: ReturnType<PageFixture['environment']>, page: PageName) => () => fixture.view(env, page, i++);
    const tasks: Array<{ name: string; fn: () => Promise<string>; beforeEach?: () => Promise<void> }> = [
      { name: 'static', fn: view(plainEnv, 'page-static.njk') },
      { name: 'floor.async', fn: view(plainEnv, 'page-floor-async.njk') },
      { name: 'cold', fn: view(plainEnv, 'page-cold.njk') },
      { name: 'pure', fn: view(plainEnv, 'page-pure.njk') },
      { name: 'miss.memory', fn: view(missEnv, 'page.njk'), beforeEach: () => missCache.clear() },
      { name: 'nested.memory', fn: view(nestedEnv, 'page-nested.njk') },
      ...bubbling.map((b) => ({ name: `bubble.warm.${b.id}`, fn: view(b.env, 'page-nested-tagged.njk') })),
      ...bubbling
        .filter((b) => b.id.startsWith('memory'))
        .map((b) => ({ name: `bubble.outer-miss.${b.id}`, fn: view(b.env, 'page-nested-tagged.njk'), beforeEach: async () => void (await b.cache.invalidateFragment('tcards', [fixture.db.frontPage])) })),
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
    /** Speed of `subject` against `baseline`: the baseline's time ÷ the subject's, per round. */
    const speeds = (subject: string, baseline: string) => summary(perRound.map((r) => (r[baseline] as number) / (r[subject] as number)));
    const BASELINE_LABEL: Record<string, string> = { 'bubble.warm.memory.off': 'bubbling off', 'bubble.warm.redis.off': 'bubbling off', 'bubble.outer-miss.memory.off': 'bubbling off', pure: 'pure render', cold: 'cold', static: 'static', 'floor.async': 'floor', 'warm.memory': 'warm memory' };

    const rows: Row[] = [];
    const compare = (id: string, label: string, subject: string, baseline: string, target?: number, note?: string) => {
      const { median: ratio, range } = speeds(subject, baseline);
      const goal = target === undefined ? undefined : { op: '>=' as const, value: target, text: `≥ ${target}x ${BASELINE_LABEL[baseline] ?? baseline}` };
      rows.push({
        id,
        label,
        value: med(subject),
        unit: 'µs',
        baseline: { label: BASELINE_LABEL[baseline] ?? baseline, value: med(baseline), unit: 'µs' },
        ratio,
        ratioMeaning: `${BASELINE_LABEL[baseline] ?? baseline} time ÷ this time`,
        ratioRange: range,
        ...(goal ? { target: goal, met: judge(ratio, goal) as boolean } : {}),
        ...(note ? { note } : {}),
      });
    };

    compare('fragments.pure-vs-cold', 'Pure render (no cache, data in memory)', 'pure', 'cold', undefined, 'the baselines: the page without cache tags, with its data already in memory (pure) and loading it with 21 queries to an in-memory SQLite database through sqlite3 (cold)');
    for (const store of stores) {
      const target = TARGETS.pure[store.name];
      const note = `${FRAGMENTS_PER_PAGE} fragment hits a view; each number is the median of ${rounds} round medians, each ratio the median of ${rounds} same-round ratios`;
      compare(`fragments.warm-vs-pure.${store.name}`, `Warm page, ${STORE_LABEL[store.name]}, against the pure render`, `warm.${store.name}`, 'pure', target, store.name === 'memory' ? note : undefined);
    }
    for (const store of stores) compare(`fragments.warm-vs-cold.${store.name}`, `Warm page, ${STORE_LABEL[store.name]}, against cold`, `warm.${store.name}`, 'cold', TARGETS.cold);
    compare('fragments.warm-vs-static.memory', 'Warm page, memory, against static', 'warm.memory', 'static', TARGETS.static, 'static = the same page with every fragment\'s stored output inlined as text: the limit of fragment caching');
    if (stores.some((store) => store.name === 'redis-tier')) compare('fragments.tier-vs-memory', 'Warm page, Redis + first tier, against memory', 'warm.redis-tier', 'warm.memory', TARGETS.tierVsMemory);
    compare('fragments.floor', 'Floor: a tag answering from a Map, against static', 'floor.async', 'static', undefined, 'diagnostic: the least any fragment tag costs in Nunjucks, through the async-extension path the cache tag uses (no key hashing, envelope, store or stats; fixtures/floor.ts)');
    compare('fragments.warm-vs-floor.memory', 'Warm page, memory, against the floor', 'warm.memory', 'floor.async');
    compare('fragments.nested.memory', 'Warm page, memory, cards nested in one fragment, against the pure render', 'nested.memory', 'pure', undefined, 'diagnostic: the card loop inside an outer <% cache 600 cards posts %>, 2 lookups a view (a template change)');
    compare('fragments.miss.memory', 'Empty cache (all misses), memory, against cold', 'miss.memory', 'cold');
    const bubbleNote = 'the card loop in one outer fragment, each card tagged post:<id>; with bubbling the outer entry also carries the 20 post tags and the 20 cards\' implicit tags and checks them on a hit (their tokens ride in the view\'s one prefetch); speed of bubbling on ÷ off, same page, same run';
    for (const where of ['memory', 'redis'] as const) {
      if (!bubbling.some((b) => b.id === `${where}.on`)) continue;
      compare(`fragments.bubbling.warm.${where}`, `Bubbling on, warm nested page, ${where === 'memory' ? 'memory' : 'plain Redis'}, against bubbling off`, `bubble.warm.${where}.on`, `bubble.warm.${where}.off`, undefined, where === 'memory' ? bubbleNote : undefined);
    }
    compare(
      'fragments.bubbling.outer-miss.memory', 'Bubbling on, outer fragment missing (20 warm cards inside), memory, against bubbling off', 'bubble.outer-miss.memory.on', 'bubble.outer-miss.memory.off', undefined,
      'the cost on a miss: each card reads its implicit tag\'s token with its entry, and the outer entry stores 40 learned tags',
    );
    await missCache.close();
    for (const b of bubbling) await b.dispose();
    await nestedCache.close();
    await plain.close();
    return { group: 'fragments', rows, skipped, detail: { pageBytes, fragmentsPerPage: FRAGMENTS_PER_PAGE, rounds, timePerTaskMs: time, medianUsPerRound: perRound } };
  } finally {
    for (const store of stores) await store.dispose().catch(() => {});
    await fixture.close();
  }
}
