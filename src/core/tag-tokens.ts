import { randomBytes } from 'node:crypto';
import type { Clock, EpochMs } from './clock.js';
import type { Envelope } from './envelope.js';
import type { GuardedStore } from './guarded-store.js';

/** Current generation token of each tag; `undefined` where a tag has none (never used, or evicted). */
export type Tokens = Map<string, string | undefined>;

/** How many tokens' granted lifetimes a process remembers (a plain map, emptied when full). */
const MAX_GRANTS = 10_000;

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
  /** `tag\0token` → the expiry this process gave it (`null`: never). */
  readonly #grants = new Map<string, EpochMs | null>();

  /** `defaultLifeMs`: a new token's lifetime, ms (the cache's default hard TTL); `undefined` = never expires. */
  constructor(io: GuardedStore, keyOf: (tag: string) => string, clock: Clock, defaultLifeMs?: number) {
    this.#io = io;
    this.#keyOf = keyOf;
    this.#clock = clock;
    this.#defaultLifeMs = defaultLifeMs;
  }

  /** Where a tag's token is stored. */
  key(tag: string): string {
    return this.#keyOf(tag);
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
    writes.forEach((write, i) => {
      next.set(missing[i] as string, write.value);
      this.#grant(missing[i] as string, write.value, write.ttlMs);
    });
    return next;
  }

  /** Invalidate: a new token per tag, in one store call (throws when it fails). Returns the token keys written. */
  async bump(tags: readonly string[]): Promise<string[]> {
    const writes = tags.map((tag) => this.#fresh(tag));
    await this.#io.strict('invalidateTags', () => this.#io.store.setMany(writes));
    writes.forEach((write, i) => this.#grant(tags[i] as string, write.value, write.ttlMs));
    return writes.map((write) => write.key);
  }

  /**
   * An entry expiring at `expiresAt` (`null`: never) was written with `tokens`: make each token
   * live at least that long. Costs nothing when this process already gave the token a long enough
   * life; otherwise the tokens are read again and rewritten, unchanged, with the longer lifetime —
   * except those that changed meanwhile (invalidated: rewriting them would undo the invalidation).
   * Fails open: a token that expires early only makes its entries miss.
   */
  async keepAlive(tokens: Tokens, expiresAt: EpochMs | null): Promise<void> {
    const short = [...tokens].filter((pair): pair is [string, string] => {
      if (pair[1] === undefined) return false;
      const granted = this.#grants.get(`${pair[0]}\0${pair[1]}`);
      return granted === undefined || (granted !== null && (expiresAt === null || granted < expiresAt));
    });
    if (short.length === 0) return;
    const raws = await this.#io.read('tags', short.map(([tag]) => this.key(tag)));
    if (raws === null) return;
    const now = this.#clock.now();
    const ttlMs = expiresAt === null ? undefined : Math.max(1, expiresAt - now, this.#defaultLifeMs ?? 0);
    const writes = short.filter(([, token], i) => raws[i] === token).map(([tag, token]) => ({ key: this.key(tag), value: token, ttlMs, tag }));
    if (writes.length === 0) return;
    if (await this.#io.attempt('tags', (store) => store.setMany(writes.map(({ key, value }) => ({ key, value, ttlMs }))))) {
      for (const write of writes) this.#grant(write.tag, write.value, ttlMs);
    }
  }

  #fresh(tag: string): { key: string; value: string; ttlMs: number | undefined } {
    return { key: this.key(tag), value: this.#newToken(), ttlMs: this.#defaultLifeMs };
  }

  #grant(tag: string, token: string, ttlMs: number | undefined): void {
    if (this.#grants.size >= MAX_GRANTS) this.#grants.clear();
    this.#grants.set(`${tag}\0${token}`, ttlMs === undefined ? null : this.#clock.now() + ttlMs);
  }

  #newToken(): string {
    return `${this.#clock.now().toString(36)}.${randomBytes(6).toString('base64url')}`;
  }
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
