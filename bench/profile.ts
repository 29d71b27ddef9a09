/**
 * Where the time goes on one page: renders it in a loop under `node --cpu-prof` (in a child
 * process), then prints the functions with the most self time, the most inclusive time, and a
 * split by package.
 *
 *   npx tsx bench/profile.ts                       warm page, memory store (the default)
 *   npx tsx bench/profile.ts --page static         the static limit, for comparison
 *   npx tsx bench/profile.ts --page cold           the page without caching
 *   npx tsx bench/profile.ts --page floor-async    the Map-backed tag (also floor-sync, nested)
 *   npx tsx bench/profile.ts --store sqlite        warm page on SQLite (redis, redis-tier need REDIS_URL)
 *   npx tsx bench/profile.ts --seconds 5 --top 25
 *   npx tsx bench/profile.ts --http ours-express   an HTTP server of the HTTP rows, under load
 *
 * The profile is written to bench/results/<page>-<store>.cpuprofile (ignored by git; open it in
 * Chrome DevTools or speedscope). `--summarize file.cpuprofile` prints the summary of a profile.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCache, createSqliteStore, type Cache } from './lib/library.js';
import { benchRedisStore } from './lib/bench-stores.js';
import { createPageFixture, type PageName } from './fixtures/page.js';
import { report, reportFailure, runChild, startChild } from './lib/child.js';
import { VARIANTS, type Variant } from './lib/servers.js';
import type { LoadRequest, LoadResult } from './procs/load.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  views: number;
  usPerView: number;
  self: Array<{ name: string; ms: number; share: number }>;
  inclusive: Array<{ name: string; ms: number; share: number }>;
  byPackage: Array<{ name: string; ms: number; share: number }>;
}

/** Paths relative to the repository; the compiled library (bench/.build/<pid>/src) reads as src/. */
function shortPath(url: string): string {
  let path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith(root)) path = relative(root, path);
  return path.replace(/^bench\/\.build\/[^/]+\//, '').replace(/^.*node_modules\//, '');
}

function where(frame: CallFrame): string {
  if (frame.url === '') return '';
  return `${shortPath(frame.url)}:${frame.lineNumber + 1}`;
}

function label(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  const at = where(frame);
  return at ? `${name} ${at}` : name;
}

function packageOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : 'V8 builtins';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (match) return match[1] as string;
  const short = shortPath(url);
  if (short.startsWith('src/')) return `our ${short.split('/').slice(0, 2).join('/')}`;
  if (path.startsWith(here)) return 'bench harness';
  return path;
}

/** Samples between `from` and `to` (µs, the profile's clock); all of them when the window misses the profile. */
function windowed(profile: CpuProfile, from: number | undefined, to: number | undefined): CpuProfile {
  if (from === undefined || to === undefined || to <= profile.startTime || from >= profile.endTime) return profile;
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= from && at <= to) {
      samples.push(id);
      timeDeltas.push(delta);
    }
  });
  return { ...profile, samples, timeDeltas, startTime: from, endTime: to };
}

export function summarize(whole: CpuProfile, views: number, top = 20, window: { from?: number; to?: number } = {}): ProfileSummary {
  const profile = windowed(whole, window.from, window.to);
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (node === undefined) return;
    total += ms;
    if (node.callFrame.functionName !== '(idle)') busy += ms;
    self.set(label(node.callFrame), (self.get(label(node.callFrame)) ?? 0) + ms);
    packages.set(packageOf(node.callFrame), (packages.get(packageOf(node.callFrame)) ?? 0) + ms);
    // Inclusive: each function once per sample, however deep the recursion (Nunjucks nests).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame === undefined) break;
      const name = label(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    }
  });
  const rank = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms, share: ms / total }));
  const boring = /^\((root|program|idle)\)/;
  return {
    totalMs: total,
    views,
    usPerView: views > 0 ? (busy * 1000) / views : Number.NaN,
    self: rank(self, top),
    inclusive: rank(new Map([...inclusive].filter(([name]) => !boring.test(name))), top),
    byPackage: rank(packages, 12),
  };
}

export function printSummary(summary: ProfileSummary, title: string): string {
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)}%`;
  const lines = [`${title}: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.views} views, ${summary.usPerView.toFixed(1)} µs of CPU (not idle) a view`, '', 'Self time:'];
  for (const row of summary.self) lines.push(`  ${pct(row.share)}  ${row.name}`);
  lines.push('', 'Inclusive time (each function once per sample):');
  for (const row of summary.inclusive) lines.push(`  ${pct(row.share)}  ${row.name}`);
  lines.push('', 'By package:');
  for (const row of summary.byPackage) lines.push(`  ${pct(row.share)}  ${row.name}`);
  return lines.join('\n');
}

/** In the profiled child: render `page` on `store` for `seconds`, report the number of views. */
async function profiled(page: string, store: string, seconds: number): Promise<void> {
  const fixture = await createPageFixture();
  let cache: Cache;
  let file: string | undefined;
  if (store === 'memory') cache = createCache({ store: 'memory' });
  else if (store === 'sqlite') {
    file = join(tmpdir(), `njkc-profile-${randomUUID().slice(0, 8)}.db`);
    cache = createCache({ store: createSqliteStore({ path: file, sweepIntervalMs: 0 }) });
  } else if (store === 'redis' || store === 'redis-tier') {
    if (!process.env.REDIS_URL) throw new Error(`--store ${store} needs REDIS_URL`);
    cache = createCache({ store: benchRedisStore(process.env.REDIS_URL, store === 'redis-tier') });
    await cache.connect();
  } else throw new Error(`unknown store ${store}: memory, sqlite, redis, redis-tier`);
  const env = fixture.environment(cache);
  const pages: Record<string, PageName> = { warm: 'page.njk', static: 'page-static.njk', cold: 'page-cold.njk', 'floor-sync': 'page-floor-sync.njk', 'floor-async': 'page-floor-async.njk', nested: 'page-nested.njk' };
  const name = pages[page];
  if (name === undefined) throw new Error(`unknown page ${page}: ${Object.keys(pages).join(', ')}`);
  for (let i = 0; i < 200; i++) await fixture.view(env, name, i);
  let views = 0;
  // Node's hrtime and V8's profile timestamps share the monotonic clock: the parent keeps only
  // the samples taken inside this loop (not start-up, not warm-up).
  const from = Number(process.hrtime.bigint() / 1000n);
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 50; i++) await fixture.view(env, name, views++);
  }
  const to = Number(process.hrtime.bigint() / 1000n);
  await report({ views, from, to });
  if (store.startsWith('redis')) await cache.clear();
  await cache.close();
  await fixture.close();
  if (file) for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      page: { type: 'string', default: 'warm' },
      store: { type: 'string', default: 'memory' },
      seconds: { type: 'string', default: '4' },
      top: { type: 'string', default: '20' },
      child: { type: 'boolean', default: false },
      summarize: { type: 'string' },
      http: { type: 'string' },
    },
  });
  const page = values.page as string;
  const store = values.store as string;
  if (values.child) return profiled(page, store, Number(values.seconds));
  if (values.summarize) {
    const profile = JSON.parse(readFileSync(values.summarize, 'utf8')) as CpuProfile;
    process.stdout.write(`${printSummary(summarize(profile, 0, Number(values.top)), values.summarize)}\n`);
    return;
  }
  // Every thread writes a profile (tsx loads modules in a worker): keep the main thread's (tid 0).
  const scratch = mkdtempSync(join(tmpdir(), 'njkc-prof-'));
  const flags = ['--cpu-prof', `--cpu-prof-dir=${scratch}`, '--cpu-prof-interval=100'];
  const keep = (name: string): CpuProfile => {
    const main = readdirSync(scratch).find((file) => /\.\d+\.0\.\d+\.cpuprofile$/.test(file));
    if (main === undefined) throw new Error(`no main-thread profile in ${scratch}`);
    mkdirSync(join(here, 'results'), { recursive: true });
    const out = join(here, 'results', `${name}.cpuprofile`);
    copyFileSync(join(scratch, main), out);
    rmSync(scratch, { recursive: true, force: true });
    process.stderr.write(`profile written to ${relative(process.cwd(), out)}\n`);
    return JSON.parse(readFileSync(out, 'utf8')) as CpuProfile;
  };

  if (values.http !== undefined) {
    const variant = values.http as Variant;
    if (!VARIANTS.includes(variant)) throw new Error(`--http takes one of ${VARIANTS.join(', ')}`);
    const server = await startChild<{ port: number }>(new URL('./procs/server.ts', import.meta.url), [variant], { nodeFlags: flags });
    const url = `http://127.0.0.1:${server.ready.port}/`;
    await fetch(url).then((r) => r.text());
    const generator = await startChild<{ pid: number }>(new URL('./procs/load.ts', import.meta.url));
    await generator.request<LoadResult>({ url, connections: 50, seconds: 1 } satisfies LoadRequest);
    // CLOCK_MONOTONIC is shared by every process on Linux: the server's profile is cut to this burst.
    const from = Number(process.hrtime.bigint() / 1000n);
    const load = await generator.request<LoadResult>({ url, connections: 50, seconds: Number(values.seconds) } satisfies LoadRequest);
    const to = Number(process.hrtime.bigint() / 1000n);
    await generator.stop();
    await server.stop();
    const profile = keep(`http-${variant}`);
    process.stdout.write(`${printSummary(summarize(profile, load.requests, Number(values.top), { from, to }), `${variant} server under load, ${Math.round(load.rps)} req/s (views = requests)`)}\n`);
    return;
  }

  const { views, from, to } = await runChild<{ views: number; from: number; to: number }>(new URL(import.meta.url), ['--child', '--page', page, '--store', store, '--seconds', String(values.seconds)], {
    nodeFlags: flags,
    timeoutMs: 120_000,
  });
  const profile = keep(`${page}-${store}`);
  process.stdout.write(`${printSummary(summarize(profile, views, Number(values.top), { from, to }), `${page} page, ${store} store`)}\n`);
}

const isChild = process.argv.includes('--child');
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    async (error: unknown) => {
      if (isChild) await reportFailure(error);
      else process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
