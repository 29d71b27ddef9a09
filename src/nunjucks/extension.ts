import { LRUCache } from 'lru-cache';
import nunjucks from 'nunjucks';
import type { Cache, FetchOptions } from '../core/cache.js';
import type { Bubble } from '../core/cacheability.js';
import { implicitTag } from '../core/cacheability.js';
import { fragmentKey, sha256 } from '../core/keys.js';
import { coerceTtl, describe } from '../core/ttl.js';
import { closeCapture, fillHoles, fragmentValue, insideFragmentBody, isHoled, openCapture, parseHoleTag, placeHole, type HoledFragment } from './holes.js';
import { bubbling, closeBubble, openBubble, report, reportPersonal, reportUncacheable } from './bubbling.js';
import { checkIncludesInLoops, type PreflightEnvironment } from './preflight.js';
import { readScopeOf } from './read-scope.js';
import { LOOP_SENTINEL, parseCacheTag, type NjkLexer, type NjkNode, type NjkNodes, type NjkParser } from './parse.js';

type Callback = (error: unknown, result?: unknown) => void;
type BodyFn = (callback: (error: unknown, output?: unknown) => void) => void;

/** The parts of a Nunjucks Environment the tag needs at run time (whichever copy built it). */
interface RenderContext {
  ctx: Record<string, unknown>;
  env: {
    getFilter(name: string): (value: unknown) => unknown;
    loaders?: Array<{ getSource?: (name: string) => { src: string } | null; noCache?: boolean; async?: boolean }>;
  };
}

export interface CacheExtensionOptions {
  /** Tag name (default "cache"); the end tag is "end" + name. */
  tagName?: string;
  /** Name of the hole tag (default "nocache"): a part of a cached fragment rendered on every request. */
  holeTagName?: string;
  /**
   * Mix a digest of the block's source (and of templates it includes by a literal name) into each
   * entry, so editing a template makes its old fragments miss. Default true.
   */
  digest?: boolean;
  /**
   * Cacheability bubbles (default true): each fragment reports its tags, lifetime and implicit key
   * tag to the fragments, views and pages rendered around it (docs/fragments.md, "Nesting").
   * `false`: each fragment is stored with its own tags only, and an inner invalidation does not
   * reach the entries around it (holes and TTL-0 fragments still keep pages around them uncached).
   */
  bubble?: boolean;
}

/** Nested synchronous answers allowed before one goes through a microtask (which resets the stack). */
const MAX_SYNC_DEPTH = 64;
let syncDepth = 0;

const { TemplateError } = (nunjucks as unknown as { lib: { TemplateError: new (message: string, lineno: number, colno: number) => Error } }).lib;

/**
 * The `cache` tag. It only parses and delegates: keys come from `fragmentKey`, storage and policy
 * from the `Cache`. On a hit the body is not rendered at all.
 */
export class CacheExtension {
  readonly tags: string[];
  readonly cache: Cache;
  readonly #digest: boolean;
  readonly #bubble: boolean;
  /** Block digests extended with their includes' sources, by block digest and include list (bounded). */
  readonly #includeDigests = new LRUCache<string, string>({ max: 1_000 });

  constructor(cache: Cache, options: CacheExtensionOptions = {}) {
    this.cache = cache;
    this.tags = [options.tagName ?? 'cache', options.holeTagName ?? 'nocache'];
    this.#digest = options.digest ?? true;
    this.#bubble = options.bubble ?? true;
  }

  /**
   * Nunjucks passes every template's source through here before compiling it (unbound, hence an
   * arrow); installCache gives it the Environment. See preflight.ts.
   */
  readonly preprocess = (src: string): string => {
    if (this.environment !== undefined) checkIncludesInLoops(src, this.environment, this.tags[0] as string, this.compiling, this.extensionName);
    return src;
  };

  /** The Environment the tag is installed on (set by installCache). */
  environment: PreflightEnvironment | undefined;
  /** The name the Environment knows this extension by (set by installCache). */
  extensionName = 'NunjucksFragmentCache';
  /** Path of the template being compiled, when known (set by installCache), for relative includes. */
  compiling: string | undefined;

  /** Forget the digests of included templates (a watching loader saw a template change). */
  forgetIncludeDigests(): void {
    this.#includeDigests.clear();
  }

  parse(parser: NjkParser, nodes: NjkNodes, lexer: NjkLexer): NjkNode {
    if (parser.peekToken()?.value === this.tags[1]) return parseHoleTag(this, this.tags[1] as string, this.tags[0] as string, parser, nodes, lexer);
    return parseCacheTag(this, this.tags[0] as string, parser, nodes, lexer);
  }

  run(
    context: RenderContext,
    ttlValue: unknown,
    name: string,
    varyOn: unknown[],
    options: Record<string, unknown>,
    digest: string,
    includes: string,
    lineno: number,
    colno: number,
    loopPosition: unknown,
    body: BodyFn,
    callback: Callback,
  ): void {
    let called = false;
    const done: Callback = (error, result) => {
      // An async error inside a macro can call back twice; answer Nunjucks once.
      if (called) return;
      called = true;
      try {
        callback(error, result);
      } catch (thrown) {
        // The rest of the template runs inside this callback: a template error there must reach
        // the render's callback, not escape as an unhandled rejection.
        callback(thrown);
      }
    };
    const fail = (message: string) => done(new TemplateError(`${this.tags[0]} tag "${name}": ${message}`, lineno, colno));

    const ttl = coerceTtl(ttlValue);
    if (ttl === undefined) return fail(`the TTL must be a number of seconds or none, got ${describe(ttlValue)}.`);
    // An undefined value would silently key every caller alike, or store no tag: say which one it is.
    const missing = varyOn.findIndex((value) => value === undefined);
    if (missing !== -1) return fail(`vary-on value ${missing + 1} is undefined. Pass a defined value (a missing variable or field is a mistake here), or drop it.`);
    for (const option of ['tags', 'stale']) {
      if (option in options && options[option] === undefined) return fail(`${option}= is undefined. Give it a defined value, or leave the option out.`);
    }
    const tags = normaliseTags(options.tags);
    if (tags === undefined) return fail(`tags= must be a string or a list of strings, got ${describe(options.tags)}.`);
    const stale = options.stale;
    if (stale !== undefined && (typeof stale !== 'number' || !(stale >= 0))) return fail(`stale= must be a number of seconds (0 or more), got ${describe(stale)}.`);

    const safe = context.env.getFilter('safe');
    let key: string;
    try {
      key = fragmentKey(name, varyOn);
    } catch (error) {
      return fail((error as Error).message);
    }
    const fetchOptions: FetchOptions = { ttl, tags, label: name };
    if (stale !== undefined) fetchOptions.staleTtl = stale;
    if (this.#digest) fetchOptions.digest = this.#fullDigest(context, digest, includes);
    // The render's read scope: one prefetch of what the last render of this template read.
    fetchOptions.scope = readScopeOf(context.ctx, this.cache);
    // Inside a fragment body or a page that collects what it depends on: this fragment reports its
    // tags, its lifetime and its implicit tag (read with the entry), so invalidating it, or any tag
    // inside it, reaches what it is rendered into.
    const ctx = context.ctx;
    const reporting = this.#bubble && bubbling(ctx);
    if (reporting) fetchOptions.watch = [implicitTag(key)];

    if (typeof ttl === 'number' && ttl <= 0) {
      // The low-level API's TTL rule: 0 or less removes the entry (failing open) and stores nothing.
      void this.cache.set(key, '', ttl).then(
        () => {
          // Rendered on every request: nothing around it can be stored either.
          reportUncacheable(ctx);
          const capture = openCapture(context.ctx);
          body((error, output) => {
            closeCapture(context.ctx, capture);
            if (error) return done(error);
            this.#answer(context, fragmentValue(stripSentinel(output), capture), safe, done);
          });
        },
        (error: unknown) => done(error),
      );
      return;
    }

    // Warm hit held in this process: answer without a promise. The rest of the template then runs
    // inside this call, so nested synchronous answers are capped to keep the stack bounded (a loop
    // over thousands of cached rows would otherwise overflow it).
    const warm = this.cache.peek(key, fetchOptions);
    if (warm !== undefined && reporting) report(ctx, warm.cacheability);
    if (warm !== undefined && isHoled(warm.value)) return this.#answer(context, warm.value, safe, done);
    if (warm !== undefined) {
      const html = safe(warm.value);
      if (syncDepth >= MAX_SYNC_DEPTH) {
        queueMicrotask(() => done(null, html));
        return;
      }
      syncDepth += 1;
      try {
        done(null, html);
      } finally {
        syncDepth -= 1;
      }
      return;
    }

    const calledAt = loopPosition === undefined || loopPosition === null ? '' : String(loopPosition);
    // What the body rendered on the last miss (or background refresh) depended on.
    let inner: Bubble | undefined;
    if (this.#bubble) fetchOptions.collected = () => inner;
    const collect = this.#bubble;
    const producer = () =>
      new Promise<string | HoledFragment>((resolve, reject) => {
        const bubble = collect ? openBubble(ctx) : undefined;
        inner = bubble;
        const capture = openCapture(context.ctx);
        body((error, output) => {
          closeCapture(context.ctx, capture);
          if (bubble !== undefined) closeBubble(ctx, bubble);
          if (error) return reject(error);
          const text = output === undefined || output === null ? '' : String(output);
          const at = text.lastIndexOf(LOOP_SENTINEL);
          if (at !== -1 && text.slice(at + LOOP_SENTINEL.length) !== calledAt) {
            // Nunjucks drops errors from an include in a plain loop, so say it where it is seen.
            const moved = frameMovedError(name, lineno, colno, this.environment?.opts?.tags);
            warnOnce(`frame:${name}`, moved.message);
            return reject(moved);
          }
          resolve(fragmentValue(at === -1 ? text : text.slice(0, at), capture));
        });
      });
    this.cache.fetch(key, producer, fetchOptions).then(
      (result) => {
        if (reporting) report(ctx, result.cacheability);
        this.#answer(context, result.value, safe, done);
      },
      (error: unknown) => done(error),
    );
  }

  /** A hole: on a miss of the fragment around it, a placeholder its fragment fills on every answer. */
  hole(context: RenderContext, args: Record<string, unknown>, src: string, lineno: number, colno: number, callback: Callback): void {
    const placed = placeHole(context.ctx, src, args, { cache: this.tags[0] as string, hole: this.tags[1] as string });
    if (placed.error !== undefined) return callback(new TemplateError(`${this.tags[1]} tag: ${placed.error}`, lineno, colno));
    callback(null, context.env.getFilter('safe')(placed.placeholder));
  }

  /** Answer with a fragment's HTML, its holes (if any) rendered for this request. */
  #answer(context: RenderContext, value: unknown, safe: (value: unknown) => unknown, done: Callback): void {
    if (!isHoled(value)) return done(null, safe(value));
    if (insideFragmentBody(context.ctx)) {
      // Filled here, the fragment being rendered around this one would store this request's holes.
      const [cacheTag, holeTag] = this.tags;
      return done(new TemplateError(`${holeTag} tag: a fragment with ${holeTag} blocks is inside another ${cacheTag} block; the outer fragment would store what the holes rendered for this request. Move the ${holeTag} blocks to the outermost fragment.`, 0, 0));
    }
    // Rendered for this request: a page around it must not be stored or shared.
    reportPersonal(context.ctx);
    const env = context.env as RenderContext['env'] & { renderString(src: string, ctx: object, cb: (error: unknown, output?: string | null) => void): void };
    fillHoles(value, context.ctx, (src, ctx, cb) => env.renderString(src, ctx, cb), (error, html) => (error ? done(error) : done(null, safe(html))));
  }

  /** The block's digest, extended with the source of templates it includes by literal name. */
  #fullDigest(context: RenderContext, digest: string, includes: string): string {
    if (includes === '[]') return digest;
    const loaders = context.env.loaders ?? [];
    const memo = `${digest}|${includes}`;
    const cacheable = loaders.every((loader) => !loader.noCache);
    const known = cacheable ? this.#includeDigests.get(memo) : undefined;
    if (known !== undefined) return known;
    const names = JSON.parse(includes) as string[];
    const parts = [digest];
    for (const name of names) {
      for (const loader of loaders) {
        if (loader.async || typeof loader.getSource !== 'function') continue;
        try {
          const source = loader.getSource(name);
          if (source) {
            parts.push(`${name}:${source.src}`);
            break;
          }
        } catch {
          // A missing include is reported by Nunjucks itself when the body renders.
        }
      }
    }
    const full = sha256(parts.join('\0')).slice(0, 16);
    if (cacheable) this.#includeDigests.set(memo, full);
    return full;
  }
}

const NO_TAGS: string[] = [];

/** The body's output without the loop-position marker parse.ts appends. */
function stripSentinel(output: unknown): string {
  const text = output === undefined || output === null ? '' : String(output);
  const at = text.lastIndexOf(LOOP_SENTINEL);
  return at === -1 ? text : text.slice(0, at);
}

/** Warnings already given, by fragment name: at most `WARNED_MAX` names (then no new warnings), each cut to 200 characters. */
const warned = new Set<string>();
const WARNED_MAX = 100;
function warnOnce(id: string, message: string): void {
  const key = id.slice(0, 200);
  if (warned.has(key) || warned.size >= WARNED_MAX) return;
  warned.add(key);
  process.emitWarning(message, { code: 'NJKC_INCLUDE_IN_FOR' });
}

/** The body rendered against a later loop item than the tag was called for: store nothing, say why. */
function frameMovedError(name: string, lineno: number, colno: number, tags: { blockStart?: string; blockEnd?: string } = {}): Error {
  const bs = tags.blockStart ?? '{%';
  const be = tags.blockEnd ?? '%}';
  return new TemplateError(
    `cache tag "${name}": this fragment is inside an include in a plain for loop, and Nunjucks moved on to the next item before the fragment rendered, so it was not stored. ` +
      `Write the loop as ${bs} asyncEach item in items ${be}…${bs} endeach ${be} (asyncEach waits for each include).`,
    lineno,
    colno,
  );
}

function normaliseTags(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return NO_TAGS;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((tag) => typeof tag === 'string' || typeof tag === 'number')) return value.map(String);
  return undefined;
}
