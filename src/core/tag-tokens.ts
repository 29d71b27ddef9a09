import { randomBytes } from 'node:crypto';
import type { Clock } from '../contracts/clock.js';
import type { Envelope } from './envelope.js';
import type { GuardedStore } from './guarded-store.js';

/** Current generation token of each tag; `undefined` where a tag has none (never used, or evicted). */
export type Tokens = Map<string, string | undefined>;

/**
 * The least a token lives. A token is never rewritten to extend its life: without an atomic
 * compare-and-set on every store, a rewrite can land just after another process's invalidation
 * and undo it (the two-process page race tests caught exactly that). So tokens are given a long
 * life when they are written, and an entry that outlives its tag's token simply misses once then.
 */
const MIN_TOKEN_LIFE_MS = 24 * 60 * 60 * 1000;

/** Most tag → stored key translations kept in memory per cache. */
const MAX_KEYS_HELD = 20_000;

/**
 * Tag generations. Each tag has a token stored bare at its own key. Entries record the tokens
 * current when they were produced; invalidating a tag writes a new token, so all its entries miss
 * at once — one write, whatever the number of entries.
 *
 * Tokens expire, so tags nobody uses any more do not stay in the store for ever: a token lives at
 * least as long as the longest-lived entry written with it. A new token gets the cache's default
 * lifetime; writing an entry that outlives its tokens' lifetime extends them (re-read first, so a
 * token invalidated meanwhile is left alone). An expired token only makes its entries miss.
 */
export class TagTokens {
  readonly #io: GuardedStore;
  readonly #keyOf: (tag: string) => string;
  readonly #clock: Clock;
  readonly #defaultLifeMs: number | undefined;

  /** `defaultLifeMs`: a new token's lifetime, ms (the cache's default hard TTL); `undefined` = never expires. */
  constructor(io: GuardedStore, keyOf: (tag: string) => string, clock: Clock, defaultLifeMs?: number) {
    this.#io = io;
    this.#keyOf = keyOf;
    this.#clock = clock;
    this.#defaultLifeMs = defaultLifeMs;
  }

  /** Stored keys of recent tags (a hit checks every tag its entry carries, so this is hot). */
  readonly #keys = new Map<string, string>();

  /** Where a tag's token is stored. */
  key(tag: string): string {
    let key = this.#keys.get(tag);
    if (key === undefined) {
      key = this.#keyOf(tag);
      // Bounded: forget them all rather than track recency (cheaper on the hit path).
      if (this.#keys.size >= MAX_KEYS_HELD) this.#keys.clear();
      if (tag.length <= 512) this.#keys.set(tag, key);
    }
    return key;
  }

  /** Tokens from raw store values read at `keys(tags)`. */
  static fromRaw(tags: readonly string[], raws: readonly unknown[]): Tokens {
    return new Map(tags.map((tag, i) => [tag, typeof raws[i] === 'string' ? (raws[i] as string) : undefined]));
  }

  /** Current tokens; with `create`, tags without one get one first. `null` when the store failed. */
  async read(tags: readonly string[], create: boolean): Promise<Tokens | null> {
    if (tags.length === 0) return new Map();
    const raws = await this.#io.read('tags', tags.map((tag) => this.key(tag)));
    if (raws === null) return null;
    const tokens = TagTokens.fromRaw(tags, raws);
    return create ? this.ensure(tags, tokens) : tokens;
  }

  /**
   * Give every tag without a token a new one, written before the render it is for starts, so an
   * invalidation that lands during the render always wins.
   */
  async ensure(tags: readonly string[], tokens: Tokens): Promise<Tokens> {
    const missing = tags.filter((tag) => tokens.get(tag) === undefined);
    if (missing.length === 0) return tokens;
    const writes = missing.map((tag) => this.#fresh(tag));
    if (!(await this.#io.attempt('tags', (store) => store.setMany(writes)))) return tokens;
    const next = new Map(tokens);
    writes.forEach((write, i) => next.set(missing[i] as string, write.value));
    return next;
  }

  /** Invalidate: a new token per tag, in one store call (throws when it fails). Returns the token keys written. */
  async bump(tags: readonly string[]): Promise<string[]> {
    const writes = tags.map((tag) => this.#fresh(tag));
    await this.#io.strict('invalidateTags', () => this.#io.store.setMany(writes));
    return writes.map((write) => write.key);
  }

  #fresh(tag: string): { key: string; value: string; ttlMs: number | undefined } {
    return { key: this.key(tag), value: this.#newToken(), ttlMs: this.#defaultLifeMs === undefined ? undefined : Math.max(this.#defaultLifeMs, MIN_TOKEN_LIFE_MS) };
  }

  #newToken(): string {
    return `${this.#clock.now().toString(36)}.${randomBytes(6).toString('base64url')}`;
  }
}

/**
 * When a token was written, epoch ms by the writer's clock (its first part, base 36; see
 * `#newToken`); `NaN` for a token of another shape.
 */
export function tokenTime(token: string): number {
  const at = token.indexOf('.');
  return at <= 0 ? Number.NaN : Number.parseInt(token.slice(0, at), 36);
}

/** Whether every tag the envelope carries still has the token it was produced under. */
export function tagsCurrent(envelope: Envelope, tokens: ReadonlyMap<string, string | undefined>): boolean {
  const tags = envelope.tags;
  if (tags === undefined) return true;
  for (const tag in tags) {
    if (tokens.get(tag) !== tags[tag]) return false;
  }
  return true;
}

/** Whether the envelope carries exactly these tags, besides those learned at commit (a template that changed its tags misses). */
export function sameTags(envelope: Envelope, tags: readonly string[]): boolean {
  const stored = (envelope.tags === undefined ? 0 : Object.keys(envelope.tags).length) - (envelope.lt?.filter((tag) => !tags.includes(tag)).length ?? 0);
  return stored === new Set(tags).size && tags.every((tag) => envelope.tags !== undefined && tag in envelope.tags);
}
