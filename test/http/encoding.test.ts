/**
 * A compression middleware mounted before the page cache (the usual Express order) encodes the
 * body after the cache captured it. Storing those bytes under its Content-Encoding would replay
 * plain text labelled gzip; such pages must not be cached.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { cachePage } from '../../src/http.js';
import type { PageSkipReason } from '../../src/http/policy.js';
import { FRAMEWORKS, serve, type TestServer } from './support.js';

/** The structure of `compression`: decides at writeHead, passes through what is already encoded. */
function gzipLike(_req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const chunks: Buffer[] = [];
  let passthrough = false;
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
  res.writeHead = ((...args: unknown[]) => {
    passthrough = res.getHeader('content-encoding') !== undefined;
    if (!passthrough) {
      res.setHeader('Content-Encoding', 'gzip');
      res.removeHeader('Content-Length');
    }
    return writeHead(...args);
  }) as ServerResponse['writeHead'];
  res.write = ((chunk: unknown) => {
    chunks.push(Buffer.from(chunk as string));
    return true;
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown) => {
    if (chunk !== undefined && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as string));
    if (!res.headersSent) res.writeHead(res.statusCode);
    const body = Buffer.concat(chunks);
    return end(passthrough ? body : gzipSync(body));
  }) as ServerResponse['end'];
  next();
}

describe.each(FRAMEWORKS)('compression mounted before the page cache, on %s', (framework) => {
  let cache: Cache;
  let server: TestServer;
  afterEach(async () => {
    await server?.close();
    await cache?.close();
  });

  it('does not cache the page, so every response decodes', async () => {
    cache = createCache();
    const skipped: PageSkipReason[] = [];
    server = await serve(framework, {
      use: [gzipLike as never],
      routes: [{ path: '/page', use: [cachePage(cache, { ttl: 60, onSkip: (reason) => skipped.push(reason) })], handler: (_req, res) => res.end('<p>hello</p>'.repeat(50)) }],
    });
    for (let i = 0; i < 3; i += 1) {
      const reply = await server.get('/page');
      expect(reply.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(reply.raw).toString()).toBe('<p>hello</p>'.repeat(50));
      expect(reply.headers['x-cache']).toBe('MISS');
    }
    expect(skipped).toContain('encoded-after-capture');
  });
});
