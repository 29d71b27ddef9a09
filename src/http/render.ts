/**
 * A miss: let the app answer, keep a copy of what it writes, and store it if the final headers
 * allow. The client gets the response as the app writes it; the page is stored just after.
 */
import type { ServerResponse } from 'node:http';
import type { Lease } from '../core/cache.js';
import { Bubble, CACHEABILITY, collectInto, secondsLeft } from '../core/cacheability.js';
import { edgeHeaderValue } from './edge.js';
import { captureResponse } from './capture.js';
import type { Known, PageContext } from './context.js';
import { encodeBody, formatIndex, formatPage, newGeneration, parseIndex, strongEtag, type PageEntry } from './entry.js';
import { fromOutgoing, replayable, single, type HeaderRecord } from './headers.js';
import { pageKey, variantFields } from './keys.js';
import { boundCacheControl, hasLifetime, mergeCacheControl } from './patch.js';
import { boundByContents, decideStorable, type StoreDecision } from './policy.js';

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

/**
 * Run the app for this request under `lease`, and commit its response through the lease if the
 * final headers allow (else abandon it). `known`: the header list as the lookup found it (absent
 * for a background refresh). `refreshing`: the lease refreshes a stale page, which is dropped when
 * the new response may not be stored. `done` runs when the render is over.
 */
export function render(ctx: PageContext, lease: Lease<string>, known: Known | undefined, refreshing: boolean, done: (() => void) | undefined): void {
  const { cache, opts, req, res, method } = ctx;
  const before = fromOutgoing(res.getHeaders());
  res.setHeader('X-Cache', 'MISS');
  // Requests that joined this lease wait at most waitMs: then they look up (and render) themselves.
  const timer = setTimeout(() => lease.abandon(), opts.waitMs);
  timer.unref();
  // What the page's templates depend on bubbles here: Express copies res.locals into every
  // res.render (pass `{ ...res.locals, ... }` to render helpers under node:http). A page cache
  // around this one (cacheMiddleware and cachePage on one route) shares the same bubble.
  const contents = bubbleOf(res);
  const decide = (): StoreDecision =>
    boundByContents(
      decideStorable(
        { method, requestHeaders: req.headers, status: res.statusCode, responseHeaders: fromOutgoing(res.getHeaders()) },
        { statuses: opts.statuses, defaultTtl: opts.ttl, clock: cache.clock },
      ),
      contents,
      cache.clock.now(),
    );
  let decision: StoreDecision | undefined;
  let encodedBefore = false;
  const finish = (): void => {
    clearTimeout(timer);
    lease.abandon(); // a no-op once committed
    done?.();
  };
  captureResponse(res, opts.maxBodyBytes, {
    beforeHeaders(_status, body) {
      encodedBefore = res.getHeader('content-encoding') !== undefined;
      // What Django's patch_response_headers does, decided on the headers as they stand now.
      const tentative = decide();
      if (tentative.store) patchResponse(res, tentative, method === 'GET' ? body : undefined, cache.clock.now());
      announceContents(ctx, contents);
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
      // What rendered after the headers went out (a page that writes early) counts too: a hole
      // makes the page personal, a short-lived fragment shortens it.
      const bounded = decision === undefined ? undefined : boundByContents(decision, contents, cache.clock.now());
      if (decision?.store === true && bounded?.store === false) opts.onSkip?.(bounded.reason, req);
      commit(ctx, lease, known, bounded, body, before, refreshing, contents)
        .catch((error: unknown) => {
          if (cache.listenerCount('error') > 0) cache.emit('error', { error, operation: 'page:set' });
        })
        .finally(finish);
    },
    abort() {
      opts.onSkip?.('incomplete', req);
      finish();
    },
  });
  // Renders the app starts for this request report to the page even when they are not given
  // res.locals (the render helper, res.end(html)).
  collectInto(contents, () => ctx.pass());
}

async function commit(ctx: PageContext, lease: Lease<string>, known: Known | undefined, decision: StoreDecision | undefined, body: Buffer | undefined, before: HeaderRecord, refreshing: boolean, contents: Bubble): Promise<void> {
  const { cache, opts, req, res, method, address } = ctx;
  if (decision?.store !== true || body === undefined) {
    // A refresh that may not be stored leaves no stale copy behind to be served again.
    if (refreshing) await lease.store(null, { ttl: 0 });
    // A response that may not be stored (private, a cookie, a hole inside) was for this request
    // alone: the requests that joined render their own, side by side.
    lease.abandon(undefined, { alone: true });
    return;
  }
  const headers = storedHeaders(fromOutgoing(res.getHeaders()), before);
  if (method === 'GET' && headers.etag === undefined) headers.etag = strongEtag(body);
  if (method === 'HEAD' && headers['content-length'] === undefined && body.length > 0) headers['content-length'] = String(body.length);
  const vary = [...decision.vary].sort();
  const indexKey = known?.indexKey ?? pageKey({ keyPrefix: opts.keyPrefix, method, address });
  // The header list as it is now: another variant may have been learned while this one rendered.
  // An invalidation since the lease was taken voids both writes below, so an older generation is
  // never written back.
  let index = known?.index;
  if (index === undefined || index.vary.join(',') !== vary.join(',')) index = parseIndex(await cache.get(indexKey, undefined, opts.version));
  const gen = index !== undefined && index.vary.join(',') === vary.join(',') ? index.gen : newGeneration();
  const key = pageKey({ keyPrefix: opts.keyPrefix, method, address, variant: { gen, fields: variantFields(vary, opts.keyFields), headers: req.headers } });
  const entry: PageEntry = { status: res.statusCode, headers, ...encodeBody(method === 'HEAD' ? Buffer.alloc(0) : body), at: cache.clock.now(), age: decision.age, key, vary, gen };
  // RFC 9111 §5.2.2: must-revalidate, proxy-revalidate and s-maxage pages are never served stale.
  const staleTtl = decision.mayServeStale ? opts.staleTtl : 0;
  const hardTtl = decision.ttl === null ? null : decision.ttl + staleTtl;
  // The header list lives as long as the page and its stale window, and is rewritten with every page.
  const list = { value: formatIndex({ vary, gen }), key: cache.makeKey(indexKey, opts.version), ttl: hardTtl };
  // Tagged with everything its contents depend on, so invalidating any of it drops the page.
  const bubbled = contents.tokens.size === 0 ? {} : { tags: contents.tags, tokens: contents.tokens };
  const page = { value: formatPage(entry), key: cache.makeKey(key, opts.version), ttl: decision.ttl, staleTtl, ...bubbled };
  // The value at the lease's own key is written last. Another process waiting on the distributed
  // lock polls that key, and must find the page stored by the time it sees anything there: on a
  // URL's first render the lease is on the header list's key, so the page goes first and the list
  // commits the lease (requests that joined it here then look the page up through the list).
  const [first, last] = lease.key === list.key ? [page, list] : [list, page];
  await lease.store(first.value, first);
  await lease.commit(last.value, last);
}

/** The bubble this response's renders report to (made, and put in `res.locals`, on first use). */
function bubbleOf(res: ServerResponse): Bubble {
  const holder = res as ServerResponse & { locals?: Record<string, unknown> };
  holder.locals ??= {};
  const existing = holder.locals[CACHEABILITY];
  if (existing instanceof Bubble) return existing;
  const bubble = new Bubble();
  holder.locals[CACHEABILITY] = bubble;
  return bubble;
}

/**
 * Before the headers go out: Cache-Control no longer than the contents' shortest lifetime, and
 * `private` with something personal inside; the proxy's tag header with the bubbled tags.
 */
function announceContents(ctx: PageContext, contents: Bubble): void {
  const { res, opts, cache } = ctx;
  if (contents.empty) return;
  const seconds = secondsLeft(contents, cache.clock.now());
  if (seconds !== undefined || contents.personal) {
    res.setHeader('Cache-Control', boundCacheControl(single(res.getHeader('cache-control')), { seconds, personal: contents.personal }));
  }
  if (opts.edge !== undefined && contents.tokens.size > 0) {
    const value = edgeHeaderValue([...ctx.tags, ...contents.tags], opts.edge);
    if (value !== undefined) res.setHeader(opts.edge.header, value);
  }
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
