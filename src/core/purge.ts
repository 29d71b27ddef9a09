/**
 * Purging a reverse proxy or CDN by tag when the cache invalidates tags. `invalidateTags` hands
 * the tags over and returns: purges run in the background, a failed one is retried with
 * exponential backoff and every failure is reported (the `error` event, `stats().purgeErrors`,
 * `stats().purgesLost`), so none is silently dropped and none blocks the app.
 */
import { PurgeError } from '../contracts/errors.js';

/** Something in front of the app that can drop its copies of pages by tag (Varnish, Fastly, Cloudflare…). */
export interface Purger {
  /** Names the purger in errors, e.g. `"varnish"`. */
  readonly name: string;
  /** Drop the proxy's objects tagged with any of `tags`. Reject (or throw) to have it retried. */
  purge(tags: readonly string[]): Promise<void>;
}

/** How failed purges are retried. */
export interface PurgeRetryOptions {
  /** Attempts in all, the first included (default 5). */
  attempts?: number;
  /** Delay before the second attempt, ms; doubled for each later one (default 100). */
  delayMs?: number;
  /** Longest delay between two attempts, ms (default 5 000). */
  maxDelayMs?: number;
}

export const PURGE_RETRY_DEFAULTS = { attempts: 5, delayMs: 100, maxDelayMs: 5_000 } as const;

interface PurgeHooks {
  report(error: PurgeError): void;
  count(counter: 'purges' | 'purgeErrors' | 'purgesLost'): void;
}

export class PurgeQueue {
  readonly #purgers: Purger[];
  readonly #retry: Required<PurgeRetryOptions>;
  readonly #hooks: PurgeHooks;
  readonly #pending = new Set<Promise<void>>();
  readonly #timers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  #closed = false;

  constructor(purgers: readonly Purger[], retry: PurgeRetryOptions, hooks: PurgeHooks) {
    this.#purgers = [...purgers];
    this.#retry = { ...PURGE_RETRY_DEFAULTS, ...retry };
    this.#hooks = hooks;
  }

  get size(): number {
    return this.#purgers.length;
  }

  /** Start purging `tags` on every purger; returns at once. */
  push(tags: readonly string[]): void {
    if (this.#closed || tags.length === 0) return;
    for (const purger of this.#purgers) {
      const run = this.#run(purger, [...tags]).finally(() => this.#pending.delete(run));
      this.#pending.add(run);
    }
  }

  /** Resolves when every purge started so far has succeeded or been given up (and reported). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Stop retrying: purges still waiting for another attempt get one last attempt now. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) {
      clearTimeout(t.timer);
      t.wake();
    }
    await this.idle();
  }

  async #run(purger: Purger, tags: string[]): Promise<void> {
    const { attempts, delayMs, maxDelayMs } = this.#retry;
    for (let attempt = 1; ; attempt++) {
      try {
        await purger.purge(tags);
        this.#hooks.count('purges');
        return;
      } catch (cause) {
        const final = attempt >= attempts || this.#closed;
        this.#hooks.count('purgeErrors');
        if (final) this.#hooks.count('purgesLost');
        this.#hooks.report(new PurgeError(purger.name, tags, attempt, final, cause));
        if (final) return;
      }
      await this.#sleep(Math.min(maxDelayMs, delayMs * 2 ** (attempt - 1)));
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => entry.wake(), ms),
        wake: () => {
          this.#timers.delete(entry);
          resolve();
        },
      };
      entry.timer.unref();
      this.#timers.add(entry);
    });
  }
}
