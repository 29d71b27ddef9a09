/**
 * Per-request measurements, carried in an AsyncLocalStorage: database queries and their time,
 * cache hits and misses. The cache emits `hit`/`miss`/`stale` inside the async context of the render
 * that asked, and the database reports each query the same way, so listeners only need to read the
 * current store. Everything ends up in the response's `Server-Timing` header, which browsers show
 * in the developer tools (Network → the request → Timing).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';
import { onHeaders } from '../src/http.js';

export interface RequestMetrics {
  /** `performance.now()` when the request arrived. */
  started: number;
  queries: number;
  queryMs: number;
  hits: number;
  misses: number;
  stale: number;
  /** "METHOD /path", to say where an invalidation came from. */
  source: string;
}

export class RequestTracker {
  readonly #storage = new AsyncLocalStorage<RequestMetrics>();

  /** The current request's metrics, if this code runs inside a request. */
  current(): RequestMetrics | undefined {
    return this.#storage.getStore();
  }

  recordQuery(ms: number): void {
    const metrics = this.current();
    if (metrics === undefined) return;
    metrics.queries += 1;
    metrics.queryMs += ms;
  }

  recordLookup(outcome: 'hit' | 'miss' | 'stale'): void {
    const metrics = this.current();
    if (metrics === undefined) return;
    if (outcome === 'hit') metrics.hits += 1;
    else if (outcome === 'miss') metrics.misses += 1;
    else metrics.stale += 1;
  }

  /** Express middleware: measure the rest of the request and add `Server-Timing` when headers go out. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const metrics: RequestMetrics = { started: performance.now(), queries: 0, queryMs: 0, hits: 0, misses: 0, stale: 0, source: `${req.method} ${req.path}` };
      // Set at the last moment, just before the status line and headers go out.
      onHeaders(res, () => res.setHeader('Server-Timing', serverTiming(metrics, performance.now())));
      this.#storage.run(metrics, next);
    };
  }
}

/**
 * `Server-Timing: total;dur=4.12, db;dur=0.00;desc="0 queries", cache;desc="22 hits, 0 misses, 0 stale"`
 * (W3C Server Timing: metric name, `dur` in milliseconds, `desc` a quoted string).
 */
export function serverTiming(metrics: RequestMetrics, now: number): string {
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return [
    `total;dur=${(now - metrics.started).toFixed(2)}`,
    `db;dur=${metrics.queryMs.toFixed(2)};desc="${count(metrics.queries, 'query', 'queries')}"`,
    `cache;desc="${count(metrics.hits, 'hit', 'hits')}, ${count(metrics.misses, 'miss', 'misses')}, ${metrics.stale} stale"`,
  ].join(', ');
}
