import { describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { CacheActivity, describeInvalidation, describeKey } from '../../app/dashboard/activity.js';
import { chartAxis, hitMissChart } from '../../app/dashboard/chart.js';
import { serverTiming } from '../../app/request-metrics.js';
import { isLoopback, parseCookies } from '../../app/security.js';

describe('isLoopback', () => {
  it('accepts 127.0.0.0/8 and ::1, also IPv4-mapped', () => {
    for (const ip of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopback(ip), ip).toBe(true);
  });
  it('refuses everything else', () => {
    for (const ip of ['10.0.0.1', '192.168.1.1', '::ffff:10.0.0.1', '128.0.0.1', 'fe80::1', '', undefined]) expect(isLoopback(ip), String(ip)).toBe(false);
  });
});

describe('parseCookies', () => {
  it('decodes values and keeps the first of a repeated name', () => {
    expect(parseCookies('a=1; b=hello%20world; a=2; broken; =x')).toEqual({ a: '1', b: 'hello world' });
    expect(parseCookies(undefined)).toEqual({});
    expect(parseCookies('bad=%E0%A4%A')).toEqual({ bad: '%E0%A4%A' });
  });
});

describe('serverTiming', () => {
  it('writes total, database and cache metrics in W3C Server-Timing syntax', () => {
    const header = serverTiming({ started: 100, queries: 1, queryMs: 2.345, hits: 1, misses: 0, stale: 0, source: 'GET /' }, 112.5);
    expect(header).toBe('total;dur=12.50, db;dur=2.35;desc="1 query", cache;desc="1 hit, 0 misses, 0 stale"');
    expect(serverTiming({ started: 0, queries: 0, queryMs: 0, hits: 0, misses: 2, stale: 1, source: '' }, 1)).toContain('db;dur=0.00;desc="0 queries", cache;desc="0 hits, 2 misses, 1 stale"');
  });
});

describe('dashboard activity', () => {
  it('counts hits and misses per time bucket and keeps a window of buckets', async () => {
    let now = 1_000_000;
    const cache = createCache();
    const activity = new CacheActivity(cache, { bucketMs: 1000, buckets: 3, now: () => now });
    await cache.getOrSet('a', () => 1);
    await cache.getOrSet('a', () => 1);
    now += 1000;
    await cache.getOrSet('a', () => 1);
    expect(activity.series().map((b) => [b.hits, b.misses])).toEqual([
      [0, 0],
      [1, 1],
      [1, 0],
    ]);
    now += 10_000;
    expect(activity.series().every((b) => b.hits === 0 && b.misses === 0)).toBe(true);
    activity.dispose();
    await cache.close();
  });

  it('records the latest invalidations first, with their source, up to a limit', async () => {
    const cache = createCache();
    let source: string | undefined = 'POST /x';
    const activity = new CacheActivity(cache, { keep: 2, source: () => source });
    await cache.invalidateFragment('card', [1]);
    source = undefined;
    await cache.invalidateTags(['a', 'b']);
    await cache.clear();
    expect(activity.invalidations().map((r) => [r.what, r.source])).toEqual([
      ['everything (clear)', 'app'],
      ['tags a, b', 'app'],
    ]);
    activity.dispose();
    await cache.close();
  });

  it('describes stored keys for people', () => {
    expect(describeKey(':1:fragment:sidebar')).toBe('fragment sidebar');
    expect(describeKey('p:2:fragment:card:5f0c8e1a9b2d4c6e8f1a3b5c7d9e0f12')).toBe('fragment card #5f0c8e1a');
    expect(describeKey(':1:view:about.njk:42')).toBe('view about.njk 42');
    expect(describeKey(':1:post-list:1')).toBe('key :1:post-list:1');
    expect(describeInvalidation({ kind: 'tags', tags: ['post:1'] })).toBe('tag post:1');
    expect(describeInvalidation({ kind: 'keys', keys: [':1:fragment:card:5f0c8e1a'], fragment: { name: 'card', varyOn: [42, '2026-01-03'] } })).toBe('fragment card [42, "2026-01-03"]');
  });

  it('hears which fragment invalidateFragment removed, with its vary-on values', async () => {
    const cache = createCache({ logger: false });
    const activity = new CacheActivity(cache);
    await cache.invalidateFragment('card', [42]);
    await cache.invalidateFragment('sidebar');
    expect(activity.invalidations().map((r) => r.what)).toEqual(['fragment sidebar', 'fragment card [42]']);
    activity.dispose();
    await cache.close();
  });
});

describe('hit/miss chart', () => {
  it('draws one stacked bar per bucket, with a tooltip each, and escapes nothing unsafe in', () => {
    const svg = hitMissChart(
      [
        { start: 0, hits: 3, misses: 1 },
        { start: 10_000, hits: 0, misses: 0 },
      ],
      { bucketMs: 10_000 },
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain('<title>00:00:00 UTC: 3 hits, 1 misses</title>');
    expect(svg).toContain('aria-label="Cache lookups over the last 0 minutes');
  });

  it('labels its scale (0, middle, maximum) and its time axis, also in HTML for narrow screens', () => {
    const series = Array.from({ length: 60 }, (_, i) => ({ start: Date.UTC(2026, 0, 1, 12, 0, 0) + i * 10_000, hits: i, misses: 0 }));
    const svg = hitMissChart(series, { bucketMs: 10_000 });
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(['0', '30', '59', '12:00', '12:02', '12:05', '12:07', 'now']);
    const axis = chartAxis(series, { bucketMs: 10_000 });
    expect([...axis.matchAll(/<span>([^<]*)<\/span>/g)].map((m) => m[1])).toEqual(['12:00', '12:02', '12:05', '12:07', 'now']);
    expect(axis).toContain('scale 0 to 59 (dashed lines at 30 and 59)');
  });
});
