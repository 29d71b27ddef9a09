/**
 * Several application processes sharing one Redis (a redis-server this file starts on a free
 * loopback port), each with a first tier: invalidations reach all of them, a Redis restart leaves
 * none serving stale entries, and with the distributed lock a cold fragment renders once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisProcess, freePort, hasRedisServer } from '../support/redis-server.js';
import { Worker, now } from './support/processes.js';

if (!hasRedisServer) console.warn('\n[skip] multi-process tests skipped: no redis-server binary on PATH.\n');

type Rendered = { html: string; rendered: boolean };
type Seen = Array<{ at: number; html: string }>;

describe.runIf(hasRedisServer)('three processes sharing one Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'njkc-procs-'));
  const db = join(dir, 'db.json');
  const setPost = (post: string) => writeFileSync(db, JSON.stringify({ post }));
  let redis: RedisProcess;
  let workers: Worker[] = [];
  const spawn = async (env: Record<string, string>) => {
    const started = Array.from({ length: 3 }, () => new Worker({ NJKC_REDIS: redis.url, NJKC_DB: db, ...env }));
    workers.push(...started);
    await Promise.all(started.map((w) => w.until('ready', 0, 20_000)));
    return started;
  };

  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('with a first tier in each', () => {
    let a: Worker, b: Worker, c: Worker;
    beforeAll(async () => {
      setPost('v1');
      [a, b, c] = (await spawn({ NJKC_TIER: '1' })) as [Worker, Worker, Worker];
      await Promise.all([a, b, c].map((w) => w.until('up', 0, 10_000)));
    }, 30_000);

    it('serves warm fragments from the first tier: no store round trip', async () => {
      for (const w of [a, b, c]) {
        await w.request<Rendered>('render', { template: 'page' });
        await w.request<Rendered>('render', { template: 'page' });
        const before = await w.request<{ calls: number }>('stats');
        for (let i = 0; i < 20; i += 1) expect((await w.request<Rendered>('render', { template: 'page' })).rendered).toBe(false);
        const after = await w.request<{ calls: number }>('stats');
        expect(after.calls - before.calls).toBe(0);
      }
    });

    it('an invalidation in one process is seen by all: nothing old is served once it has been delivered', async () => {
      for (const w of [a, b, c]) await w.request<Rendered>('render'); // warm: v1 in every first tier
      expect((await b.request<Rendered>('render')).rendered).toBe(false);
      const loops = [b, c].map((w) => w.request<Seen>('loop', { ms: 400 }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      setPost('v2');
      const { started, finished } = await a.request<{ started: number; finished: number }>('invalidate');
      const seen = await Promise.all(loops);
      const delays: number[] = [];
      for (const [i, w] of [b, c].entries()) {
        const applied = await w.until('invalidate', started);
        delays.push(applied.at - started);
        const renders = seen[i] as Seen;
        const after = renders.filter((r) => r.at >= applied.at);
        expect(after.length).toBeGreaterThan(0);
        expect(after.every((r) => r.html.includes('v2'))).toBe(true);
        expect(renders.some((r) => r.at < started && r.html.includes('v1'))).toBe(true);
      }
      console.log(`[processes] under load: invalidateTags() took ${(finished - started).toFixed(2)} ms in the writer; applied in the other processes ${delays.map((d) => d.toFixed(2)).join(' ms and ')} ms after the call`);
      // More rounds, for a figure less at the mercy of one sample.
      for (let round = 0; round < 10; round += 1) {
        const { started: at } = await a.request<{ started: number }>('invalidate');
        for (const w of [b, c]) delays.push((await w.until('invalidate', at)).at - at);
      }
      delays.sort((x, y) => x - y);
      const median = delays[Math.floor(delays.length / 2)] as number;
      const worst = delays[delays.length - 1] as number;
      console.log(`[processes] invalidation delay across processes over ${delays.length} deliveries: median ${median.toFixed(2)} ms, worst ${worst.toFixed(2)} ms`);
      expect(worst).toBeLessThan(1_000); // the goal is under 50 ms on loopback; CI machines vary
    });

    it('after Redis restarts, no process serves a stale first-tier entry', async () => {
      setPost('v3');
      await a.request('invalidate');
      for (const w of [a, b, c]) {
        await w.request<Rendered>('render');
        expect((await w.request<Rendered>('render')).rendered).toBe(false); // v3 held in every first tier
      }
      const stopped = now();
      await redis.stop();
      await Promise.all([a, b, c].map((w) => w.until('down', stopped)));
      setPost('v4'); // changed while Redis is away: nobody can be told
      for (const w of [a, b, c]) expect((await w.request<Rendered>('render')).html).toContain('v4');
      const restarted = now();
      await redis.start(); // empty: no persistence
      await Promise.all([a, b, c].map((w) => w.until('up', restarted)));
      for (const w of [a, b, c]) {
        for (let i = 0; i < 5; i += 1) expect((await w.request<Rendered>('render')).html).toContain('v4');
      }
      // …and caching resumes: warm hits come from the first tier again
      for (const w of [a, b, c]) {
        await w.request<Rendered>('render');
        expect((await w.request<Rendered>('render')).rendered).toBe(false);
      }
    }, 30_000);

    it('without the distributed lock, processes render a cold fragment independently', async () => {
      const startAt = now() + 200;
      const results = await Promise.all([a, b, c].map((w, i) => w.request<{ renders: number }>('cold', { run: 'nolock', concurrency: i < 2 ? 67 : 66, startAt })));
      const renders = results.reduce((sum, r) => sum + r.renders, 0);
      console.log(`[processes] 200 concurrent cold requests over 3 processes without the lock: ${renders} renders`);
      // Typically 3 (one per process: single-flight is per process); fewer when one process is
      // so late that another's result is already stored. Printed as the contrast for the docs.
      expect(renders).toBeGreaterThanOrEqual(1);
      expect(renders).toBeLessThanOrEqual(3);
    });
  });

  describe('with the distributed lock', () => {
    let procs: Worker[];
    beforeAll(async () => {
      procs = await spawn({ NJKC_TIER: '1', NJKC_LOCK: '1' });
      await Promise.all(procs.map((w) => w.until('up', 0, 10_000)));
      // First requests of a fresh process pay for compiling templates: keep that out of the measurement.
      for (const w of procs) await w.request('cold', { run: 'warm-up', concurrency: 1 });
    }, 30_000);

    it('200 concurrent cold requests spread over 3 processes render the fragment once', async () => {
      const startAt = now() + 200;
      const results = await Promise.all(procs.map((w, i) => w.request<{ renders: number; distinct: string[] }>('cold', { run: 'locked', concurrency: i < 2 ? 67 : 66, startAt })));
      const renders = results.reduce((sum, r) => sum + r.renders, 0);
      console.log(`[processes] 200 concurrent cold requests over 3 processes with the lock: ${renders} render(s)`);
      expect(renders).toBe(1);
      const served = new Set(results.flatMap((r) => r.distinct));
      expect(served.size).toBe(1);
    });
  });
});
