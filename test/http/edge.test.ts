/**
 * Tags for reverse proxies and CDNs: the header each one reads, safe keys, and purgers that
 * invalidateTags runs in the background (Fastly and Cloudflare against a local fake of their API).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, PageCacheError, type PurgeError } from '../../src/index.js';
import { cachePage, createCloudflarePurger, createFastlyPurger, createVarnishPurger, formatEdgeHeader } from '../../src/http.js';
import type { Purger } from '../../src/core/purge.js';
import type { CacheErrorEvent } from '../../src/core/types.js';

describe('formatEdgeHeader', () => {
  it('writes each proxy’s header with its separator', () => {
    const tags = ['post:1', 'posts'];
    expect(formatEdgeHeader(tags, { proxy: 'fastly' })).toEqual({ name: 'Surrogate-Key', value: 'post:1 posts' });
    expect(formatEdgeHeader(tags, { proxy: 'cloudflare' })).toEqual({ name: 'Cache-Tag', value: 'post:1,posts' });
    expect(formatEdgeHeader(tags, { proxy: 'varnish' })).toEqual({ name: 'xkey', value: 'post:1 posts' });
    expect(formatEdgeHeader(tags, { proxy: 'varnish', header: 'X-Tags', separator: ',' })).toEqual({ name: 'X-Tags', value: 'post:1,posts' });
    expect(formatEdgeHeader([], { proxy: 'varnish' })).toBeUndefined();
  });

  it('hashes a tag a header cannot carry as it is (separators, spaces, non-ASCII)', () => {
    const value = formatEdgeHeader(['post 1', 'a,b', 'café', 'ok'], { proxy: 'cloudflare' })?.value ?? '';
    const keys = value.split(',');
    expect(keys).toHaveLength(4);
    expect(keys[3]).toBe('ok');
    for (const key of keys.slice(0, 3)) expect(key).toMatch(/^h-[A-Za-z0-9_-]{22}$/);
  });

  it('never shows a private tag: a keyed hash with a secret, else the catch-all key', () => {
    const plain = formatEdgeHeader(['post:1', 'private:user:alice'], { proxy: 'fastly' });
    expect(plain).toEqual({ name: 'Surrogate-Key', value: 'njkc-all' });
    const keyed = formatEdgeHeader(['post:1', 'private:user:alice'], { proxy: 'fastly', secret: 's3cret' })?.value ?? '';
    expect(keyed).toMatch(/^post:1 p-[A-Za-z0-9_-]{22}$/);
    expect(keyed).not.toContain('alice');
    const custom = formatEdgeHeader(['user:bob'], { proxy: 'varnish', isPrivate: (tag) => tag.startsWith('user:') });
    expect(custom?.value).toBe('njkc-all');
  });

  it('turns a list longer than the proxy allows into the catch-all key, which every purge names', async () => {
    const many = Array.from({ length: 2_000 }, (_, i) => `post:${i}`);
    expect(formatEdgeHeader(many, { proxy: 'varnish' })?.value).toBe('njkc-all');
    expect(formatEdgeHeader(many.slice(0, 10), { proxy: 'varnish', maxBytes: 64 })?.value).toBe('njkc-all');
    const seen: string[] = [];
    await withServer((req) => seen.push(String(req.headers['xkey-purge'])), async (url) => {
      const cache = createCache({ purgers: [createVarnishPurger({ url })] });
      await cache.invalidateTags(['post:7']);
      await cache.purged();
      await cache.close();
    });
    expect(seen).toEqual(['post:7 njkc-all']);
  });

  it('refuses options a proxy cannot read', () => {
    expect(() => formatEdgeHeader(['a'], { proxy: 'akamai' as 'fastly' })).toThrow(PageCacheError);
    expect(() => formatEdgeHeader(['a'], { proxy: 'fastly', header: 'Bad Header' })).toThrow(/header name/);
    expect(() => formatEdgeHeader(['a'], { proxy: 'fastly', separator: ';' })).toThrow(/separator/);
  });
});

describe('cachePage({ edge })', () => {
  it('announces the page’s tags on the miss and on the hit', async () => {
    const cache = createCache();
    const app = express();
    app.get('/p', cachePage(cache, { ttl: 60, tags: ['post:1'], edge: { proxy: 'fastly' } }), (req, res) => {
      res.send('page');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/p`;
    const first = await fetch(url);
    const second = await fetch(url);
    expect([first.headers.get('x-cache'), first.headers.get('surrogate-key')]).toEqual(['MISS', 'post:1']);
    expect([second.headers.get('x-cache'), second.headers.get('surrogate-key')]).toEqual(['HIT', 'post:1']);
    await new Promise((resolve) => server.close(resolve));
    await cache.close();
  });
});

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A local HTTP server answering each request with `answer` (status, body); returns its URL. */
async function withServer(onRequest: (req: IncomingMessage, body: string) => unknown, run: (url: string) => Promise<void>, answer: (n: number) => [number, string] = () => [200, '{"success":true}']): Promise<void> {
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      onRequest(req, body);
      const [status, text] = answer(++n);
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(text);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

const record = (seen: Seen[]) => (req: IncomingMessage, body: string) => seen.push({ method: req.method, url: req.url, headers: req.headers, body });

describe('purgers', () => {
  it('Fastly: POST /service/{id}/purge with the keys, authenticated by Fastly-Key', async () => {
    const seen: Seen[] = [];
    await withServer(record(seen), async (url) => {
      const cache = createCache({ purgers: [createFastlyPurger({ serviceId: 'SU1Z0isxPaozGVKXdv0eY', token: 'tok', baseUrl: url, soft: true })] });
      await cache.invalidateTags(['post:1', 'posts']);
      await cache.purged();
      await cache.close();
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/service/SU1Z0isxPaozGVKXdv0eY/purge', headers: { 'fastly-key': 'tok', 'fastly-soft-purge': '1' } });
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ surrogate_keys: ['post:1', 'posts', 'njkc-all'] });
  });

  it('Cloudflare: POST /zones/{zone}/purge_cache {"tags": [...]} with a bearer token, 30 tags a request', async () => {
    const seen: Seen[] = [];
    const tags = Array.from({ length: 40 }, (_, i) => `post:${i}`);
    await withServer(record(seen), async (url) => {
      const cache = createCache({ purgers: [createCloudflarePurger({ zoneId: 'zone9', token: 'tok', baseUrl: `${url}client/v4` })] });
      await cache.invalidateTags(tags);
      await cache.purged();
      expect(cache.stats()).toMatchObject({ purges: 1, purgeErrors: 0 });
      await cache.close();
    });
    expect(seen.map((s) => [s.method, s.url, s.headers.authorization])).toEqual([
      ['POST', '/client/v4/zones/zone9/purge_cache', 'Bearer tok'],
      ['POST', '/client/v4/zones/zone9/purge_cache', 'Bearer tok'],
    ]);
    expect(seen.flatMap((s) => (JSON.parse(s.body) as { tags: string[] }).tags)).toEqual([...tags, 'njkc-all']);
  });

  it('a failed purge is retried with backoff and each failure reported, without holding up invalidateTags', async () => {
    const errors: CacheErrorEvent[] = [];
    const seen: Seen[] = [];
    await withServer(
      record(seen),
      async (url) => {
        const cache = createCache({ purgers: [createCloudflarePurger({ zoneId: 'z', token: 't', baseUrl: url })], purgeRetry: { delayMs: 1 } });
        cache.on('error', (event) => errors.push(event));
        await cache.invalidateTags(['post:1']);
        expect(seen).toHaveLength(0); // invalidateTags returned before the first attempt was answered
        await cache.purged();
        expect(cache.stats()).toMatchObject({ purges: 1, purgeErrors: 2, purgesLost: 0 });
        await cache.close();
      },
      (n) => (n === 1 ? [503, 'busy'] : n === 2 ? [200, '{"success":false,"errors":[{"code":1}]}'] : [200, '{"success":true}']),
    );
    expect(seen).toHaveLength(3);
    expect(errors.map((e) => [e.operation, (e.error as PurgeError).code, (e.error as PurgeError).attempt, (e.error as PurgeError).final])).toEqual([
      ['purge:cloudflare', 'ERR_CACHE_PURGE', 1, false],
      ['purge:cloudflare', 'ERR_CACHE_PURGE', 2, false],
    ]);
    expect(String((errors[0]?.error as Error).message)).toMatch(/503/);
  });

  it('a purge that never succeeds is given up after its last attempt and reported as lost, never silently', async () => {
    let calls = 0;
    const broken: Purger = {
      name: 'broken',
      purge: async () => {
        calls++;
        throw new Error('connection refused');
      },
    };
    const warnings: string[] = [];
    const cache = createCache({ purgers: [broken], purgeRetry: { attempts: 3, delayMs: 1 }, logger: { warn: (m: string) => warnings.push(m) } });
    await cache.invalidateTags(['post:1']);
    await cache.purged();
    expect(calls).toBe(3);
    expect(cache.stats()).toMatchObject({ purges: 0, purgeErrors: 3, purgesLost: 1 });
    expect(warnings).toHaveLength(1); // no error listener: the lost purge goes to the logger
    expect(warnings[0]).toMatch(/Purger "broken" failed .*attempt 3.*No attempt is left/);
    await cache.close();
  });

  it('close() gives a purge waiting for its retry one last attempt instead of waiting out the backoff', async () => {
    let calls = 0;
    const flaky: Purger = {
      name: 'flaky',
      purge: async () => {
        if (calls++ === 0) throw new Error('down');
      },
    };
    const cache = createCache({ purgers: [flaky], purgeRetry: { delayMs: 60_000 }, logger: false });
    await cache.invalidateTags(['t']);
    await new Promise((resolve) => setImmediate(resolve));
    await cache.close();
    expect(calls).toBe(2);
    expect(cache.stats()).toMatchObject({ purges: 1, purgeErrors: 1 });
  });

  it('refuses a purger that is not { name, purge }', () => {
    expect(() => createCache({ purgers: [{ name: 'x' } as Purger] })).toThrow(/"purgers" must be a list/);
  });
});
