import { AsyncLocalStorage } from 'node:async_hooks';
import type { EpochMs } from '../contracts/clock.js';
import { CacheError } from '../contracts/errors.js';

/**
 * Cacheability that bubbles (Drupal's render cache): what a cached value depends on, handed from
 * every piece rendered inside another to the pieces around it — fragments to the fragments that
 * embed them, to the views and pages they are rendered into.
 *
 * - `tokens`: each tag the value depends on, with the generation token it was current at when the
 *   value was read or produced (`undefined` when not known: checked against the invalidations this
 *   process has seen since the enclosing lease was taken). Besides declared tags this includes the
 *   implicit tag of every cached fragment and view inside (`implicitTag(key)`), so
 *   `invalidateFragment`/`invalidateView` reach the values around them too.
 * - `freshUntil`: when the first piece inside stops being fresh (`null`: never); a value around it
 *   is stored no longer than that.
 * - `personal`: something inside renders per request (a `nocache` hole): a page around it must not
 *   be stored or shared.
 */
export interface Cacheability {
  readonly tokens: ReadonlyMap<string, string | undefined>;
  readonly freshUntil: EpochMs | null;
  readonly personal?: boolean;
}

/** A value that cannot be cached around at all (a stale piece, a piece stored for 0 s). */
const NOW_STALE = 0;

/**
 * Most tags one value may depend on through what is rendered inside it. Each is stored with the
 * entry and its token is checked on every hit: a list of 10 000 tagged cards would store 20 000
 * tags (1.7 MB around a few hundred KB of HTML) and check 20 000 tokens per hit, 100 times the
 * cost of the hit itself. Past this many, nothing around is stored (it renders again, from its
 * inner fragments' entries), which is never stale; and the collection stops growing.
 */
export const MAX_BUBBLED_TAGS = 1_000;

/** The implicit tag of a stored value's key (your key, before prefix and version). */
export function implicitTag(key: string): string {
  return `njkc:${key}`;
}

/**
 * Collects what the pieces rendered inside one value depend on (one per fragment body, view or page
 * render). Merging is a union of tags (the first token seen for a tag is kept: a later one means an
 * invalidation happened in between, and the older token makes the value around it miss) and the
 * earliest freshness end.
 */
export class Bubble implements Cacheability {
  readonly tokens = new Map<string, string | undefined>();
  freshUntil: EpochMs | null = null;
  personal = false;

  /** Add what one piece inside depends on. */
  add(inner: Cacheability | undefined): void {
    if (inner === undefined) return;
    for (const [tag, token] of inner.tokens) this.#tag(tag, token);
    this.bound(inner.freshUntil);
    if (inner.personal === true) this.personal = true;
  }

  /** Add tags whose tokens are not known (declared by a data loader). */
  addTags(tags: Iterable<string>): void {
    for (const tag of tags) this.#tag(tag, undefined);
  }

  /** Stop being fresh no later than `until` (epoch ms; `null`: no bound). */
  bound(until: EpochMs | null): void {
    if (until !== null && (this.freshUntil === null || until < this.freshUntil)) this.freshUntil = until;
  }

  /** Something inside cannot be cached at all (a stale piece, a piece with a TTL of 0). */
  uncacheable(): void {
    this.bound(NOW_STALE);
  }

  get tags(): string[] {
    return [...this.tokens.keys()];
  }

  /** Whether anything was collected. */
  get empty(): boolean {
    return this.tokens.size === 0 && this.freshUntil === null && !this.personal;
  }

  #tag(tag: string, token: string | undefined): void {
    if (this.tokens.get(tag) !== undefined) return;
    if (this.tokens.size >= MAX_BUBBLED_TAGS && !this.tokens.has(tag)) {
      // Too many to store and check on each hit: nothing around this may be stored.
      this.uncacheable();
      return;
    }
    this.tokens.set(tag, token);
  }
}

/** Seconds left before `freshUntil` (rounded down); `undefined` when there is no bound. */
export function secondsLeft(c: Cacheability, now: EpochMs): number | undefined {
  if (c.freshUntil === null) return undefined;
  return Math.max(0, Math.floor((c.freshUntil - now) / 1000));
}

/**
 * The name under which a render's variables carry the `Bubble` its pieces report to (a page's, a
 * view's). It has spaces, so no template can spell it; Express copies `res.locals` into every
 * `res.render`, which is how a page learns what its templates depended on.
 */
export const CACHEABILITY = 'njkc cacheability';

const answering = new AsyncLocalStorage<Bubble>();

/**
 * Run `fn` (a page's app, answering one request) so that every render it starts reports to
 * `bubble` even when its variables do not carry it (the `render` helper, `res.end(html)` under
 * Express or node:http): otherwise a `nocache` hole rendered that way would be stored in the page
 * and served to the next visitor.
 */
export function collectInto<T>(bubble: Bubble, fn: () => T): T {
  return answering.run(bubble, fn);
}

/** The bubble of the page being answered in this async context (see `collectInto`), if any. */
export function answeringBubble(): Bubble | undefined {
  return answering.getStore();
}

const DECLARED = Symbol.for('nunjucks-fragment-cache.cacheable');

/** A value a data loader returns with what it depends on (see `cacheable`). */
export interface CacheableValue<T> {
  readonly [DECLARED]: true;
  readonly value: T;
  readonly tags: readonly string[];
  /** Seconds the data stays valid (`null`: no bound). */
  readonly ttl: number | null;
}

/**
 * Declare what data depends on, from the loader that loads it: `return cacheable(post, { tags:
 * [`post:${id}`] })`. The `resolve` filter unwraps it and the tags (and the lifetime, with `ttl`)
 * bubble to every fragment, view and page the data is rendered into, so `invalidateTags(['post:42'])`
 * makes all of them miss.
 */
export function cacheable<T>(value: T, declared: { tags?: readonly string[]; ttl?: number | null }): CacheableValue<T> {
  const tags = declared.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string' && tag !== '')) {
    throw new CacheError('ERR_CACHE_OPTIONS', `cacheable(): tags must be a list of non-empty strings; got ${JSON.stringify(declared.tags)}.`);
  }
  const ttl = declared.ttl ?? null;
  if (ttl !== null && !(typeof ttl === 'number' && ttl >= 0)) {
    throw new CacheError('ERR_CACHE_OPTIONS', `cacheable(): ttl must be a number of seconds (0 or more) or null; got ${JSON.stringify(declared.ttl)}.`);
  }
  return { [DECLARED]: true, value, tags: [...tags], ttl };
}

export function isCacheableValue(value: unknown): value is CacheableValue<unknown> {
  return typeof value === 'object' && value !== null && (value as { [DECLARED]?: unknown })[DECLARED] === true;
}
