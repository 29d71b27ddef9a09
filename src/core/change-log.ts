/** A point in the change log's order: compare two with `<`. */
export type ChangeSeq = number;

/** Keys remembered individually before the log forgets them all at once (bounded memory). */
const MAX_KEYS = 10_000;

/**
 * Which stored keys changed since a moment: every write, delete or invalidation this process made
 * (noted once it completed, so it has landed), and every change another process announced on the
 * store's bus. A read made before a change may not be served after it; read plans use this to
 * drop a prefetched value that a later read would no longer see.
 *
 * Bounded: past `MAX_KEYS` remembered keys the log forgets them and treats every moment before
 * the forgetting as older than every key (the safe answer: "changed").
 */
export class ChangeLog {
  #seq: ChangeSeq = 0;
  /** Changes at or before this seq are no longer remembered key by key. */
  #floor: ChangeSeq = 0;
  readonly #changed = new Map<string, ChangeSeq>();

  /** The current moment. A read issued now sees every change noted before it. */
  now(): ChangeSeq {
    return this.#seq;
  }

  note(keys: readonly string[]): void {
    this.#seq += 1;
    if (this.#changed.size + keys.length > MAX_KEYS) this.#forget();
    for (const key of keys) this.#changed.set(key, this.#seq);
  }

  /** Everything changed (a `clear()`, or a bus that lost messages). */
  noteAll(): void {
    this.#seq += 1;
    this.#forget();
  }

  /** Whether `key` may have changed after `since`. */
  changedSince(key: string, since: ChangeSeq): boolean {
    if (since < this.#floor) return true;
    const at = this.#changed.get(key);
    return at !== undefined && at > since;
  }

  #forget(): void {
    this.#changed.clear();
    this.#floor = this.#seq;
  }
}
