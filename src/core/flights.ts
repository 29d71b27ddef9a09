/** A lookup-or-render under way for one stored key. */
export interface Flight<T> {
  promise: Promise<T>;
  /** Tags of the value being produced, so a tag invalidation can find it. */
  tags: readonly string[];
  /** Set by an invalidation: the render goes on for its callers but must not be stored. */
  detached: boolean;
}

/**
 * In-flight work by key: lookups (which callers join) and background refreshes (which they do
 * not). Invalidations detach what they affect, so an older render never stores over a newer state.
 */
export class Flights<T> {
  readonly #lookups = new Map<string, Flight<T>>();
  readonly #refreshes = new Map<string, Flight<unknown>>();

  running(key: string): Flight<T> | undefined {
    return this.#lookups.get(key);
  }

  /** Start a lookup that later callers for `key` will join; it leaves the table when it settles. */
  start(key: string, tags: readonly string[], run: (flight: Flight<T>) => Promise<T>): Flight<T> {
    const flight = { tags, detached: false } as Flight<T>;
    flight.promise = run(flight).finally(() => {
      if (this.#lookups.get(key) === flight) this.#lookups.delete(key);
    });
    this.#lookups.set(key, flight);
    return flight;
  }

  /** Start a background refresh unless one is already running for `key`. */
  refresh(key: string, tags: readonly string[], run: (flight: Flight<unknown>) => Promise<unknown>, onError: (error: unknown) => void): void {
    if (this.#refreshes.has(key)) return;
    const flight = { tags, detached: false } as Flight<unknown>;
    flight.promise = run(flight)
      .catch(onError)
      .finally(() => {
        if (this.#refreshes.get(key) === flight) this.#refreshes.delete(key);
      });
    this.#refreshes.set(key, flight);
  }

  detachKeys(keys: readonly string[]): void {
    for (const key of keys) {
      this.#detach(this.#lookups, key);
      this.#detach(this.#refreshes, key);
    }
  }

  detachTags(tags: readonly string[]): void {
    const wanted = new Set(tags);
    for (const table of [this.#lookups, this.#refreshes] as Array<Map<string, Flight<unknown>>>) {
      for (const [key, flight] of table) {
        if (flight.tags.some((tag) => wanted.has(tag))) this.#detach(table, key);
      }
    }
  }

  detachAll(): void {
    for (const table of [this.#lookups, this.#refreshes] as Array<Map<string, Flight<unknown>>>) {
      for (const key of [...table.keys()]) this.#detach(table, key);
    }
  }

  #detach(table: Map<string, Flight<unknown>> | Map<string, Flight<T>>, key: string): void {
    const flight = table.get(key);
    if (flight === undefined) return;
    flight.detached = true;
    table.delete(key);
  }
}
