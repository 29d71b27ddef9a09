/**
 * Store round trips: what one page view asks of Redis and PostgreSQL, warm (every fragment stored)
 * and cold (an empty cache: every fragment looked up, rendered and written). Counted, not
 * estimated: each view goes through a loopback proxy (lib/counting-proxy.ts) that parses what our
 * client sends and counts commands and round trips (bursts of client writes between replies).
 *
 * On Redis the server's own `INFO commandstats`, read before and after each view, cross-checks the
 * proxy's count (it counts every client of the server, so other users of a shared Redis show up;
 * the note says when the two disagree). PostgreSQL has no such counter without `pg_stat_statements`, so the
 * proxy's count of statements (simple queries and executes) is the figure there.
 */
import { createCache, type Cache, type Store } from './lib/library.js';
import { benchPostgresStore, benchRedisStore } from './lib/bench-stores.js';
import { describeCommands, total, type CountingProxy } from './lib/counting-proxy.js';
import { startPostgresProxy, STATEMENTS } from './lib/pg-probe.js';
import { createPageFixture, FRAGMENTS_PER_PAGE } from './fixtures/page.js';
import { commandDelta, commandStats, parseRedisUrl, startRedisProxy } from './lib/redis-probe.js';
import type { BenchContext, GroupResult, Row } from './lib/types.js';

/** Issue 10: a warm view of the natural template makes at most 2 store round trips on plain Redis and PostgreSQL. */
const WARM_ROUND_TRIPS = 2;

interface ViewCounts {
  /** Redis only: INFO commandstats deltas. */
  serverCommands: Map<string, number> | undefined;
  proxyCommands: Map<string, number>;
  roundTrips: number;
  views: number;
}

interface Subject {
  id: 'redis' | 'redis-tier' | 'postgres';
  name: string;
  proxy: CountingProxy;
  store: Store;
  /** Server-side command counters, where the server has them. */
  serverStats?: () => Promise<Map<string, number>>;
  /** Which of the proxy's names are commands (PostgreSQL: statements; Redis: all). */
  commands?: ReadonlySet<string>;
  target?: number;
}

function add(into: Map<string, number>, from: Map<string, number>): void {
  for (const [name, calls] of from) into.set(name, (into.get(name) ?? 0) + calls);
}

export async function runStores(context: BenchContext): Promise<GroupResult> {
  const skipped: string[] = [];
  const proxies: CountingProxy[] = [];
  const subjects: Subject[] = [];
  if (context.redisUrl === undefined) {
    skipped.push('Redis round trips: REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379/0 npm run bench)');
  } else {
    const address = parseRedisUrl(context.redisUrl);
    for (const tier of [false, true]) {
      // Store and invalidation bus both talk through the proxy.
      const proxy = await startRedisProxy(address);
      proxies.push(proxy);
      subjects.push({
        id: tier ? 'redis-tier' : 'redis',
        name: tier ? 'Redis + first tier' : 'plain Redis',
        proxy,
        store: benchRedisStore(proxy.url, tier),
        serverStats: () => commandStats(address),
        ...(tier ? {} : { target: WARM_ROUND_TRIPS }),
      });
    }
  }
  if (context.postgresUrl === undefined) {
    skipped.push('PostgreSQL round trips: POSTGRES_URL is not set (e.g. POSTGRES_URL=postgres://postgres@127.0.0.1:5432/bench npm run bench)');
  } else {
    const proxy = await startPostgresProxy(context.postgresUrl);
    proxies.push(proxy);
    subjects.push({ id: 'postgres', name: 'PostgreSQL', proxy, store: benchPostgresStore(proxy.url), commands: STATEMENTS, target: WARM_ROUND_TRIPS });
  }
  if (subjects.length === 0) return { group: 'stores', rows: [], skipped };

  const fixture = await createPageFixture();
  const views = context.quick ? 5 : 25;
  const rows: Row[] = [];
  const detail: Record<string, unknown> = {};
  try {
    for (const subject of subjects) {
      const cache = createCache({ store: subject.store, failOpen: false });
      const env = fixture.environment(cache);
      const measure = async (before: () => Promise<void>): Promise<ViewCounts> => {
        const counts: ViewCounts = { serverCommands: subject.serverStats ? new Map() : undefined, proxyCommands: new Map(), roundTrips: 0, views };
        for (let i = 0; i < views; i++) {
          await before();
          const start = await subject.serverStats?.();
          subject.proxy.reset();
          await fixture.view(env, 'page.njk', i);
          const seen = subject.proxy.counts();
          const end = await subject.serverStats?.();
          if (counts.serverCommands && start && end) add(counts.serverCommands, commandDelta(start, end));
          add(counts.proxyCommands, seen.commands);
          counts.roundTrips += seen.roundTrips;
        }
        return counts;
      };
      try {
        await cache.connect();
        await waitForTier(cache);
        await cache.clear();
        const cold = await measure(() => cache.clear());
        await fixture.view(env, 'page.njk', 0);
        cache.resetStats();
        const warm = await measure(async () => {});
        const stats = cache.stats();
        if (stats.misses !== 0) throw new Error(`bench: the ${subject.name} page was not warm (${stats.misses} misses)`);
        for (const [kind, counts] of [['warm', warm], ['cold', cold]] as const) {
          rows.push(...describe(subject, kind, counts));
          detail[`${subject.id}.${kind}`] = {
            views: counts.views,
            ...(counts.serverCommands ? { serverCommands: Object.fromEntries(counts.serverCommands) } : {}),
            proxyCommands: Object.fromEntries(counts.proxyCommands),
            roundTrips: counts.roundTrips,
          };
        }
      } finally {
        await cache.clear().catch(() => {});
        await cache.close();
      }
    }
    return { group: 'stores', rows, skipped, detail };
  } finally {
    for (const proxy of proxies) await proxy.close();
    await fixture.close();
  }
}

/** A first tier is used only once its invalidation bus is subscribed. */
async function waitForTier(cache: Cache): Promise<void> {
  const tier = cache.store as { tierStats?: () => { live: boolean } };
  for (let i = 0; tier.tierStats !== undefined && !tier.tierStats().live && i < 100; i++) await new Promise((resolve) => setTimeout(resolve, 20));
}

function describe(subject: Subject, kind: 'warm' | 'cold', counts: ViewCounts): Row[] {
  const ours = total(counts.proxyCommands, subject.commands) / counts.views;
  const trips = counts.roundTrips / counts.views;
  const per = `mean of ${counts.views} views of ${FRAGMENTS_PER_PAGE} fragments`;
  const proxySaw = describeCommands(counts.proxyCommands, counts.views) || 'none';
  let note: string;
  if (counts.serverCommands) {
    // The proxy's count is exactly ours; the server's counts every client, so it cross-checks.
    const server = total(counts.serverCommands) / counts.views;
    const agree = Math.abs(server - ours) < 0.5;
    const seen = agree ? 'INFO commandstats saw the same' : `INFO commandstats saw ${server.toFixed(1)} (${describeCommands(counts.serverCommands, counts.views) || 'none'}): the rest came from other clients of this Redis`;
    note = `seen by a loopback proxy: ${proxySaw}; ${seen}; ${per}${subject.id === 'redis-tier' && kind === 'cold' ? '; each write is also PUBLISHed to the other processes' : ''}`;
  } else {
    note = `statements (simple queries and executes) seen by a loopback proxy: ${proxySaw}; ${per}`;
  }
  const target = kind === 'warm' && subject.target !== undefined ? { op: '<=' as const, value: subject.target, text: `≤ ${subject.target}` } : undefined;
  return [
    {
      id: `stores.${subject.id}.${kind}.commands`,
      label: `${subject.name}: ${subject.commands ? 'statements' : 'commands'} per ${kind} page view`,
      value: ours,
      unit: subject.commands ? 'statements' : 'commands',
      note,
    },
    {
      id: `stores.${subject.id}.${kind}.round-trips`,
      label: `${subject.name}: round trips per ${kind} page view`,
      value: trips,
      unit: 'round trips',
      ...(target ? { target, met: trips <= target.value } : {}),
      ...(kind === 'warm' && subject.target !== undefined ? { note: `bursts of client writes between replies on each connection, seen by a loopback proxy${counts.serverCommands ? '; heartbeats (PING) left out' : ''}` } : {}),
    },
  ];
}
