/**
 * Page renders racing invalidations on real Redis, 300 rounds each: a render reads the data
 * (version 0), the data changes and the page (or its tag) is invalidated while the render is under
 * way, then the render answers. After the invalidation has returned, no request may be served the
 * old page — in this process, or when the render runs in another process (a child process), with
 * and without the first tier.
 *
 * Each case is also run with the lease's guard switched off (NJKC_TEST_UNGUARDED_LEASE=1: no
 * generation check, tag tokens read at commit instead of when the lease is taken — what the page
 * cache did before it ran on the lease), and must then serve stale pages: the test can fail.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { cachePage, invalidatePage } from '../../src/http.js';
import { REDIS_URL, announceSkip, uniquePrefix } from '../support/env.js';
import { send } from '../http/support.js';

const ROUNDS = 300;
const UNGUARDED_ROUNDS = 30;

/** A server rendering `v<x-version>` (Vary: Cookie); with `x-hold: 1` it waits for `release(id)`. */
interface Renderer {
  port: number;
  /** Resolves once the held render `id` has read its data. */
  rendering(id: string): Promise<void>;
  release(id: string): void;
  stop(): Promise<void>;
}

function inProcess(cache: Cache): Promise<Renderer> {
  const middleware = cachePage(cache, { ttl: 600, tags: ['posts'] });
  const waiting = new Map<string, () => void>();
  const started = new Map<string, () => void>();
  const server: Server = createServer((req, res) => {
    middleware(req, res, () => {
      const id = String(req.headers['x-render-id']);
      const version = String(req.headers['x-version']);
      const answer = (): void => {
        res.setHeader('Vary', 'Cookie');
        res.end(`v${version}`);
      };
      if (req.headers['x-hold'] !== '1') return answer();
      waiting.set(id, answer);
      started.get(id)?.();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        rendering: (id) => (waiting.has(id) ? Promise.resolve() : new Promise((r) => started.set(id, r))),
        release: (id) => waiting.get(id)?.(),
        stop: async () => {
          server.closeAllConnections();
          await new Promise((r) => server.close(r));
          await cache.close();
        },
      }),
    ),
  );
}

const workerPath = fileURLToPath(new URL('./support/page-worker.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

function child(store: string, prefix: string, unguarded: boolean): Promise<Renderer> {
  const proc: ChildProcess = fork(workerPath, [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PAGE_STORE: store, PAGE_PREFIX: prefix, NJKC_TEST_UNGUARDED_LEASE: unguarded ? '1' : '' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const seen = new Set<string>();
  const waiters = new Map<string, () => void>();
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`page worker exited (${String(code)})`)));
    proc.on('message', (message: { event: string; id?: string; port?: number }) => {
      if (message.event === 'rendering') {
        seen.add(message.id as string);
        waiters.get(message.id as string)?.();
      } else if (message.event === 'ready') {
        resolve({
          port: message.port as number,
          rendering: (id) => (seen.has(id) ? Promise.resolve() : new Promise((r) => waiters.set(id, r))),
          release: (id) => proc.send({ op: 'release', id }),
          stop: async () => {
            proc.removeAllListeners('exit');
            const exited = new Promise((r) => proc.once('exit', r));
            proc.send({ op: 'exit' });
            const timer = setTimeout(() => proc.pid !== undefined && process.kill(proc.pid, 'SIGKILL'), 3_000);
            await exited;
            clearTimeout(timer);
          },
        });
      }
    });
  });
}

type Kind = 'invalidatePage vs a render of another variant' | 'invalidateTags vs a page render';

/**
 * Run the rounds; returns how many requests made after the invalidation returned got the old page.
 * `renderer` renders (and holds); `invalidator` invalidates; `verifier` serves the checks (a
 * server on another cache, so a check never joins the held render's flight).
 */
async function race(kind: Kind, renderer: Renderer, invalidator: Cache, verifier: Renderer, rounds: number): Promise<number> {
  let stale = 0;
  let ids = 0;
  for (let round = 0; round < rounds; round += 1) {
    const path = `/p?round=${round}`;
    const get = (server: Renderer, cookie: string, version: number, hold = false) =>
      send(server.port, path, { headers: { cookie, 'x-version': String(version), 'x-render-id': String((ids += 1)), ...(hold ? { 'x-hold': '1' } : {}) } });
    if (kind === 'invalidatePage vs a render of another variant') await get(renderer, 'u=a', 0); // variant A is stored
    const id = String(ids + 1);
    const held = get(renderer, 'u=b', 0, true); // variant B renders from version 0…
    await renderer.rendering(id);
    // …the data changes, and the invalidation returns while B is still rendering
    if (kind === 'invalidatePage vs a render of another variant') await invalidatePage(invalidator, `http://site.test${path}`);
    else await invalidator.invalidateTags(['posts']);
    renderer.release(id);
    await held;
    await new Promise((resolve) => setTimeout(resolve, 5)); // room for an unguarded commit to land
    for (const cookie of ['u=a', 'u=b']) {
      if ((await get(verifier, cookie, 1)).body === 'v0') stale += 1;
    }
  }
  return stale;
}

if (REDIS_URL === undefined) {
  announceSkip('page race stress tests', 'REDIS_URL');
  describe.skip('page races on redis (REDIS_URL not set)', () => {
    it('skipped', () => {});
  });
} else {
  const redis = REDIS_URL;
  const kinds: Kind[] = ['invalidatePage vs a render of another variant', 'invalidateTags vs a page render'];
  const opened: Cache[] = [];
  afterAll(async () => {
    await opened[0]?.clear().catch(() => {});
  });

  describe.each(kinds)('%s, on Redis', (kind) => {
    const setup = async (where: 'one process' | 'two processes', tier: boolean, unguarded: boolean) => {
      const prefix = uniquePrefix('page-race');
      const store = tier ? `${redis}${redis.includes('?') ? '&' : '?'}tier=memory` : redis;
      const make = () => createCache({ store, keyPrefix: prefix, timeoutMs: 5_000 });
      process.env.NJKC_TEST_UNGUARDED_LEASE = unguarded ? '1' : '';
      const verifierCache = make();
      opened.push(verifierCache);
      const verifier = await inProcess(verifierCache);
      if (where === 'one process') {
        const cache = make();
        return { renderer: await inProcess(cache), invalidator: cache, verifier, extra: async () => {} };
      }
      // the render runs in a child process; this process invalidates through its own cache
      const invalidator = make();
      const renderer = await child(store, prefix, unguarded);
      return { renderer, invalidator, verifier, extra: () => invalidator.close() };
    };

    it.each([
      ['one process', false],
      ['two processes', false],
      ['two processes', true],
    ] as const)(`${ROUNDS} rounds in %s (first tier: %s): 0 stale pages after the invalidation returned`, async (where, tier) => {
      const { renderer, invalidator, verifier, extra } = await setup(where, tier, false);
      try {
        expect(await race(kind, renderer, invalidator, verifier, ROUNDS)).toBe(0);
      } finally {
        await renderer.stop();
        await verifier.stop();
        await extra();
      }
    }, 300_000);

    it.each([
      ['one process', false],
      ['two processes', false],
      ['two processes', true],
    ] as const)('with the guard switched off, in %s (first tier: %s), stale pages are served', async (where, tier) => {
      const { renderer, invalidator, verifier, extra } = await setup(where, tier, true);
      try {
        expect(await race(kind, renderer, invalidator, verifier, UNGUARDED_ROUNDS)).toBeGreaterThan(0);
      } finally {
        process.env.NJKC_TEST_UNGUARDED_LEASE = '';
        await renderer.stop();
        await verifier.stop();
        await extra();
      }
    }, 120_000);
  });
}
