/**
 * `cachePage` and `cacheMiddleware`: Django's `cache_page` and site-wide cache middleware for
 * Express 5 and `node:http`. This file is only the adapter between Node's request/response and the
 * pure decisions (policy.ts, keys.ts, conditional.ts); the order of a request is:
 *
 *   1. GET/HEAD with a keyable address (valid, allowed host; origin-form URL), else pass through;
 *   2. look the page up (header list, then variant) and replay it — a 304 if validators match;
 *   3. on a miss, wait for a render of the same page already under way, or render: let the app
 *      write the response, keep a copy, and store it if the final headers allow.
 *
 * Mount `cacheMiddleware` before your routes (and before `compression`, so compressed bodies are
 * stored with their `Vary: Accept-Encoding`); put `cachePage` first in a route's handlers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cache } from '../core/cache.js';
import { captureResponse } from './capture.js';
import { encodeBody, newGeneration, strongEtag, type PageEntry, type PageIndex } from './entry.js';
import { PageFlights, type Render } from './flights.js';
import { fromOutgoing, replayable, single, type HeaderRecord } from './headers.js';
import { pageKey, requestAddress, variantFields, type PageAddress } from './keys.js';
import { resolvePageOptions, type PageCacheOptions, type ResolvedPageOptions } from './options.js';
import { hasLifetime, mergeCacheControl } from './patch.js';
import { cacheableMethod, decideStorable, type StoreDecision } from './policy.js';
import { appOf, refreshOf, replayInBackground, type RefreshMarker } from './refresh.js';
import { replay } from './replay.js';
import { deletePage, notify, readIndex, readPage, report, writePage } from './storage.js';

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

interface Context {
  cache: Cache;
  opts: ResolvedPageOptions;
  flights: PageFlights;
  req: IncomingMessage;
  res: ServerResponse;
  method: 'GET' | 'HEAD';
  address: PageAddress;
  pass: () => void;
}

/** A lookup of one method's entries. Keys are before `makeKey`. */
interface Lookup {
  indexKey: string;
  index?: PageIndex;
  pageKey?: string;
  entry?: PageEntry;
}

function pageMiddleware(cache: Cache, opts: ResolvedPageOptions): PageMiddleware {
  const flights = PageFlights.of(cache);
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
    handle(cache, opts, flights, req, res, pass, warnNoApp).catch((error: unknown) => {
      // Nothing the cache does may turn a good response into an error: serve it uncached.
      report(cache, error, 'page');
      if (!res.headersSent) pass();
    });
  };
}

async function handle(cache: Cache, opts: ResolvedPageOptions, flights: PageFlights, req: IncomingMessage, res: ServerResponse, pass: () => void, warnNoApp: () => void): Promise<void> {
  const method = req.method;
  if (!cacheableMethod(method)) return skip(opts, req, pass, 'method');
  const target = (req as IncomingMessage & { originalUrl?: unknown }).originalUrl;
  const address = requestAddress(
    { target: typeof target === 'string' ? target : (req.url ?? ''), headers: req.headers, encrypted: (req.socket as { encrypted?: boolean } | null)?.encrypted === true },
    opts,
  );
  if (typeof address === 'string') return skip(opts, req, pass, address);
  const ctx: Context = { cache, opts, flights, req, res, method, address, pass };
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
        refreshInBackground(ctx, app, typeof target === 'string' ? target : (req.url ?? '/'), own);
        return;
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

async function lookup(ctx: Context): Promise<{ own: Lookup; entry: PageEntry | undefined }> {
  const own = await lookupMethod(ctx, ctx.method);
  if (own.entry !== undefined || ctx.method !== 'HEAD') return { own, entry: own.entry };
  // HEAD may be answered from GET's entry (Django does the same).
  const get = await lookupMethod(ctx, 'GET');
  return { own, entry: get.entry };
}

async function lookupMethod(ctx: Context, method: 'GET' | 'HEAD'): Promise<Lookup> {
  const { cache, opts, address, req } = ctx;
  const indexKey = pageKey({ keyPrefix: opts.keyPrefix, method, address });
  const index = await readIndex(cache, indexKey, opts.version);
  if (index === undefined) return { indexKey };
  const key = pageKey({ keyPrefix: opts.keyPrefix, method, address, variant: { gen: index.gen, fields: variantFields(index.vary, opts.keyFields), headers: req.headers } });
  return { indexKey, index, pageKey: key, entry: await readPage(cache, key, opts.version) };
}

/** Let the app answer, keep a copy, and store it if the final headers allow. */
function render(ctx: Context, own: Lookup, leadKey: string | undefined, refresh: RefreshMarker | undefined): void {
  const { cache, opts, flights, req, res, method } = ctx;
  const keys = [cache.makeKey(own.indexKey, opts.version)];
  if (own.pageKey !== undefined) keys.push(cache.makeKey(own.pageKey, opts.version));
  const job = flights.begin(opts.tags(req), keys, leadKey, opts.waitMs);
  const before = fromOutgoing(res.getHeaders());
  res.setHeader('X-Cache', 'MISS');
  const decide = (): StoreDecision =>
    decideStorable(
      { method, requestHeaders: req.headers, status: res.statusCode, responseHeaders: fromOutgoing(res.getHeaders()) },
      { statuses: opts.statuses, defaultTtl: opts.ttl, clock: cache.clock },
    );
  let decision: StoreDecision | undefined;
  captureResponse(res, opts.maxBodyBytes, {
    beforeHeaders(_status, body) {
      // What Django's patch_response_headers does, decided on the headers as they stand now.
      const tentative = decide();
      if (tentative.store) patchResponse(res, tentative, method === 'GET' ? body : undefined, cache.clock.now());
    },
    afterHeaders() {
      // Decided again on the final headers: a hook that ran after ours (neverCache, a session) counts.
      decision = decide();
      if (!decision.store) opts.onSkip?.(decision.reason, req);
      return decision.store;
    },
    end(body, loss) {
      if (loss !== undefined) opts.onSkip?.(loss, req);
      complete(ctx, own, job, decision, body, before, refresh).catch((error: unknown) => {
        report(cache, error, 'page:set');
        flights.finish(job);
        refresh?.done();
      });
    },
    abort() {
      opts.onSkip?.('incomplete', req);
      flights.finish(job);
      refresh?.done();
    },
  });
  ctx.pass();
}

async function complete(ctx: Context, own: Lookup, job: Render, decision: StoreDecision | undefined, body: Buffer | undefined, before: HeaderRecord, refresh: RefreshMarker | undefined): Promise<void> {
  const { cache, opts, flights, req, res, method, address } = ctx;
  if (decision?.store !== true || body === undefined || job.detached) {
    flights.finish(job);
    // A refresh that may not be stored leaves no stale copy behind to be served again.
    if (refresh !== undefined && own.pageKey !== undefined && !job.detached) await deletePage(cache, own.pageKey, opts.version);
    refresh?.done();
    return;
  }
  const now = cache.clock.now();
  const headers = storedHeaders(fromOutgoing(res.getHeaders()), before);
  if (method === 'GET' && headers.etag === undefined) headers.etag = strongEtag(body);
  if (method === 'HEAD' && headers['content-length'] === undefined && body.length > 0) headers['content-length'] = String(body.length);
  const entry: PageEntry = {
    pg: 1,
    status: res.statusCode,
    headers,
    ...encodeBody(method === 'HEAD' ? Buffer.alloc(0) : body),
    at: now,
    fresh: decision.ttl === null ? null : now + decision.ttl * 1000,
  };
  const vary = [...decision.vary].sort();
  // Read the header list again: another variant may have been learned while this one rendered.
  const index = await readIndex(cache, own.indexKey, opts.version);
  const gen = index !== undefined && index.vary.join(',') === vary.join(',') ? index.gen : newGeneration();
  const key = pageKey({ keyPrefix: opts.keyPrefix, method, address, variant: { gen, fields: variantFields(vary, opts.keyFields), headers: req.headers } });
  job.keys.add(cache.makeKey(key, opts.version));
  job.settle({ entry, pageKey: key, vary, gen });
  if (!job.detached) await writePage(cache, opts, { indexKey: own.indexKey, index: { pg: 1, vary, gen }, pageKey: key, entry, ttl: decision.ttl, tags: job.tags }, () => job.detached);
  flights.finish(job);
  refresh?.done();
}

function refreshInBackground(ctx: Context, app: NonNullable<ResolvedPageOptions['app']>, target: string, own: Lookup): void {
  const { cache, opts, flights, req } = ctx;
  const claim = cache.makeKey(own.pageKey ?? own.indexKey, opts.version);
  if (!flights.claimRefresh(claim)) return;
  replayInBackground(app, req, target, opts.waitMs, () => flights.releaseRefresh(claim));
}

/** Django's patch_response_headers, plus the strong ETag when the whole body is known in time. */
function patchResponse(res: ServerResponse, decision: Extract<StoreDecision, { store: true }>, body: Buffer | undefined, now: number): void {
  if (decision.ttl !== null) {
    if (!res.hasHeader('expires')) res.setHeader('Expires', new Date(now + decision.ttl * 1000).toUTCString());
    const cc = single(res.getHeader('cache-control'));
    if (!decision.explicit && !hasLifetime(cc)) res.setHeader('Cache-Control', mergeCacheControl(cc, { maxAge: Math.ceil(decision.ttl) }));
  }
  if (body !== undefined && !res.hasHeader('etag')) res.setHeader('ETag', strongEtag(body));
}

/** The response's replayable fields, minus those set before the page middleware ran and left as they were. */
function storedHeaders(final: HeaderRecord, before: HeaderRecord): HeaderRecord {
  const headers = replayable(final);
  for (const name of Object.keys(before)) {
    if (JSON.stringify(before[name]) === JSON.stringify(headers[name])) delete headers[name];
  }
  return headers;
}

function skip(opts: ResolvedPageOptions, req: IncomingMessage, pass: () => void, reason: Parameters<NonNullable<ResolvedPageOptions['onSkip']>>[0]): void {
  opts.onSkip?.(reason, req);
  pass();
}
