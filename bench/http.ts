/**
 * Whole-page HTTP rows: requests per second and p99 latency of the bench page served from the
 * page cache, against a plain `node:http` server returning the same string from memory (the Node
 * limit), and against Express with `apicache` caching the same page (the popular peer).
 *
 * Each server runs in its own process (procs/server.ts), and the load in another (procs/load.ts:
 * autocannon, 50 connections, keep-alive, after a warm-up run), all on 127.0.0.1. On two cores the
 * server and the load generator get one each. Servers run in a different order each round; a
 * ratio is the median of the ratios within a round.
 */
import { runChild, startChild } from './lib/child.js';
import { lib } from './lib/library.js';
import { median } from './lib/stats.js';
import { judge, type BenchContext, type GroupResult, type Row } from './lib/types.js';
import { cachePageOf, VARIANTS, type Variant } from './lib/servers.js';
import type { LoadResult } from './procs/load.js';

const SERVER = new URL('./procs/server.ts', import.meta.url);
const LOAD = new URL('./procs/load.ts', import.meta.url);
const CONNECTIONS = 50;

interface Measured extends LoadResult {
  variant: Variant;
  /** Times the page handler ran during the measured load (0 when every request was a cache hit). */
  rendersUnderLoad: number;
}

async function getText(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

async function measure(variant: Variant, warmupSeconds: number, seconds: number): Promise<Measured> {
  const server = await startChild<{ port: number; bytes: number }>(SERVER, [variant], { timeoutMs: 60_000 });
  try {
    const base = `http://127.0.0.1:${server.ready.port}`;
    // Fill the cache and check the page is whole, twice (the second is a hit where there is a cache).
    for (let i = 0; i < 2; i++) {
      const { status, body } = await getText(`${base}/`);
      if (status !== 200 || Buffer.byteLength(body) !== server.ready.bytes) {
        throw new Error(`bench: ${variant} answered ${status} with ${Buffer.byteLength(body)} bytes, expected 200 with ${server.ready.bytes}`);
      }
    }
    const renders = async () => (JSON.parse((await getText(`${base}/__bench/renders`)).body) as { renders: number }).renders;
    const before = await renders();
    const load = await runChild<LoadResult>(LOAD, [`${base}/`, String(CONNECTIONS), String(warmupSeconds), String(seconds)], { timeoutMs: (warmupSeconds + seconds) * 1000 + 60_000 });
    return { ...load, variant, rendersUnderLoad: (await renders()) - before };
  } finally {
    await server.stop();
  }
}

export async function runHttp(context: BenchContext): Promise<GroupResult> {
  const skipped: string[] = [];
  const hasPageCache = cachePageOf(lib) !== undefined;
  if (!hasPageCache) skipped.push('HTTP rows for cachePage: src/ does not export cachePage yet (the limits and apicache still run)');
  const variants = VARIANTS.filter((variant) => hasPageCache || !variant.startsWith('ours'));
  const rounds = context.quick ? 1 : 2;
  const warmup = context.quick ? 0.5 : 1;
  const seconds = context.quick ? 2 : 5;

  const perRound: Array<Partial<Record<Variant, Measured>>> = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    const results: Partial<Record<Variant, Measured>> = {};
    for (const variant of order) {
      const m = await measure(variant, warmup, seconds);
      results[variant] = m;
      context.log(`http: round ${round + 1}/${rounds} ${variant}: ${Math.round(m.rps)} req/s, p99 ${m.p99Ms} ms, ${m.rendersUnderLoad} renders, ${m.errors + m.non2xx} errors`);
    }
    perRound.push(results);
  }

  const med = (variant: Variant, pick: (m: Measured) => number) => median(perRound.map((r) => pick(r[variant] as Measured)));
  const ratio = (top: Variant, bottom: Variant) => median(perRound.map((r) => (r[top] as Measured).rps / (r[bottom] as Measured).rps));
  const figure = (variant: Variant) => ({ value: med(variant, (m) => m.rps), unit: 'req/s', secondary: { label: 'p99', value: med(variant, (m) => m.p99Ms), unit: 'ms' } });
  const health = (variant: Variant) => {
    const all = perRound.map((r) => r[variant] as Measured);
    const failures = all.reduce((n, m) => n + m.errors + m.non2xx, 0);
    const renders = all.reduce((n, m) => n + m.rendersUnderLoad, 0);
    return `${failures} errors; handler ran ${renders} times under load`;
  };

  const rows: Row[] = [];
  const compare = (id: string, label: string, top: Variant, bottom: Variant, baseline: string, target?: Row['target'], extra = '') => {
    const r = ratio(top, bottom);
    const t = figure(top);
    const b = figure(bottom);
    rows.push({
      id,
      label,
      value: t.value,
      unit: t.unit,
      secondary: t.secondary,
      baseline: { label: baseline, value: b.value, unit: b.unit, secondary: b.secondary },
      ratio: r,
      ratioMeaning: 'req/s ÷ baseline',
      ...(target ? { target, met: judge(r, target) as boolean } : {}),
      note: `${health(top)}${extra}`,
    });
  };
  if (hasPageCache) {
    compare('http.cache-page.node', 'Cached page: cachePage on node:http', 'ours-node', 'node', 'node:http limit', { op: '>=', value: 0.8, text: '≥ 0.8x node:http' });
    compare('http.cache-page.vs-apicache', 'Cached page: cachePage on Express', 'ours-express', 'apicache-express', 'apicache on Express', { op: '>', value: 1, text: '> 1x apicache' });
    compare('http.cache-page.express', 'Cached page: cachePage on Express, against Express', 'ours-express', 'express', 'Express limit');
  }
  compare('http.apicache.node', 'Cached page: apicache on Express, against node:http', 'apicache-express', 'node', 'node:http limit');
  compare('http.express.node', 'Express returning the string, against node:http', 'express', 'node', 'node:http limit', undefined, '; context: what Express itself costs');
  return {
    group: 'http',
    rows,
    skipped,
    detail: { connections: CONNECTIONS, warmupSeconds: warmup, seconds, rounds, perRound },
  };
}
