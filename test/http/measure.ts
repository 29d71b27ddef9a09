/**
 * Requests per second for a page served by cachePage (memory store, all hits) against a plain
 * node:http server answering the same string from memory — measured in the same run, on loopback,
 * with autocannon in this process and each server in its own child process. The ratio is the figure.
 *
 *     npx tsx test/http/measure.ts [--duration 5] [--connections 50] [--rounds 6] [--dist]
 *
 * `--dist` serves the compiled package (`npm run build` first) instead of the TypeScript sources
 * run through tsx, whose keep-names helper adds a little to every closure the middleware creates.
 *
 * Rounds alternate plain, cached, plain, cached…; each round's ratio compares two neighbouring
 * runs, and the median of those ratios is reported, so a noisy neighbour on the machine moves the
 * absolute numbers more than the figure.
 *
 * (Not a vitest file: vitest only collects *.test.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

type Library = typeof import('../../src/index.js') & typeof import('../../src/http.js');
const DIST = process.argv.includes('--dist');

/** A ~6 KB HTML page, the same bytes from both servers. */
const PAGE = `<!doctype html><html><head><title>Posts</title></head><body><ul>${Array.from({ length: 60 }, (_, i) => `<li><a href="/posts/${i}">Post number ${i}</a> — a short summary line</li>`).join('')}</ul></body></html>`;

type Kind = 'plain' | 'cached';

async function serve(kind: Kind): Promise<void> {
  // A computed specifier, so the type checker does not require a build.
  const entry = async (name: string): Promise<object> => (await import(DIST ? ['..', '..', 'dist', 'src', `${name}.js`].join('/') : `../../src/${name}.js`)) as object;
  const library = { ...(await entry('index')), ...(await entry('http')) } as Library;
  const { cachePage, createCache } = library;
  const send = (res: import('node:http').ServerResponse): void => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(PAGE);
  };
  const page = cachePage(createCache(), { ttl: 3600 });
  const server = createServer(kind === 'plain' ? (_req, res) => send(res) : (req, res) => page(req, res, () => send(res)));
  server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`));
}

function start(kind: Kind): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'serve', kind, ...(DIST ? ['--dist'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\d+)/.exec(out);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

function get(port: number): Promise<{ body: string; cache: string | undefined }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', headers: { host: 'bench.test' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ body, cache: res.headers['x-cache'] as string | undefined }));
    })
      .on('error', reject)
      .end();
  });
}

async function load(port: number, duration: number, connections: number): Promise<number> {
  const result = await autocannon({ url: `http://127.0.0.1:${port}/`, headers: { host: 'bench.test' }, connections, duration });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`port ${port}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i < 0 ? fallback : Number(process.argv[i + 1]);
  };
  const duration = arg('duration', 5);
  const connections = arg('connections', 50);
  const rounds = arg('rounds', 6);
  const servers = { plain: await start('plain'), cached: await start('cached') };
  try {
    await get(servers.cached.port); // the miss that stores the page
    const check = await get(servers.cached.port);
    const plain = await get(servers.plain.port);
    if (check.cache !== 'HIT' || check.body !== plain.body) throw new Error('the cached server is not serving hits of the same page');
    await load(servers.plain.port, 1, connections); // warm both up
    await load(servers.cached.port, 1, connections);
    const runs: Record<Kind, number[]> = { plain: [], cached: [] };
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const order: Kind[] = round % 2 === 0 ? ['plain', 'cached'] : ['cached', 'plain'];
      for (const kind of order) runs[kind].push(await load(servers[kind].port, duration, connections));
      ratios.push((runs.cached.at(-1) as number) / (runs.plain.at(-1) as number));
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const median = (xs: number[]): number => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
    };
    const list = (xs: number[], digits = 0): string => xs.map((x) => x.toFixed(digits)).join(', ');
    console.log(`${DIST ? 'dist' : 'src via tsx'}, node ${process.version}, ${PAGE.length}-byte page, ${connections} connections, ${rounds} rounds of ${duration}s per server`);
    console.log(`plain node:http   mean ${mean(runs.plain).toFixed(0)} req/s  (${list(runs.plain)})`);
    console.log(`cachePage (hits)  mean ${mean(runs.cached).toFixed(0)} req/s  (${list(runs.cached)})`);
    console.log(`ratio cached/plain per round: ${list(ratios, 2)}`);
    console.log(`median ratio cached/plain: ${median(ratios).toFixed(2)}`);
  } finally {
    servers.plain.child.kill();
    servers.cached.child.kill();
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3] as Kind);
else await main();
