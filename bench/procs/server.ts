/**
 * One HTTP server for the HTTP rows, in its own process, on 127.0.0.1 and a free port:
 *
 *   server.ts <variant>
 *
 *   node              node:http returning the page, a string held in memory (the Node limit)
 *   express           Express 5 returning the same string (the Express limit; context)
 *   ours-node         node:http + cachePage(cache, { ttl: 600 }) in front of the page handler
 *   ours-express      Express 5 + cachePage(cache, { ttl: 600 }) on the route
 *   apicache-express  Express 5 + apicache.middleware('10 minutes') on the route (the popular peer)
 *
 * The page handler renders the bench page (fragments on the same memory-store cache) for one
 * anonymous view: whole-page caching serves the same bytes to everyone. `GET /__bench/renders`
 * (outside any cache) says how often the handler ran, so the bench can check the load was served
 * from the cache, and how much CPU time the process has used (user + system, µs).
 */
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import apicache from 'apicache';
import express from 'express';
import { createPageFixture } from '../fixtures/page.js';
import { report, reportFailure } from '../lib/child.js';
import { cachePage, createCache } from '../lib/library.js';
import { VARIANTS, type Variant } from '../lib/servers.js';

const RENDERS = '/__bench/renders';

async function main(): Promise<void> {
  const variant = process.argv[2] as Variant;
  if (!VARIANTS.includes(variant)) throw new Error(`usage: server.ts <${VARIANTS.join('|')}>`);
  if (variant.startsWith('ours') && typeof cachePage !== 'function') throw new Error('this src/ does not export cachePage');
  const fixture = await createPageFixture();
  const cache = createCache({ store: 'memory' });
  const env = fixture.environment(cache);
  const html = await fixture.view(env, 'page.njk', 0);
  let renders = 0;
  const renderPage = async (): Promise<string> => {
    renders += 1;
    return fixture.view(env, 'page.njk', 0);
  };
  const counted = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const cpu = process.cpuUsage();
    res.end(JSON.stringify({ renders, cpuUs: cpu.user + cpu.system }));
  };
  const send = (res: ServerResponse, body: string) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  let server: http.Server;
  if (variant === 'node') {
    server = http.createServer((req, res) => (req.url === RENDERS ? counted(res) : send(res, html)));
  } else if (variant === 'ours-node') {
    const middleware = cachePage(cache, { ttl: 600 });
    server = http.createServer((req, res) => {
      if (req.url === RENDERS) return counted(res);
      middleware(req, res, (error) => {
        if (error) {
          res.statusCode = 500;
          res.end(String(error));
          return;
        }
        renderPage().then(
          (body) => send(res, body),
          (failure: unknown) => {
            res.statusCode = 500;
            res.end(String(failure));
          },
        );
      });
    });
  } else {
    const app = express();
    app.get(RENDERS, (_req, res) => counted(res));
    const handler = async (_req: express.Request, res: express.Response) => {
      res.type('html').send(await renderPage());
    };
    if (variant === 'express') app.get('/', (_req, res) => res.type('html').send(html));
    else if (variant === 'ours-express') app.get('/', cachePage(cache, { ttl: 600 }), handler);
    else app.get('/', apicache.middleware('10 minutes'), handler);
    server = http.createServer(app);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => {
      void cache.close().then(() => fixture.close()).finally(() => process.exit(0));
    });
  });
  await report({ port, bytes: Buffer.byteLength(html) });
}

main().catch(async (error: unknown) => {
  await reportFailure(error);
  process.exit(1);
});
