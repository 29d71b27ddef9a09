/**
 * A second application process for the page race tests: one cachePage route on the store given in
 * PAGE_STORE, whose handler reports over IPC that it is rendering and answers only once the parent
 * releases it — so the parent can invalidate while this process's render is under way.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCache } from '../../../src/index.js';
import { cachePage } from '../../../src/http.js';

const cache = createCache({ store: process.env.PAGE_STORE, keyPrefix: process.env.PAGE_PREFIX, timeoutMs: 5_000 });
const middleware = cachePage(cache, { ttl: 600, tags: ['posts'] });
const waiting = new Map<string, () => void>();

const server = createServer((req, res) => {
  middleware(req, res, () => {
    const id = String(req.headers['x-render-id']);
    const version = String(req.headers['x-version']); // read first…
    const answer = (): void => {
      res.setHeader('Vary', 'Cookie');
      res.end(`v${version}`);
    };
    if (req.headers['x-hold'] !== '1') return answer();
    // …then answer once released (the parent invalidates meanwhile)
    waiting.set(id, answer);
    process.send?.({ event: 'rendering', id });
  });
});

process.on('message', (message: { op: string; id?: string }) => {
  if (message.op === 'release') {
    waiting.get(message.id as string)?.();
    waiting.delete(message.id as string);
  } else if (message.op === 'exit') {
    server.close();
    void cache.close().then(() => process.exit(0));
  }
});

await cache.connect();
server.listen(0, '127.0.0.1', () => process.send?.({ event: 'ready', port: (server.address() as AddressInfo).port }));
