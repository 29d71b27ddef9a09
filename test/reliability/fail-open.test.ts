import type nunjucks from 'nunjucks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCache, type Cache } from '../../src/index.js';
import { createEnvironment, render } from '../../src/nunjucks.js';
import { ManualClock } from '../../src/testing.js';
import type { CacheErrorEvent } from '../../src/core/types.js';
import { MapLoader, faultyStore } from '../support/stores.js';

let cache: Cache;
afterEach(() => cache?.close());

function setup(options: { timeoutMs?: number; failOpen?: boolean } = {}) {
  const faulty = faultyStore();
  const clock = new ManualClock();
  cache = createCache({ store: faulty.store, clock, timeoutMs: options.timeoutMs ?? 100, failOpen: options.failOpen ?? true, breaker: { failureThreshold: 3, cooldownMs: 1_000 } });
  const env = createEnvironment(new MapLoader({ t: 'a<% cache 60 f %>{{ load() }}<% endcache %>b' }) as unknown as nunjucks.ILoader, { cache });
  let renders = 0;
  const load = () => `body${++renders}`;
  const errors: CacheErrorEvent[] = [];
  cache.on('error', (event) => errors.push(event));
  return { ...faulty, clock, env, load, errors, renders: () => renders };
}

describe('fail-open', () => {
  it('a store that hangs forever delays a render by no more than the timeout', async () => {
    // Timer time, not wall time (a loaded machine stretches the latter): the render is still
    // waiting 1 ms before the timeout, and done once the guard's next deadline check has run (it
    // checks every tenth of the timeout).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    try {
      const s = setup({ timeoutMs: 100 });
      s.mode.now = 'hang';
      let html: string | undefined;
      const rendering = render(s.env, 't', { load: s.load }).then((out) => (html = out));
      await vi.advanceTimersByTimeAsync(99);
      expect(html).toBeUndefined();
      await vi.advanceTimersByTimeAsync(10);
      // no further timer time: the render finishes on what is already queued
      for (let turn = 0; turn < 100 && html === undefined; turn += 1) await new Promise((resolve) => setImmediate(resolve));
      expect(html).toBe('abody1b');
      await rendering;
      // one timed-out read; the write is skipped because the store already failed
      expect(cache.stats().timeouts).toBe(1);
      expect(s.errors[0]?.error).toMatchObject({ code: 'ERR_CACHE_STORE_TIMEOUT' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('a store that throws never reaches the page; the error is emitted and counted', async () => {
    const s = setup();
    s.mode.now = 'throw';
    expect(await render(s.env, 't', { load: s.load })).toBe('abody1b');
    expect(await render(s.env, 't', { load: s.load })).toBe('abody2b');
    expect(cache.stats().errors).toBe(2);
    expect(s.errors.map((e) => (e.error as Error).message)).toEqual(['connection refused (injected)', 'connection refused (injected)']);
  });

  it('does not crash when nobody listens for errors', async () => {
    const faulty = faultyStore();
    cache = createCache({ store: faulty.store });
    faulty.mode.now = 'throw';
    expect(await cache.getOrSet('k', 'v')).toBe('v');
    expect(await cache.set('k', 'v')).toBe(false);
    expect(await cache.get('k', 'default')).toBe('default');
  });

  it('opens the circuit after repeated failures, stops calling the store, probes after the cool-down, and recovers', async () => {
    const s = setup();
    let recovered = 0;
    cache.on('recover', () => (recovered += 1));
    s.mode.now = 'throw';
    for (let i = 0; i < 3; i += 1) await render(s.env, 't', { load: s.load });
    expect(cache.stats().circuit).toBe('open');
    const callsWhenOpened = s.calls.n;
    for (let i = 0; i < 10; i += 1) expect(await render(s.env, 't', { load: s.load })).toBe(`abody${4 + i}b`);
    expect(s.calls.n).toBe(callsWhenOpened);

    s.mode.now = 'ok';
    s.clock.advance(1.001);
    await render(s.env, 't', { load: s.load }); // the probe succeeds: closed again, and this render is stored
    expect(cache.stats().circuit).toBe('closed');
    expect(recovered).toBe(1);
    const before = s.renders();
    await render(s.env, 't', { load: s.load });
    expect(s.renders()).toBe(before);
  });

  it('probes at once when the store reports its connection ready again, not after the cool-down', async () => {
    const faulty = faultyStore();
    let ready: Array<() => void> = [];
    // A store that says when its client (re)connected, as the Redis store does (Store.onReady).
    const store = { ...faulty.store, onReady: (listener: () => void) => (ready.push(listener), () => (ready = ready.filter((l) => l !== listener))) };
    const clock = new ManualClock();
    cache = createCache({ store, clock, timeoutMs: 100, breaker: { failureThreshold: 3, cooldownMs: 60_000 } });
    let recovered = 0;
    cache.on('recover', () => (recovered += 1));
    faulty.mode.now = 'throw';
    for (let i = 0; i < 3; i += 1) await cache.get('k');
    expect(cache.stats().circuit).toBe('open');
    const opened = faulty.calls.n;
    faulty.mode.now = 'ok';
    expect(await cache.set('k', 'v')).toBe(false); // still cooling down: the store is not called
    expect(faulty.calls.n).toBe(opened);

    for (const listener of ready) listener(); // the client reconnected: no clock advance at all
    expect(await cache.set('k', 'v')).toBe(true); // this call is the probe, and it closes the circuit
    expect(cache.stats().circuit).toBe('closed');
    expect(recovered).toBe(1);
    expect(await cache.get('k')).toBe('v');

    // A ready while closed changes nothing; close() removes the cache's listener.
    for (const listener of ready) listener();
    expect(cache.stats().circuit).toBe('closed');
    await cache.close();
    expect(ready).toHaveLength(0);
  });

  it('never fails an invalidation silently: delete, invalidateTags, clear and incrVersion throw, and announce nothing', async () => {
    const s = setup();
    await cache.set('post:1', 'old title', null, { tags: ['post:1'] });
    const announced: string[] = [];
    cache.on('invalidate', ({ kind }) => announced.push(kind));
    s.mode.now = 'throw';
    await expect(cache.delete('post:1')).rejects.toThrow('connection refused (injected)');
    await expect(cache.invalidateTags(['post:1'])).rejects.toThrow('connection refused (injected)');
    await expect(cache.clear()).rejects.toThrow('connection refused (injected)');
    // the breaker has opened after three failures: it says so, and still throws
    await expect(cache.incrVersion('post:1')).rejects.toThrow(/failed repeatedly/);
    expect(announced).toEqual([]);
    // reads still fail open…
    expect(await cache.get('post:1', 'fallback')).toBe('fallback');
    // …and once the store answers, the value is still there to be invalidated for real
    s.mode.now = 'ok';
    s.clock.advance(1.001);
    expect(await cache.get('post:1')).toBe('old title');
    await cache.invalidateTags(['post:1']);
    expect(await cache.get('post:1')).toBeUndefined();
  });

  it('throws store errors instead when failOpen is false', async () => {
    const s = setup({ failOpen: false });
    s.mode.now = 'throw';
    await expect(cache.get('k')).rejects.toThrow('connection refused (injected)');
    await expect(render(s.env, 't', { load: s.load })).rejects.toThrow('connection refused (injected)');
  });
});
