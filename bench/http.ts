/**
 * Whole-page HTTP rows: requests per second and p99 latency of the bench page served from the
 * page cache, against a plain `node:http` server returning the same string from memory (the Node
 * limit), and against Express with `apicache` caching the same page (the popular peer).
 *
 * Each server runs in its own process (procs/server.ts), pinned to core 0 with `taskset`, and the
 * load comes from `wrk` (one thread, 50 keep-alive connections) in its own process pinned to core 1
 * (lib/wrk.ts), all on 127.0.0.1; idle servers cost nothing. Each row shows wrk's own CPU next to
 * the server's: a load generator near 100% of its core was the limit, not the server. The servers
 * are started once and
 * loaded in short bursts, several rounds in a rotating order, so that the load other work puts on
 * the machine drifts less between the two sides of a ratio: a number is the median of the rounds,
 * a ratio the median of the ratios within a round.
 */
import { startChild, type RunningChild } from './lib/child.js';
import { median, rotate, summary } from './lib/stats.js';
import { lib } from './lib/library.js';
import { VARIANTS, type Variant } from './lib/servers.js';
import { judge, type BenchContext, type GroupResult, type Row } from './lib/types.js';
import { pinToCore, runWrk, wrkSetup, type WrkResult } from './lib/wrk.js';

const SERVER = new URL('./procs/server.ts', import.meta.url);
const CONNECTIONS = 50;
/** Cores for the server under load and for wrk (taskset -c), when there are two and taskset is here. */
const SERVER_CORE = 0;
const LOAD_CORE = 1;

interface Burst extends WrkResult {
  /** Times the page handler ran during the burst (0 when every request was a cache hit). */
  renders: number;
  /** Server CPU time (user + system) per request, µs: what a request costs the server, however busy the machine. */
  cpuUsPerRequest: number;
}

interface Server {
  variant: Variant;
  child: RunningChild<{ port: number; bytes: number }>;
  url: string;
}

async function getText(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

async function startServer(variant: Variant, pin: boolean): Promise<Server> {
  const child = await startChild<{ port: number; bytes: number }>(SERVER, [variant], { timeoutMs: 60_000 });
  if (pin) pinToCore(child.pid, SERVER_CORE);
  const url = `http://127.0.0.1:${child.ready.port}/`;
  // Fill the cache and check the page is whole, twice (the second is a hit where there is a cache).
  for (let i = 0; i < 2; i++) {
    const { status, body } = await getText(url);
    if (status !== 200 || Buffer.byteLength(body) !== child.ready.bytes) {
      await child.stop();
      throw new Error(`bench: ${variant} answered ${status} with ${Buffer.byteLength(body)} bytes, expected 200 with ${child.ready.bytes}`);
    }
  }
  return { variant, child, url };
}

async function counters(server: Server): Promise<{ renders: number; cpuUs: number }> {
  return JSON.parse((await getText(`${server.url}__bench/renders`)).body) as { renders: number; cpuUs: number };
}

export async function runHttp(context: BenchContext): Promise<GroupResult> {
  const rounds = context.quick ? 1 : 7;
  const seconds = context.quick ? 1 : 2; // wrk takes whole seconds
  const warmup = 1;
  // Checked out at a commit from before the page cache was exported: measure the rest.
  const hasPageCache = typeof (lib as { cachePage?: unknown }).cachePage === 'function';
  const variants = VARIANTS.filter((variant) => hasPageCache || !variant.startsWith('ours'));
  const skipped = hasPageCache ? [] : ['cachePage rows: this src/ does not export cachePage'];
  const setup = wrkSetup();
  if (!setup.wrk) return { group: 'http', rows: [], skipped: ['HTTP rows: wrk is not installed (apt-get install wrk)'] };
  if (!setup.pinning) skipped.push('HTTP pinning: taskset or a second core is missing, so server and wrk share the cores');
  const servers: Server[] = [];
  try {
    for (const variant of variants) servers.push(await startServer(variant, setup.pinning));
    const burst = async (server: Server, duration: number): Promise<Burst> => {
      const before = await counters(server);
      const result = await runWrk({ url: server.url, connections: CONNECTIONS, seconds: duration, core: setup.pinning ? LOAD_CORE : undefined });
      const after = await counters(server);
      return { ...result, renders: after.renders - before.renders, cpuUsPerRequest: (after.cpuUs - before.cpuUs) / Math.max(1, result.requests) };
    };
    for (const server of servers) await burst(server, warmup); // JIT, connection pools, caches

    const perRound: Array<Record<Variant, Burst>> = [];
    for (let round = 0; round < rounds; round++) {
      const results = {} as Record<Variant, Burst>;
      for (const server of rotate(servers, round)) results[server.variant] = await burst(server, seconds);
      perRound.push(results);
      context.log(`http: round ${round + 1}/${rounds} ${variants.map((v) => `${v}=${Math.round(results[v].rps)}`).join(' ')} req/s`);
    }

    const med = (variant: Variant, pick: (b: Burst) => number) => median(perRound.map((r) => pick(r[variant])));
    const ratios = (top: Variant, bottom: Variant) => summary(perRound.map((r) => r[top].rps / r[bottom].rps));
    const figure = (variant: Variant) => ({
      value: med(variant, (b) => b.rps),
      unit: 'req/s',
      secondary: [
        { label: 'p99', value: med(variant, (b) => b.p99Ms), unit: 'ms' },
        { label: 'server CPU', value: med(variant, (b) => b.cpuUsPerRequest), unit: 'µs/req' },
        { label: 'wrk CPU', value: med(variant, (b) => b.loadCpuUsPerRequest), unit: 'µs/req' },
        { label: 'wrk busy', value: Math.round(100 * med(variant, (b) => b.loadCpuShare)), unit: '% of a core' },
      ],
    });
    const health = (variant: Variant) => {
      const failures = perRound.reduce((n, r) => n + r[variant].errors + r[variant].non2xx, 0);
      const handled = perRound.reduce((n, r) => n + r[variant].renders, 0);
      return `${failures} errors, page handler ran ${handled} times under load`;
    };

    const rows: Row[] = [];
    const compare = (id: string, label: string, top: Variant, bottom: Variant, baseline: string, target?: Row['target'], extra = '') => {
      const { median: r, range } = ratios(top, bottom);
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
        ratioRange: range,
        ...(target ? { target, met: judge(r, target) as boolean } : {}),
        note: `${health(top)}${extra}`,
      });
    };
    const method = `; ${rounds} rounds of ${seconds} s bursts of wrk (1 thread, ${CONNECTIONS} keep-alive connections)${setup.pinning ? `, wrk on core ${LOAD_CORE}, server on core ${SERVER_CORE} (taskset)` : ', unpinned'}`;
    if (hasPageCache) {
      compare('http.cache-page.node', 'Cached page: cachePage on node:http', 'ours-node', 'node', 'node:http limit', { op: '>=', value: 0.8, text: '≥ 0.8x node:http' }, method);
      compare('http.cache-page.vs-apicache', 'Cached page: cachePage on Express', 'ours-express', 'apicache-express', 'apicache on Express', { op: '>=', value: 1.2, text: '≥ 1.2x apicache' });
      compare('http.cache-page.express', 'Cached page: cachePage on Express, against Express', 'ours-express', 'express', 'Express limit', undefined, '; the Express limit is res.send() of the string (ETag computed each time, Express defaults)');
    }
    compare('http.apicache.node', 'Cached page: apicache on Express, against node:http', 'apicache-express', 'node', 'node:http limit', undefined, hasPageCache ? '' : method);
    // What a request costs the server, whatever else the two cores are doing: the load generator
    // can saturate before a cheap server does, which squeezes the req/s ratios towards 1.
    const cpu = (id: string, label: string, top: Variant, bottom: Variant, baseline: string) => {
      const { median: r, range } = summary(perRound.map((round) => round[top].cpuUsPerRequest / round[bottom].cpuUsPerRequest));
      rows.push({
        id,
        label,
        value: med(top, (b) => b.cpuUsPerRequest),
        unit: 'µs/req',
        baseline: { label: baseline, value: med(bottom, (b) => b.cpuUsPerRequest), unit: 'µs/req' },
        ratio: r,
        ratioMeaning: 'server CPU ÷ baseline',
        ratioRange: range,
      });
    };
    if (hasPageCache) {
      cpu('http.cpu.node', 'Server CPU per request: cachePage on node:http', 'ours-node', 'node', 'node:http limit');
      cpu('http.cpu.vs-apicache', 'Server CPU per request: cachePage on Express', 'ours-express', 'apicache-express', 'apicache on Express');
    }
    return { group: 'http', rows, skipped, detail: { connections: CONNECTIONS, seconds, rounds, perRound } };
  } finally {
    for (const server of servers) await server.child.stop();
  }
}
