/** A lookup-or-render under way for one stored key, settled by the lease that produces it. */
export interface Flight<T> {
  /** What joiners receive: the produced result, or `undefined` when the holder abandoned it. */
  promise: Promise<T | undefined>;
  /** The stored key being looked up or rendered. */
  key: string;
  /** Tags of the value being produced, so a tag invalidation can find it. */
  tags: readonly string[];
  /** Set by an invalidation: later callers no longer join it (its commit is already void). */
  detached: boolean;
  /** Hand the result to joiners (once); an error rejects them. */
  settle(result: T | undefined, error?: unknown): void;
}

/**
 * In-flight work by key, and the invalidation log that decides whether a lease may commit.
 *
 * Lookups are joined only by callers that would produce the same value: same stored key and same
 * `signature` (the producing template's digest and the tag set). Two templates that happen to
 * use one fragment name render their own HTML instead of receiving each other's.
 *
 * The log is a generation counter: every invalidation (keys, tag token keys, clear — local, or
 * another process's through the store's subscribe hook) takes the next generation and records it
 * against the stored keys it touched. A lease remembers the generation it was taken at; it may
 * commit to a key only if nothing it writes or depends on was invalidated since.
 */
export class Flights<T> {
  readonly #lookups = new Map<string, Flight<T>>();
  readonly #refreshes = new Map<string, Flight<unknown>>();
  readonly #log = new Map<string, number>();
  #generation = 0;
  /** Generation of the last clear, or of the last time the log was emptied to bound it. */
  #floor = 0;

  /** The current invalidation generation (what a lease captures when it is taken). */
  get generation(): number {
    return this.#generation;
  }

  /** Whether any of `keys` (or everything) was invalidated after generation `since`. */
  changedSince(keys: Iterable<string>, since: number): boolean {
    if (this.#floor > since) return true;
    for (const key of keys) {
      if ((this.#log.get(key) ?? 0) > since) return true;
    }
    return false;
  }

  running(key: string, signature = ''): Flight<T> | undefined {
    return this.#lookups.get(`${key}\u0000${signature}`);
  }

  /** Open a lookup that later callers with this key and signature join; it leaves the table when settled. */
  open(key: string, tags: readonly string[], signature = ''): Flight<T> {
    const id = `${key}\u0000${signature}`;
    const flight = Flights.#flight<T>(key, tags, () => {
      if (this.#lookups.get(id) === flight) this.#lookups.delete(id);
    });
    this.#lookups.set(id, flight);
    return flight;
  }

  /** A lookup of `key` that later callers do not join (it is in no table). */
  unlisted(key: string, tags: readonly string[]): Flight<T> {
    return Flights.#flight<T>(key, tags, () => {});
  }

  /** Open a background refresh of `key`, unless one is already running here. */
  openRefresh(key: string, tags: readonly string[]): Flight<unknown> | undefined {
    if (this.#refreshes.has(key)) return undefined;
    const flight = Flights.#flight<unknown>(key, tags, () => {
      if (this.#refreshes.get(key) === flight) this.#refreshes.delete(key);
    });
    this.#refreshes.set(key, flight);
    return flight;
  }

  /** Stored keys were invalidated (deleted, or a tag's token key rewritten). */
  detachKeys(keys: readonly string[]): void {
    this.#record(keys);
    for (const key of keys) this.#detach(this.#refreshes, key);
    if (this.#lookups.size === 0) return;
    const wanted = new Set(keys);
    for (const [id, flight] of this.#lookups) {
      if (wanted.has(flight.key)) this.#detach(this.#lookups, id);
    }
  }

  /** Tags were invalidated; `tokenKeys` are where their tokens live. */
  detachTags(tags: readonly string[], tokenKeys: readonly string[]): void {
    this.#record(tokenKeys);
    const wanted = new Set(tags);
    for (const table of [this.#lookups, this.#refreshes] as Array<Map<string, Flight<unknown>>>) {
      for (const [key, flight] of table) {
        if (flight.tags.some((tag) => wanted.has(tag))) this.#detach(table, key);
      }
    }
  }

  detachAll(): void {
    this.#generation += 1;
    this.#floor = this.#generation;
    this.#log.clear();
    for (const table of [this.#lookups, this.#refreshes] as Array<Map<string, Flight<unknown>>>) {
      for (const key of [...table.keys()]) this.#detach(table, key);
    }
  }

  #record(keys: readonly string[]): void {
    this.#generation += 1;
    // Bounded: forgetting the log counts as "everything changed" for leases taken before now.
    if (this.#log.size + keys.length > 50_000) {
      this.#log.clear();
      this.#floor = this.#generation;
      // One invalidation of more keys than the bound is remembered as "everything", not key by key.
      if (keys.length > 50_000) return;
    }
    for (const key of keys) this.#log.set(key, this.#generation);
  }

  #detach(table: Map<string, Flight<unknown>> | Map<string, Flight<T>>, key: string): void {
    const flight = table.get(key);
    if (flight === undefined) return;
    flight.detached = true;
    table.delete(key);
  }

  static #flight<T>(key: string, tags: readonly string[], leave: () => void): Flight<T> {
    let resolve!: (value: T | undefined) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T | undefined>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Joiners handle the rejection; nobody else may see it as unhandled.
    promise.catch(() => {});
    let settled = false;
    return {
      promise,
      key,
      tags,
      detached: false,
      settle(result, error) {
        if (settled) return;
        settled = true;
        leave();
        if (error !== undefined) reject(error);
        else resolve(result);
      },
    };
  }
}
