/**
 * Store round trips: what one page view asks of Redis, warm (every fragment stored) and cold
 * (an empty cache: every fragment looked up, rendered and written).
 *
 * Commands are read from the server's `INFO commandstats` before and after each view. That counts
 * every client of the server, so each view is also passed through a counting proxy that sees only
 * our connection: its command count cross-checks the server's, and it counts round trips (see
 * lib/redis-probe.ts), which is what the target is about.
 */
import { createCache, type Cache } from './lib/library.js';
import { benchRedisStore } from './lib/bench-stores.js';
import { createPageFixture, FRAGMENTS_PER_PAGE } from './fixtures/page.js';
import { commandDelta, commandStats, describeCommands, parseRedisUrl, startCountingProxy, total } from './lib/redis-probe.js';
import type { BenchContext, GroupResult, Row } from './lib/types.js';

interface ViewCounts {
  serverCommands: Map<string, number>;
  proxyCommands: Map<string, number>;
  roundTrips: number;
  views: number;
}

function add(into: Map<string, number>, from: Map<string, number>): void {
  for (const [name, calls] of from) into.set(name, (into.get(name) ?? 0) + calls);
}

export async function runStores(context: BenchContext): Promise<GroupResult> {
  if (context.redisUrl === undefined) {
    return { group: 'stores', rows: [], skipped: ['Redis round trips: REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379/0 npm run bench)'] };
  }
  const address = parseRedisUrl(context.redisUrl);
  const proxy = await startCountingProxy(address);
  const fixture = await createPageFixture();
  const views = context.quick ? 5 : 25;
  const rows: Row[] = [];
  const detail: Record<string, unknown> = {};
  try {
    for (const tier of [false, true]) {
      // Store and invalidation bus both talk through the proxy.
      const cache = createCache({ store: benchRedisStore(proxy.url, tier), failOpen: false });
      const env = fixture.environment(cache);
      const measure = async (before: () => Promise<void>): Promise<ViewCounts> => {
        const counts: ViewCounts = { serverCommands: new Map(), proxyCommands: new Map(), roundTrips: 0, views };
        for (let i = 0; i < views; i++) {
          await before();
          const start = await commandStats(address);
          proxy.reset();
          await fixture.view(env, 'page.njk', i);
          const seen = proxy.counts();
          const end = await commandStats(address);
          add(counts.serverCommands, commandDelta(start, end));
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
        if (stats.misses !== 0) throw new Error(`bench: the Redis page was not warm (${stats.misses} misses)`);
        const name = tier ? 'Redis store + first tier' : 'Redis store';
        for (const [kind, counts] of [['warm', warm], ['cold', cold]] as const) {
          rows.push(...describe(tier ? 'redis-tier' : 'redis', name, kind, counts, tier));
          detail[`${tier ? 'redis-tier' : 'redis'}.${kind}`] = { views: counts.views, serverCommands: Object.fromEntries(counts.serverCommands), proxyCommands: Object.fromEntries(counts.proxyCommands), roundTrips: counts.roundTrips };
        }
      } finally {
        await cache.clear().catch(() => {});
        await cache.close();
      }
    }
    return { group: 'stores', rows, skipped: [], detail };
  } finally {
    await proxy.close();
    await fixture.close();
  }
}

/** A first tier is used only once its invalidation bus is subscribed. */
async function waitForTier(cache: Cache): Promise<void> {
  const tier = cache.store as { tierStats?: () => { live: boolean } };
  for (let i = 0; tier.tierStats !== undefined && !tier.tierStats().live && i < 100; i++) await new Promise((resolve) => setTimeout(resolve, 20));
}

function describe(id: string, name: string, kind: 'warm' | 'cold', counts: ViewCounts, tier: boolean): Row[] {
  const server = total(counts.serverCommands) / counts.views;
  const ours = total(counts.proxyCommands) / counts.views;
  const trips = counts.roundTrips / counts.views;
  const agree = Math.abs(server - ours) < 0.5;
  const target = kind === 'warm' ? { op: '<=' as const, value: 1, text: '≤ 1' } : undefined;
  return [
    {
      id: `stores.${id}.${kind}.commands`,
      label: `${name}: commands per ${kind} page view`,
      value: server,
      unit: 'commands',
      note: `INFO commandstats: ${describeCommands(counts.serverCommands, counts.views) || 'none'}; ${agree ? 'the proxy saw the same' : `the proxy saw ${ours.toFixed(1)} of ours (${describeCommands(counts.proxyCommands, counts.views) || 'none'}), the rest came from other clients of this Redis`}; mean of ${counts.views} views of ${FRAGMENTS_PER_PAGE} fragments${tier && kind === 'cold' ? '; each write is also PUBLISHed to the other processes' : ''}`,
    },
    {
      id: `stores.${id}.${kind}.round-trips`,
      label: `${name}: round trips per ${kind} page view`,
      value: trips,
      unit: 'round trips',
      ...(target ? { target, met: trips <= target.value } : {}),
      ...(id === 'redis' && kind === 'warm' ? { note: 'bursts of client writes between replies, seen by a loopback proxy; PING heartbeats left out' } : {}),
    },
  ];
}
