/**
 * `cachePage` and `cacheMiddleware`: Django's `cache_page` and site-wide cache middleware for
 * Express 5 and `node:http`. This file is only the adapter: it reads the request, asks the pure
 * `decidePage` (policy.ts) what to do, and acts on the answer. The caching itself is the core's
 * lease, as for fragments and views:
 *
 *   1. the URL's learned Vary list (the header-list entry) is read;
 *   2. `cache.lease` on the variant key (or, when no list is known yet, on the list's key) returns a
 *      hit, a stale page with a lease to refresh it, the page a concurrent render produced, or a
 *      lease: the request then renders (render.ts) and commits the captured response through it.
 *
 * So pages get single-flight, the distributed `lock`, `failOpen`, stats, events, stale-while-
 * revalidate and race-free invalidation from the same engine as everything else.
 *
 * Mount `cacheMiddleware` before your routes (and before `compression`, so compressed bodies are
 * stored with their `Vary: Accept-Encoding`); put `cachePage` first in a route's handlers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cache, Lease } from '../core/cache.js';
import { edgeHeaderValue, type ResolvedEdge } from './edge.js';
import type { PageContext } from './context.js';
import { parseIndex, parsePage, type PageEntry, type PageIndex } from './entry.js';
import { pageKey, requestAddress, urlTag, variantFields } from './keys.js';
import { resolvePageOptions, type PageCacheOptions, type ResolvedPageOptions } from './options.js';
import { decidePage, type PageFound, type PageRequest } from './policy.js';
import { appOf, refreshOf, replayInBackground } from './refresh.js';
import { render } from './render.js';
import { replay } from './replay.js';

/** Connect-style middleware: Express 5 (`app.use`, a route's handlers) or `node:http` with a `next`. */
export type PageMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** Cache one route's pages (Django's `cache_page`). */
export function cachePage(cache: Cache, options: PageCacheOptions = {}): PageMiddleware {
  return pageMiddleware(cache, resolvePageOptions(cache, options, 'page'));
}

/** Cache every cacheable page of an app (Django's UpdateCacheMiddleware + FetchFromCacheMiddleware). */
export function cacheMiddleware(cache: Cache, options: PageCacheOptions = {}): PageMiddleware {
  return pageMiddleware(cache, resolvePageOptions(cache, options, 'site'));
}

function pageMiddleware(cache: Cache, opts: ResolvedPageOptions): PageMiddleware {
  // Variant fields of each learned header list (header lists are shared, immutable objects).
  const fields = new WeakMap<object, string[]>();
  let warned = false;
  const warnNoApp = (): void => {
    if (warned) return;
    warned = true;
    process.emitWarning('Page cache: "staleTtl" is set but there is no app to refresh pages through, so stale pages are re-rendered in the request. Pass { app } (the request listener) when using node:http.', { code: 'NJKC_PAGE_NO_APP' });
  };
  return function pageCacheMiddleware(req, res, next) {
    let passed = false;
    const pass = (error?: unknown): void => {
      if (passed) return;
      passed = true;
      next(error);
    };
    // A store failure reaches the app as it would reach a fragment: served uncached when the cache
    // fails open (the core already did), passed on as an error when it was created with failOpen: false.
    const fail = (error: unknown): void => {
      if (cache.listenerCount('error') > 0) cache.emit('error', { error, operation: 'page' });
      if (!res.headersSent) pass(cache.failOpen ? undefined : error);
    };
    try {
      const original = (req as IncomingMessage & { originalUrl?: unknown }).originalUrl;
      const target = typeof original === 'string' ? original : (req.url ?? '');
      const request: PageRequest = {
        method: req.method,
        address: requestAddress({ target, headers: req.headers, encrypted: (req.socket as { encrypted?: boolean } | null)?.encrypted === true }, opts),
        authorization: req.headers.authorization !== undefined,
      };
      const first = decidePage(request, undefined);
      if (first.kind === 'pass') {
        opts.onSkip?.(first.reason, req);
        return pass();
      }
      const method = req.method as 'GET' | 'HEAD';
      const address = request.address as Exclude<PageRequest['address'], string>;
      const tags = opts.tags(req);
      const ctx: PageContext = { cache, opts, fields, req, res, method, address, target, tags, request, pass: () => pass() };
      if (opts.edge !== undefined) announceTags(res, ctx.tags, opts.edge);
      const refresh = refreshOf(req);
      if (refresh !== undefined) return render(ctx, refresh.lease as Lease<string>, undefined, true, refresh.done);
      if (serveWarm(ctx)) return;
      handle(ctx, warnNoApp, 0).catch(fail);
    } catch (error) {
      fail(error);
    }
  };
}

/** The cache options of a page lookup: the URL's tag (invalidatePage), the page's tags, the label. */
function leaseOptions(ctx: PageContext, indexKey: string): { version?: number; tags: string[]; label: string } {
  const tags = [urlTag(indexKey), ...ctx.tags];
  return ctx.opts.version === undefined ? { tags, label: ctx.opts.label } : { version: ctx.opts.version, tags, label: ctx.opts.label };
}

/** The proxy's tag header, set before the page is stored, so hits and misses carry it alike. */
function announceTags(res: ServerResponse, tags: readonly string[], edge: ResolvedEdge): void {
  const value = edgeHeaderValue(tags, edge);
  if (value !== undefined) res.setHeader(edge.header, value);
}

/** A fresh page this process holds, served without waiting on the event loop; false otherwise. */
function serveWarm(ctx: PageContext): boolean {
  const entry = peek(ctx, ctx.method) ?? (ctx.method === 'HEAD' ? peek(ctx, 'GET') : undefined);
  if (entry === undefined) return false;
  const action = decidePage(ctx.request, { status: 'hit', entry });
  if (action.kind !== 'hit') return false;
  replay(ctx.req, ctx.res, entry, 'HIT', ctx.cache.clock.now());
  return true;
}

function peek(ctx: PageContext, method: 'GET' | 'HEAD'): PageEntry | undefined {
  const { cache, opts, address } = ctx;
  const indexKey = pageKey({ keyPrefix: opts.keyPrefix, method, address });
  // The header list is bookkeeping, read as the async path reads it (`get`, not counted): only the
  // page itself counts as a lookup.
  const index = parseIndex(cache.peekValue(indexKey, opts.version));
  if (index === undefined) return undefined;
  return parsePage(cache.peek(variantKey(ctx, method, index), leaseOptions(ctx, indexKey))?.value);
}

/** The key of the variant this request selects, under a learned header list. */
function variantKey(ctx: PageContext, method: 'GET' | 'HEAD', index: { vary: readonly string[]; gen: string }): string {
  let fields = ctx.fields.get(index);
  if (fields === undefined) {
    fields = variantFields(index.vary, ctx.opts.keyFields);
    ctx.fields.set(index, fields);
  }
  return pageKey({ keyPrefix: ctx.opts.keyPrefix, method, address: ctx.address, variant: { gen: index.gen, fields, headers: ctx.req.headers } });
}

async function readIndex(ctx: PageContext, method: 'GET' | 'HEAD'): Promise<{ indexKey: string; index: PageIndex | undefined }> {
  const indexKey = pageKey({ keyPrefix: ctx.opts.keyPrefix, method, address: ctx.address });
  return { indexKey, index: parseIndex(await ctx.cache.get(indexKey, undefined, ctx.opts.version)) };
}

/**
 * HEAD may be answered from GET's page (Django does the same). It is looked up through the lease
 * like any page, so it counts in stats and events as this view's lookup, joins a GET render under
 * way, and a stale GET page is served as STALE and refreshed (by a background GET). Whether it
 * answered; when not, the HEAD request renders under its own lease (a HEAD response is no GET page).
 */
async function answerFromGet(ctx: PageContext): Promise<boolean> {
  const { cache, opts, req, res } = ctx;
  const get = await readIndex(ctx, 'GET');
  if (get.index === undefined) return false;
  const key = variantKey(ctx, 'GET', get.index);
  const taken = await cache.lease<string>(key, leaseOptions(ctx, get.indexKey));
  if (taken.lease !== undefined) {
    taken.lease.abandon();
    return false;
  }
  const entry = parsePage(taken.value);
  const action = entry === undefined || entry.key !== key ? undefined : decidePage(ctx.request, { status: taken.status === 'stale' ? 'stale' : 'hit', entry });
  const refresh = taken.refresh;
  if (action === undefined || action.kind === 'miss') {
    refresh?.abandon();
    return false;
  }
  if (action.kind === 'pass') {
    refresh?.abandon();
    opts.onSkip?.(action.reason, req);
    ctx.pass();
    return true;
  }
  replay(req, res, action.entry, action.kind === 'hit' ? 'HIT' : 'STALE', cache.clock.now());
  if (refresh !== undefined) {
    const app = appOf(req, opts.app);
    if (app === undefined) refresh.abandon();
    else replayInBackground(app, req, ctx.target, opts.waitMs, refresh, () => refresh.abandon());
  }
  return true;
}

async function handle(ctx: PageContext, warnNoApp: () => void, attempt: number): Promise<void> {
  const { cache, opts, req, res, method } = ctx;
  const { indexKey, index } = await readIndex(ctx, method);
  if (index === undefined && method === 'HEAD' && (await answerFromGet(ctx))) return;
  const leaseKey = index === undefined ? indexKey : variantKey(ctx, method, index);
  const taken = await cache.lease<string>(leaseKey, leaseOptions(ctx, indexKey));
  if (taken.lease !== undefined) return render(ctx, taken.lease, { indexKey, index }, false, undefined);

  const entry = parsePage(taken.value);
  // What was found is not a page of ours: the header list appeared since we read it (look again),
  // or a malformed page (a miss: render it again).
  if (entry === undefined || (taken.status === 'miss' && entry.key !== variantKey(ctx, method, entry))) {
    taken.refresh?.abandon();
    if (attempt < 2) {
      if (entry === undefined && leaseKey !== indexKey) await cache.delete(leaseKey, opts.version);
      // Look up again: the header list the joined render learned now leads to our own variant.
      return handle(ctx, warnNoApp, attempt + 1);
    }
    return void ctx.pass();
  }
  const found: PageFound = { status: taken.status === 'stale' ? 'stale' : 'hit', entry };
  const action = decidePage(ctx.request, found);
  if (action.kind === 'pass') {
    taken.refresh?.abandon();
    opts.onSkip?.(action.reason, req);
    return void ctx.pass();
  }
  if (action.kind === 'hit' || taken.refresh === undefined) return replay(req, res, entry, action.kind === 'hit' ? 'HIT' : 'STALE', cache.clock.now());
  const app = appOf(req, opts.app);
  if (app === undefined) {
    // No app to refresh through: this request renders the page itself, under the refresh lease.
    warnNoApp();
    return render(ctx, taken.refresh, { indexKey, index }, true, undefined);
  }
  replay(req, res, entry, 'STALE', cache.clock.now());
  const refresh = taken.refresh;
  replayInBackground(app, req, ctx.target, opts.waitMs, refresh, () => refresh.abandon());
}
