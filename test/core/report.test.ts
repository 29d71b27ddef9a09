/**
 * Failures are not silent: the first store error, each circuit breaker opening and closing, and each
 * burst of timeouts reach the `logger` once; `connect()` rejects with the cause.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Cache, CacheError, createCache, StoreConnectError } from '../../src/index.js';
import { createMemoryStore, type Store } from '../../src/stores.js';
import { ManualClock } from '../../src/testing.js';
import type { CacheLogger } from '../../src/core/report.js';
import { closedPort } from '../cli/support.js';
import { docOutput } from '../docs/support/docs.js';

const caches: Cache[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(caches.splice(0).map((c) => c.close()));
});

function track(cache: Cache): Cache {
  caches.push(cache);
  return cache;
}

/** A pino- or winston-shaped logger: methods that need their `this`. */
class Collector implements CacheLogger {
  readonly #lines: string[] = [];
  warn(message: string): void {
    this.#lines.push(`warn ${message}`);
  }
  info(message: string): void {
    this.#lines.push(`info ${message}`);
  }
  get lines(): string[] {
    return this.#lines;
  }
}

/** The memory store, failing (or hanging) on demand. */
function flakyStore(): { store: Store; mode: { fail: boolean; hang: boolean } } {
  const inner = createMemoryStore();
  const mode = { fail: false, hang: false };
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (mode.hang) return new Promise<T>(() => {});
    if (mode.fail) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
    return fn();
  };
  const store: Store = {
    kind: 'flaky',
    get: (k) => guard(() => inner.get(k)),
    getMany: (ks) => guard(() => inner.getMany(ks)),
    set: (k, v, ttl) => guard(() => inner.set(k, v, ttl)),
    setMany: (es) => guard(() => inner.setMany(es)),
    delete: (k) => guard(() => inner.delete(k)),
    deleteMany: (ks) => guard(() => inner.deleteMany(ks)),
    clear: () => guard(() => inner.clear()),
    close: () => inner.close(),
  };
  return { store, mode };
}

async function until(predicate: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

/** Loads the Redis driver and takes its first connection attempt in this process, refused. */
async function warmRefusedPath(port: number): Promise<void> {
  const cache = createCache({ store: `redis://127.0.0.1:${port}/0`, logger: false });
  await cache.connect(5_000).catch(() => {});
  await cache.close();
}

describe('a wrong Redis port', () => {
  it('is reported once through the logger within a second, naming the refused connection', async () => {
    const port = await closedPort();
    const logger = new Collector();
    // What is timed is the refused connection, not loading the driver or its first connection in
    // this process (measured: ~200 ms cold, ~5 ms warm; a loaded machine stretches the cold path).
    await warmRefusedPath(port);
    const started = performance.now();
    const cache = track(createCache({ store: `redis://127.0.0.1:${port}/0`, logger, timeoutMs: 50, breaker: { failureThreshold: 3, cooldownMs: 60_000 } }));
    await until(() => logger.lines.length > 0, 5_000);
    expect(performance.now() - started).toBeLessThan(1_000);
    // As docs/api.md shows it (for port 6390).
    expect(logger.lines).toEqual([`warn ${docOutput('logger-refused').replaceAll('6390', String(port))}`]);

    // Lookups go on failing (timing out, then skipped by the breaker): the cause is not repeated.
    for (let i = 0; i < 6; i += 1) expect(await cache.get('k')).toBeUndefined();
    expect(logger.lines.filter((l) => l.includes('ECONNREFUSED'))).toHaveLength(1);
    expect(logger.lines.filter((l) => l.includes('timing out'))).toHaveLength(1);
    expect(logger.lines.filter((l) => l.includes('circuit breaker open'))).toHaveLength(1);
    expect(logger.lines).toHaveLength(3);
    expect(cache.stats()).toMatchObject({ timeouts: 3, circuit: 'open' });
  });

  it('makes connect() reject with the cause, at once', async () => {
    const port = await closedPort();
    await warmRefusedPath(port);
    const cache = track(createCache({ store: `redis://127.0.0.1:${port}/0`, logger: false }));
    const started = performance.now();
    const error = await cache.connect(5_000).catch((e: unknown) => e);
    // By the refusal (reason 'refused', below), long before the 5 s it was given: ~100 ms measured
    // (the client's first retry); the bound leaves room for a loaded machine.
    expect(performance.now() - started).toBeLessThan(2_500);
    expect(error).toBeInstanceOf(StoreConnectError);
    expect(error).toMatchObject({ code: 'ERR_CACHE_CONNECT', reason: 'refused', cause: { code: 'ECONNREFUSED' } });
    expect((error as Error).message).toContain(`Cannot connect to the redis store: connection refused at 127.0.0.1:${port}`);
  });
});

describe('the logger option', () => {
  it('reports every breaker opening and closing, and the first error of each outage', async () => {
    const clock = new ManualClock();
    const { store, mode } = flakyStore();
    const logger = new Collector();
    const cache = track(createCache({ store, clock, logger, breaker: { failureThreshold: 2, cooldownMs: 1_000 } }));
    await cache.set('k', 'v');
    for (let outage = 0; outage < 2; outage += 1) {
      mode.fail = true;
      for (let i = 0; i < 4; i += 1) await cache.get('k');
      clock.advance(1); // seconds: the cool-down is over
      await cache.get('k'); // a failed probe: the circuit stays open, nothing new to say
      mode.fail = false;
      clock.advance(1);
      expect(await cache.get('k')).toBe('v'); // the probe succeeds: closed
    }
    const expected = [
      'warn nunjucks-fragment-cache: the flaky store failed ("get"): connection refused (ECONNREFUSED): nothing is listening there; is the server running, and is the port right? The cache fails open: lookups read as misses. Further errors are only counted, in stats().errors, and emitted as "error" events.',
      'warn nunjucks-fragment-cache: circuit breaker open after 2 failed calls: the flaky store is not called for 1000 ms, then one probe decides.',
      'info nunjucks-fragment-cache: the flaky store answers again; circuit breaker closed.',
    ];
    expect(logger.lines).toEqual([...expected, ...expected]);
  });

  it('reports a burst of timeouts once, and the next burst again', async () => {
    const clock = new ManualClock();
    const { store, mode } = flakyStore();
    const logger = new Collector();
    const cache = track(createCache({ store, clock, logger, timeoutMs: 10, breaker: false }));
    mode.hang = true;
    for (let i = 0; i < 3; i += 1) await cache.get('k');
    clock.advance(60); // seconds: a quiet minute ends the burst
    for (let i = 0; i < 3; i += 1) await cache.get('k');
    expect(cache.stats().timeouts).toBe(6);
    expect(logger.lines).toHaveLength(2);
    expect(logger.lines[0]).toMatch(/^warn nunjucks-fragment-cache: flaky store calls are timing out: Store operation "get" did not finish within 10 ms/);
  });

  it('is console.warn by default, and silent with logger: false', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    for (const logger of [undefined, false] as const) {
      const { store, mode } = flakyStore();
      mode.fail = true;
      const cache = track(createCache({ store, ...(logger === undefined ? {} : { logger }) }));
      await cache.get('k');
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/^nunjucks-fragment-cache: the flaky store failed/);
  });

  it('refuses something that is not a logger', () => {
    expect(() => createCache({ logger: 'console' as unknown as CacheLogger })).toThrow(CacheError);
    expect(() => createCache({ logger: {} as CacheLogger })).toThrow('Cache option "logger" must be an object with a warn(message) method');
  });
});
