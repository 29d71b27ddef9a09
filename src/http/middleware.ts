/**
 * `cachePage` and `cacheMiddleware`: Django's `cache_page` and site-wide cache middleware for
 * Express 5 and `node:http`. This file is only the adapter between Node's request/response and the
 * pure decisions (policy.ts, keys.ts, conditional.ts); a request goes:
 *
 *   1. GET/HEAD with a keyable address (valid, allowed host; origin-form URL), else pass through;
 *   2. look the page up (header list, then variant) — synchronously when the store holds it in
 *      this process — and replay it, or answer 304 when the request's validators match;
 *   3. on a miss, wait for a render of the same page already under way, or render (render.ts).
 *
 * Mount `cacheMiddleware` before your routes (and before `compression`, so compressed bodies are
 * stored with their `Vary: Accept-Encoding`); put `cachePage` first in a route's handlers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cache } from '../core/cache.js';
import { edgeHeaderValue, type ResolvedEdge } from './edge.js';
import type { Lookup, PageContext } from './context.js';
import { parseIndex, parsePage, type PageEntry, type PageIndex } from './entry.js';
import { PageFlights } from './flights.js';
import { pageKey, requestAddress, variantFields } from './keys.js';
import { resolvePageOptions, type PageCacheOptions, type ResolvedPageOptions } from './options.js';
import { cacheableMethod, type PageSkipReason } from './policy.js';
import { appOf, refreshOf } from './refresh.js';
import { refreshInBackground, render } from './render.js';
import { replay } from './replay.js';
import { notify, readIndex, readPage, report } from './storage.js';

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
  const flights = PageFlights.of(cache);
  // Variant fields of each learned header list (header lists are shared, immutable objects).
  const fields = new WeakMap<PageIndex, string[]>();
  let warned = false;
  const warnNoApp = (): void => {
    if (warned) return;
    warned = true;
    process.emitWarning('Page cache: "staleTtl" is set but there is no app to refresh pages through, so stale pages are re-rendered in the request. Pass { app } (the request listener) when using node:http.', { code: 'NJKC_PAGE_NO_APP' });
  };
  return function pageCacheMiddleware(req, res, next) {
    let passed = false;
    const pass = (): void => {
      if (passed) return;
      passed = true;
      next();
    };
    // Nothing the cache does may turn a good response into an error: on any failure, serve it uncached.
    const fail = (error: unknown): void => {
      report(cache, error, 'page');
      if (!res.headersSent) pass();
    };
    try {
      const method = req.method;
      if (!cacheableMethod(method)) return skip(opts, req, pass, 'method');
      const original = (req as IncomingMessage & { originalUrl?: unknown }).originalUrl;
      const target = typeof original === 'string' ? original : (req.url ?? '');
      const address = requestAddress({ target, headers: req.headers, encrypted: (req.socket as { encrypted?: boolean } | null)?.encrypted === true }, opts);
      if (typeof address === 'string') return skip(opts, req, pass, address);
      const ctx: PageContext = { cache, opts, flights, fields, req, res, method, address, target, tags: opts.tags(req), pass };
      if (opts.edge !== undefined) announceTags(res, ctx.tags, opts.edge);
      const refresh = refreshOf(req);
      if (refresh === undefined && serveWarm(ctx)) return;
      handle(ctx, warnNoApp).catch(fail);
    } catch (error) {
      fail(error);
    }
  };
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
  const now = ctx.cache.clock.now();
  if (entry.fresh !== null && now >= entry.fresh) return false;
  replay(ctx.req, ctx.res, entry, 'HIT', now);
  return true;
}

function peek(ctx: PageContext, method: 'GET' | 'HEAD'): PageEntry | undefined {
  const { cache, opts, address } = ctx;
  // The Vary index is bookkeeping: only the page itself counts as a lookup.
  const index = parseIndex(cache.peek(pageKey({ keyPrefix: opts.keyPrefix, method, address }), opts.version === undefined ? { quiet: true } : { version: opts.version, quiet: true })?.value);
  if (index === undefined) return undefined;
  return parsePage(cache.peek(variantKey(ctx, method, index), { version: opts.version, tags: ctx.tags, label: opts.label })?.value);
}

/** The key of the variant this request selects, under a learned header list. */
function variantKey(ctx: PageContext, method: 'GET' | 'HEAD', index: PageIndex): string {
  let fields = ctx.fields.get(index);
  if (fields === undefined) {
    fields = variantFields(index.vary, ctx.opts.keyFields);
    ctx.fields.set(index, fields);
  }
  return pageKey({ keyPrefix: ctx.opts.keyPrefix, method, address: ctx.address, variant: { gen: index.gen, fields, headers: ctx.req.headers } });
}

async function handle(ctx: PageContext, warnNoApp: () => void): Promise<void> {
  const { cache, opts, flights, req, res, method, address } = ctx;
  const refresh = refreshOf(req);
  const { own, entry } = await lookup(ctx);
  if (refresh !== undefined) return render(ctx, own, undefined, refresh);

  if (entry !== undefined) {
    const now = cache.clock.now();
    if (entry.fresh === null || now < entry.fresh) {
      notify(cache, 'hit', own.pageKey ?? own.indexKey, opts);
      return replay(req, res, entry, 'HIT', now);
    }
    if (opts.staleTtl > 0 && now < entry.fresh + opts.staleTtl * 1000) {
      const app = appOf(req, opts.app);
      if (app !== undefined) {
        notify(cache, 'stale', own.pageKey ?? own.indexKey, opts);
        replay(req, res, entry, 'STALE', now);
        return refreshInBackground(ctx, app, own);
      }
      warnNoApp();
    }
  }
  notify(cache, 'miss', own.pageKey ?? own.indexKey, opts);
  const leadKey = cache.makeKey(own.pageKey ?? own.indexKey, opts.version);
  const leader = flights.leader(leadKey);
  if (leader === undefined) return render(ctx, own, leadKey, undefined);
  const outcome = await flights.wait(leader, opts.waitMs);
  if (outcome !== undefined) {
    const mine = pageKey({ keyPrefix: opts.keyPrefix, method, address, variant: { gen: outcome.gen, fields: variantFields(outcome.vary, opts.keyFields), headers: req.headers } });
    if (mine === outcome.pageKey) return replay(req, res, outcome.entry, 'HIT', cache.clock.now());
  }
  // The first render was not storable, varied differently, or took too long: render ourselves.
  return render(ctx, own, undefined, undefined);
}

async function lookup(ctx: PageContext): Promise<{ own: Lookup; entry: PageEntry | undefined }> {
  const own = await lookupMethod(ctx, ctx.method);
  if (own.entry !== undefined || ctx.method !== 'HEAD') return { own, entry: own.entry };
  // HEAD may be answered from GET's entry (Django does the same).
  const get = await lookupMethod(ctx, 'GET');
  return { own, entry: get.entry };
}

async function lookupMethod(ctx: PageContext, method: 'GET' | 'HEAD'): Promise<Lookup> {
  const { cache, opts, address } = ctx;
  const indexKey = pageKey({ keyPrefix: opts.keyPrefix, method, address });
  const index = parseIndex(await readIndex(cache, indexKey, opts.version));
  if (index === undefined) return { indexKey };
  const key = variantKey(ctx, method, index);
  return { indexKey, index, pageKey: key, entry: parsePage(await readPage(cache, key, opts.version)) };
}

function skip(opts: ResolvedPageOptions, req: IncomingMessage, pass: () => void, reason: PageSkipReason): void {
  opts.onSkip?.(reason, req);
  pass();
}
