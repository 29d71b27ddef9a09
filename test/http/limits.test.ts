/**
 * Limits: oversized bodies, streams, trailers, aborted responses and failing stores. In every case
 * the client gets exactly what the app wrote.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { cacheMiddleware, cachePage, type PageCacheOptions } from '../../src/http.js';
import type { DistributedLock } from '../../src/stores.js';
import { FRAMEWORKS, brokenStore, counter, serve, tick, type Handler, type TestServer } from './support.js';

const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

describe.each(FRAMEWORKS)('limits on %s', (framework) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function page(handler: Handler, options: PageCacheOptions = {}, cache: Cache = createCache()): Promise<TestServer> {
    const server = await serve(framework, { routes: [{ path: '/page', use: [cachePage(cache, options)], handler }] });
    cleanup.push(() => cache.close(), () => server.close());
    return server;
  }

  describe('a body over maxBodyBytes', () => {
    it('is passed through untouched and not stored', async () => {
      const body = randomBytes(200 * 1024);
      const calls = counter();
      const server = await page((_req, res) => {
        calls.n += 1;
        res.end(body);
      }, { maxBodyBytes: 64 * 1024 });
      for (let i = 0; i < 2; i += 1) {
        const reply = await server.get('/page');
        expect(sha(reply.raw)).toBe(sha(body));
        expect(reply.headers['x-cache']).toBe('MISS');
      }
      expect(calls.n).toBe(2);
    });

    it('is recognised from Content-Length before any of it is kept', async () => {
      const reasons: string[] = [];
      const calls = counter();
      const server = await page((_req, res) => {
        calls.n += 1;
        res.setHeader('Content-Length', '100000');
        res.write('x'.repeat(50_000));
        res.end('y'.repeat(50_000));
      }, { maxBodyBytes: 60_000, onSkip: (reason) => reasons.push(reason) });
      expect((await server.get('/page')).raw.length).toBe(100_000);
      await server.get('/page');
      expect(calls.n).toBe(2);
      expect(reasons).toContain('too-large');
    });
  });

  describe('a streamed response', () => {
    it('reaches the client chunk by chunk while it is being cached, and intact', async () => {
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      const server = await page(async (_req, res) => {
        res.setHeader('Content-Type', 'text/plain');
        res.write('first chunk;');
        await released; // the next chunk is written only once the client holds the first
        res.end('second chunk');
      });
      const { body, firstSeen } = await new Promise<{ body: string; firstSeen: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path: '/page', headers: { host: 'site.test' }, agent: false }, (res) => {
          let text = '';
          let first = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (first === '') {
              first = chunk;
              release();
            }
            text += chunk;
          });
          res.on('end', () => resolve({ body: text, firstSeen: first }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(firstSeen).toBe('first chunk;');
      expect(body).toBe('first chunk;second chunk');
      const hit = await server.get('/page');
      expect([hit.headers['x-cache'], hit.body]).toEqual(['HIT', 'first chunk;second chunk']);
    });

    it('piped from a Readable, arrives intact and is cached', async () => {
      const parts = Array.from({ length: 50 }, (_, i) => `line ${i} ${'z'.repeat(i * 10)}\n`);
      const server = await page((_req, res) => {
        Readable.from(parts).pipe(res);
      });
      const miss = await server.get('/page');
      const hit = await server.get('/page');
      expect(miss.body).toBe(parts.join(''));
      expect([hit.headers['x-cache'], hit.body]).toEqual(['HIT', parts.join('')]);
    });

    it('streamed past maxBodyBytes still arrives intact, uncached', async () => {
      const chunk = randomBytes(16 * 1024);
      const server = await page(async (_req, res) => {
        for (let i = 0; i < 8; i += 1) {
          res.write(chunk);
          await tick();
        }
        res.end();
      }, { maxBodyBytes: 50_000 });
      const expected = sha(Buffer.concat(Array.from({ length: 8 }, () => chunk)));
      expect(sha((await server.get('/page')).raw)).toBe(expected);
      const again = await server.get('/page');
      expect([again.headers['x-cache'], sha(again.raw)]).toEqual(['MISS', expected]);
    });

    it('with trailers, is not stored (a replay could not send them)', async () => {
      const calls = counter();
      const server = await page((_req, res) => {
        calls.n += 1;
        res.setHeader('Trailer', 'X-Checksum');
        res.write('body');
        res.addTrailers({ 'X-Checksum': 'abc' });
        res.end();
      });
      await server.get('/page');
      await server.get('/page');
      expect(calls.n).toBe(2);
    });

    it('cut off by the client is not stored', async () => {
      const calls = counter();
      let aborted: () => void = () => {};
      const closed = new Promise<void>((resolve) => (aborted = resolve));
      const server = await page(async (_req, res) => {
        calls.n += 1;
        res.write('partial');
        if (calls.n === 1) {
          res.on('close', () => aborted());
          await closed;
          await tick(10);
        }
        res.end(' rest');
      });
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port: server.port, path: '/page', headers: { host: 'site.test' }, agent: false }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => {});
        req.end();
      });
      await closed;
      await tick(30);
      const next = await server.get('/page');
      expect([next.headers['x-cache'], next.body]).toEqual(['MISS', 'partial rest']);
    });
  });

  describe('a store that fails', () => {
    it.each([
      ['throws, with failOpen (the default)', { failOpen: true }, 'throw'],
      ['hangs past the timeout', { timeoutMs: 50 }, 'hang'],
    ] as const)('never turns a good response into an error: the page is served uncached (store %s)', async (_label, options, mode) => {
      const { store, broken } = brokenStore();
      const cache = createCache({ store, breaker: false, ...options });
      const errors: string[] = [];
      cache.on('error', (event) => errors.push(event.operation));
      const calls = counter();
      const server = await page((_req, res) => {
        calls.n += 1;
        res.setHeader('Content-Type', 'text/html');
        res.end(`<p>${calls.n}</p>`);
      }, {}, cache);
      broken.now = mode;
      for (let i = 1; i <= 2; i += 1) {
        const reply = await server.get('/page');
        expect(reply.status).toBe(200);
        // A hung write keeps the first render in flight, so the second request may be handed its page.
        if (mode === 'hang') expect(reply.body).toMatch(/^<p>[12]<\/p>$/);
        else expect([reply.body, reply.headers['x-cache']]).toEqual([`<p>${i}</p>`, 'MISS']);
      }
      expect(errors.length).toBeGreaterThan(0);
      broken.now = 'ok';
      await tick(60);
      await server.get('/page');
      expect((await server.get('/page')).headers['x-cache']).toBe('HIT');
    });

    it('with failOpen: false, a store error reaches the app as an error, as it would from a fragment', async () => {
      const { store, broken } = brokenStore();
      const cache = createCache({ store, breaker: false, failOpen: false });
      const calls = counter();
      const server = await page((_req, res) => {
        calls.n += 1;
        res.end('<p>page</p>');
      }, {}, cache);
      broken.now = 'throw';
      const reply = await server.get('/page');
      expect(reply.status).toBe(500); // passed to next(error): the framework's error handler answers
      expect(calls.n).toBe(0);
      // the same cache, from a fragment: the store error is thrown as well
      await expect(cache.fetch('fragment', () => 'x')).rejects.toThrow();
    });

    it('with failOpen: false, cacheMiddleware passes a store error on as well', async () => {
      const { store, broken } = brokenStore();
      const cache = createCache({ store, breaker: false, failOpen: false });
      const calls = counter();
      const server = await serve(framework, { use: [cacheMiddleware(cache)], routes: [{ path: '/page', handler: (_req, res) => res.end(`<p>${(calls.n += 1)}</p>`) }] });
      cleanup.push(() => cache.close(), () => server.close());
      broken.now = 'throw';
      expect((await server.get('/page')).status).toBe(500);
      expect(calls.n).toBe(0);
      broken.now = 'ok';
      expect((await server.get('/page')).body).toBe('<p>1</p>');
    });

    it.each([true, false])('a failing lock backend with failOpen: %s: pages do what fragments do', async (failOpen) => {
      const lock: DistributedLock = {
        acquire: async () => {
          throw new Error('lock backend down (injected)');
        },
        release: async () => {},
        close: async () => {},
      };
      const cache = createCache({ lock, failOpen, breaker: false });
      const calls = counter();
      const server = await page((_req, res) => res.end(`<p>${(calls.n += 1)}</p>`), {}, cache);
      const reply = await server.get('/page');
      const fragment = cache.fetch('fragment', () => 'x');
      if (failOpen) {
        // The lock is an optimisation: without it, render here (and store).
        expect([reply.status, reply.body]).toEqual([200, '<p>1</p>']);
        await expect(fragment).resolves.toMatchObject({ value: 'x', status: 'miss' });
      } else {
        expect([reply.status, calls.n]).toEqual([500, 0]);
        await expect(fragment).rejects.toThrow('lock backend down');
      }
    });
  });
});
