/** A lookup-or-render under way for one stored key. */
export interface Flight<T> {
  promise: Promise<T>;
  /** The stored key being looked up or rendered. */
  key: string;
  /** Tags of the value being produced, so a tag invalidation can find it. */
  tags: readonly string[];
  /** Set by an invalidation: the render goes on for its callers but must not be stored. */
  detached: boolean;
}

/**
 * In-flight work by key: lookups (which callers join) and background refreshes (which they do
 * not). Invalidations detach what they affect, so an older render never stores over a newer state.
 *
 * Lookups are joined only by callers that would produce the same value: same stored key and same
 * `signature` (the producing template's digest and the tag set). Two templates that happen to
 * use one fragment name render their own HTML instead of receiving each other's.
 */
export class Flights<T> {
  readonly #lookups = new Map<string, Flight<T>>();
  readonly #refreshes = new Map<string, Flight<unknown>>();

  running(key: string, signature = ''): Flight<T> | undefined {
    return this.#lookups.get(`${key}\u0000${signature}`);
  }

  /** Start a lookup that later callers with this key and signature join; it leaves the table when it settles. */
  start(key: string, tags: readonly string[], run: (flight: Flight<T>) => Promise<T>, signature = ''): Flight<T> {
    const id = `${key}\u0000${signature}`;
    const flight = { key, tags, detached: false } as Flight<T>;
    flight.promise = run(flight).finally(() => {
      if (this.#lookups.get(id) === flight) this.#lookups.delete(id);
    });
    this.#lookups.set(id, flight);
    return flight;
  }

  /** Start a background refresh unless one is already running for `key`. */
  refresh(key: string, tags: readonly string[], run: (flight: Flight<unknown>) => Promise<unknown>, onError: (error: unknown) => void): void {
    if (this.#refreshes.has(key)) return;
    const flight = { key, tags, detached: false } as Flight<unknown>;
    flight.promise = run(flight)
      .catch(onError)
      .finally(() => {
        if (this.#refreshes.get(key) === flight) this.#refreshes.delete(key);
      });
    this.#refreshes.set(key, flight);
  }

  detachKeys(keys: readonly string[]): void {
    for (const key of keys) this.#detach(this.#refreshes, key);
    if (this.#lookups.size === 0) return;
    const wanted = new Set(keys);
    for (const [id, flight] of this.#lookups) {
      if (wanted.has(flight.key)) this.#detach(this.#lookups, id);
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
