/**
 * A miss: let the app answer, keep a copy of what it writes, and store it if the final headers
 * allow. The client gets the response as the app writes it; the page is stored just after.
 */
import type { ServerResponse } from 'node:http';
import { captureResponse } from './capture.js';
import type { Lookup, PageContext } from './context.js';
import { encodeBody, newGeneration, parseIndex, strongEtag, type PageEntry } from './entry.js';
import type { Render } from './flights.js';
import { fromOutgoing, replayable, single, type HeaderRecord } from './headers.js';
import { pageKey, variantFields } from './keys.js';
import { hasLifetime, mergeCacheControl } from './patch.js';
import { decideStorable, type StoreDecision } from './policy.js';
import { replayInBackground, type PageApp, type RefreshMarker } from './refresh.js';
import { deletePage, readIndex, report, writePage } from './storage.js';

/** Run the app for this request, and store its response if it may be. */
let warnedEncoded = false;
function warnEncodedOnce(): void {
  if (warnedEncoded) return;
  warnedEncoded = true;
  process.emitWarning(
    'cachePage/cacheMiddleware: a Content-Encoding was added after the page cache saw the body (is compression() mounted before it?). Such pages are not cached. Mount the page cache before compression(), so it stores and replays the uncompressed page and compression encodes each response.',
    { code: 'NJKC_PAGE_ENCODING' },
  );
}

export function render(ctx: PageContext, own: Lookup, leadKey: string | undefined, refresh: RefreshMarker | undefined): void {
  const { cache, opts, flights, req, res, method } = ctx;
  const keys = [cache.makeKey(own.indexKey, opts.version)];
  if (own.pageKey !== undefined) keys.push(cache.makeKey(own.pageKey, opts.version));
  const job = flights.begin(ctx.tags, keys, leadKey, opts.waitMs);
  const before = fromOutgoing(res.getHeaders());
  res.setHeader('X-Cache', 'MISS');
  const decide = (): StoreDecision =>
    decideStorable(
      { method, requestHeaders: req.headers, status: res.statusCode, responseHeaders: fromOutgoing(res.getHeaders()) },
      { statuses: opts.statuses, defaultTtl: opts.ttl, clock: cache.clock },
    );
  let decision: StoreDecision | undefined;
  let encodedBefore = false;
  const done = (): void => {
    flights.finish(job);
    refresh?.done();
  };
  captureResponse(res, opts.maxBodyBytes, {
    beforeHeaders(_status, body) {
      encodedBefore = res.getHeader('content-encoding') !== undefined;
      // What Django's patch_response_headers does, decided on the headers as they stand now.
      const tentative = decide();
      if (tentative.store) patchResponse(res, tentative, method === 'GET' ? body : undefined, cache.clock.now());
    },
    afterHeaders() {
      // Decided again on the final headers: a hook that ran after ours (neverCache, a session) counts.
      decision = decide();
      if (decision.store && !encodedBefore && res.getHeader('content-encoding') !== undefined) {
        // A Content-Encoding added outside us (compression() mounted before the cache): the bytes
        // we saw are not the bytes sent, and replaying them under that header would corrupt pages.
        decision = { store: false, reason: 'encoded-after-capture' };
        warnEncodedOnce();
      }
      if (!decision.store) opts.onSkip?.(decision.reason, req);
      return decision.store;
    },
    end(body, loss) {
      if (loss !== undefined) opts.onSkip?.(loss, req);
      complete(ctx, own, job, decision, body, before, refresh !== undefined)
        .catch((error: unknown) => report(cache, error, 'page:set'))
        .finally(done);
    },
    abort() {
      opts.onSkip?.('incomplete', req);
      done();
    },
  });
  ctx.pass();
}

async function complete(ctx: PageContext, own: Lookup, job: Render, decision: StoreDecision | undefined, body: Buffer | undefined, before: HeaderRecord, refreshing: boolean): Promise<void> {
  const { cache, opts, req, res, method, address } = ctx;
  if (decision?.store !== true || body === undefined || job.detached) {
    // A refresh that may not be stored leaves no stale copy behind to be served again.
    if (refreshing && own.pageKey !== undefined && !job.detached) await deletePage(cache, own.pageKey, opts.version);
    return;
  }
  const now = cache.clock.now();
  const headers = storedHeaders(fromOutgoing(res.getHeaders()), before);
  if (method === 'GET' && headers.etag === undefined) headers.etag = strongEtag(body);
  if (method === 'HEAD' && headers['content-length'] === undefined && body.length > 0) headers['content-length'] = String(body.length);
  const entry: PageEntry = {
    status: res.statusCode,
    headers,
    ...encodeBody(method === 'HEAD' ? Buffer.alloc(0) : body),
    at: now,
    fresh: decision.ttl === null ? null : now + decision.ttl * 1000,
  };
  const vary = [...decision.vary].sort();
  // Read the header list again: another variant may have been learned while this one rendered.
  const index = parseIndex(await readIndex(cache, own.indexKey, opts.version));
  const gen = index !== undefined && index.vary.join(',') === vary.join(',') ? index.gen : newGeneration();
  const key = pageKey({ keyPrefix: opts.keyPrefix, method, address, variant: { gen, fields: variantFields(vary, opts.keyFields), headers: req.headers } });
  job.keys.add(cache.makeKey(key, opts.version));
  job.settle({ entry, pageKey: key, vary, gen });
  if (job.detached) return;
  await writePage(cache, opts, { indexKey: own.indexKey, index: { vary, gen }, pageKey: key, entry, ttl: decision.ttl, tags: job.tags }, () => job.detached);
}

/** Replay the request through the app in the background (stale-while-revalidate), once per page. */
export function refreshInBackground(ctx: PageContext, app: PageApp, own: Lookup): void {
  const { cache, opts, flights, req } = ctx;
  const claim = cache.makeKey(own.pageKey ?? own.indexKey, opts.version);
  if (!flights.claimRefresh(claim)) return;
  replayInBackground(app, req, ctx.target, opts.waitMs, () => flights.releaseRefresh(claim));
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
