/**
 * Per-process coordination of page renders, one registry per Cache:
 * - single-flight: concurrent misses for one page wait for the first render instead of running
 *   the handler again, for a bounded time;
 * - invalidation: an invalidation (keys, tags or clear) during a render stops that render from
 *   being stored, as the core does for its own renders;
 * - background refreshes: at most one per page at a time.
 */
import type { Cache, InvalidateEvent } from '../core/cache.js';
import type { PageEntry } from './entry.js';

/** What a finished render offers the requests that waited for it. */
export interface RenderOutcome {
  entry: PageEntry;
  /** The variant key (before `makeKey`) the entry is stored under. */
  pageKey: string;
  /** Learned Vary fields and generation, so a waiter can compute its own variant key. */
  vary: readonly string[];
  gen: string;
}

export class Render {
  detached = false;
  readonly tags: readonly string[];
  /** Stored keys (after `makeKey`) whose deletion must stop this render from being stored. */
  readonly keys: Set<string>;
  readonly outcome: Promise<RenderOutcome | undefined>;
  #resolve!: (outcome: RenderOutcome | undefined) => void;
  #settled = false;

  constructor(tags: readonly string[], keys: readonly string[]) {
    this.tags = tags;
    this.keys = new Set(keys);
    this.outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Hand the result to waiters (once; later calls are ignored). `undefined`: they must render themselves. */
  settle(outcome: RenderOutcome | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(outcome);
  }
}

const registries = new WeakMap<Cache, PageFlights>();

export class PageFlights {
  readonly #active = new Set<Render>();
  readonly #leaders = new Map<string, Render>();
  readonly #refreshing = new Set<string>();

  static of(cache: Cache): PageFlights {
    let flights = registries.get(cache);
    if (flights === undefined) {
      flights = new PageFlights();
      const registry = flights;
      cache.on('invalidate', (event) => registry.invalidated(event));
      registries.set(cache, flights);
    }
    return flights;
  }

  /** The render other requests for `leadKey` should wait for, if one is under way. */
  leader(leadKey: string): Render | undefined {
    return this.#leaders.get(leadKey);
  }

  /**
   * Start a render. With `leadKey`, later misses for that key wait for it — for at most `waitMs`:
   * then it stops being the leader and its waiters go and render themselves (never a deadlock,
   * even if the handler never answers).
   */
  begin(tags: readonly string[], keys: readonly string[], leadKey: string | undefined, waitMs: number): Render {
    const render = new Render(tags, keys);
    this.#active.add(render);
    if (leadKey !== undefined && !this.#leaders.has(leadKey)) {
      this.#leaders.set(leadKey, render);
      const timer = setTimeout(() => {
        if (this.#leaders.get(leadKey) === render) this.#leaders.delete(leadKey);
        render.settle(undefined);
      }, waitMs);
      timer.unref();
      void render.outcome.then(() => clearTimeout(timer));
      render.keys.add(`lead:${leadKey}`);
    }
    return render;
  }

  /** The render is over (stored or not): forget it. */
  finish(render: Render, outcome?: RenderOutcome): void {
    render.settle(outcome);
    this.#active.delete(render);
    for (const key of render.keys) {
      if (key.startsWith('lead:') && this.#leaders.get(key.slice(5)) === render) this.#leaders.delete(key.slice(5));
    }
  }

  /** Wait for a leader's outcome, at most `waitMs`. */
  async wait(render: Render, waitMs: number): Promise<RenderOutcome | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
      timer.unref();
    });
    try {
      return await Promise.race([render.outcome, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Claim the background refresh of `key`; false when one is already running here. */
  claimRefresh(key: string): boolean {
    if (this.#refreshing.has(key)) return false;
    this.#refreshing.add(key);
    return true;
  }

  releaseRefresh(key: string): void {
    this.#refreshing.delete(key);
  }

  invalidated(event: InvalidateEvent): void {
    const tags = new Set(event.tags ?? []);
    const keys = new Set(event.kind === 'keys' ? (event.keys ?? []) : []);
    for (const render of this.#active) {
      const hit =
        event.kind === 'clear' ||
        (event.kind === 'tags' && render.tags.some((tag) => tags.has(tag))) ||
        (event.kind === 'keys' && [...render.keys].some((key) => keys.has(key)));
      if (!hit) continue;
      render.detached = true;
      // Waiters must not get a result produced before the invalidation.
      this.finish(render, undefined);
    }
  }
}
