/**
 * May this response be stored, and for how long? A pure decision over header records, made with
 * `http-cache-semantics` (RFC 9111 as a shared cache sees it) plus the stricter rules a cache
 * that serves many users' pages needs. Nothing here touches a request, a response or a store.
 */
import CachePolicy from 'http-cache-semantics';
import type { Cacheability } from '../core/cacheability.js';
import type { Clock, EpochMs } from '../contracts/clock.js';
import type { TtlSeconds } from '../core/ttl.js';
import type { PageEntry } from './entry.js';
import { fieldNames, single, type HeaderRecord, type RequestHeaders } from './headers.js';
import type { PageAddress } from './keys.js';

/** Why a response was not stored (or a request not looked up). Stable strings, for logs and `onSkip`. */
export type PageSkipReason =
  | 'method'
  | 'status'
  | 'set-cookie'
  | 'vary-star'
  | 'no-store'
  | 'private'
  | 'no-cache'
  | 'max-age=0'
  | 'authorization'
  | 'cookie'
  | 'request-no-store'
  | 'not-storable'
  | 'ttl'
  | 'trailers'
  | 'too-large'
  | 'encoded-after-capture'
  | 'personal'
  | 'contents-expired'
  | 'incomplete'
  | 'host'
  | 'url';

export interface StoreRules {
  /** Statuses that may be stored (default `[200]`). */
  statuses: ReadonlySet<number>;
  /** Seconds, used when the response names no lifetime of its own; `null` = until invalidated. */
  defaultTtl: TtlSeconds;
  clock: Clock;
}

export interface ExchangeHeaders {
  method: string;
  requestHeaders: RequestHeaders;
  status: number;
  responseHeaders: HeaderRecord;
}

export type StoreDecision =
  | {
      store: true;
      /** Seconds the page stays fresh; `null` = until invalidated. */
      ttl: number | null;
      /** Whether the lifetime came from the response's own headers (then they are not patched). */
      explicit: boolean;
      /** Request fields the response varies on (its `Vary`), lower-case. */
      vary: string[];
      /** The response's own `Age`, seconds (kept and added to on replay, RFC 9111 §5.1). */
      age: number;
      /**
       * Whether it may be served stale: not when it said must-revalidate, proxy-revalidate or
       * s-maxage (RFC 9111 §5.2.2.2, §5.2.2.8, §5.2.2.10: a shared cache must not serve it stale).
       */
      mayServeStale: boolean;
    }
  | { store: false; reason: PageSkipReason };

/** GET and HEAD only: RFC 9111 §3 allows more, but only these are safe to replay by URL. */
export function cacheableMethod(method: string | undefined): method is 'GET' | 'HEAD' {
  return method === 'GET' || method === 'HEAD';
}

/** A request as the page cache decides on it. */
export interface PageRequest {
  method: string | undefined;
  /** The keyed address, or why the request has none. */
  address: PageAddress | PageSkipReason;
  /** Whether the request carries `Authorization`. */
  authorization: boolean;
}

/** What was found for the request: a stored page, fresh or inside its stale window. */
export interface PageFound {
  status: 'hit' | 'stale';
  entry: PageEntry;
}

/**
 * What to do with a request — Django's `FetchFromCacheMiddleware.process_request` over
 * `utils/cache.py`, as one pure function: `pass` it to the app untouched, serve a `hit`, serve a
 * `stale` page while it is refreshed, or treat it as a `miss` (render under a lease, and store).
 * Call it with `found` undefined first (is the request cacheable at all?), then with the lookup.
 */
export type PageAction = { kind: 'pass'; reason: PageSkipReason } | { kind: 'hit'; entry: PageEntry } | { kind: 'stale'; entry: PageEntry } | { kind: 'miss' };

export function decidePage(request: PageRequest, found: PageFound | undefined): PageAction {
  if (!cacheableMethod(request.method)) return { kind: 'pass', reason: 'method' };
  if (typeof request.address === 'string') return { kind: 'pass', reason: request.address };
  if (found === undefined) return { kind: 'miss' };
  // RFC 9111 §3.5 (and Varnish's builtin VCL): a request with Authorization is answered from the
  // store only by a response that explicitly said `public`; otherwise it goes to the app.
  if (request.authorization && !/(?:^|,)\s*public\s*(?:,|$)/.test(normalizeCacheControl(single(found.entry.headers['cache-control']) ?? ''))) {
    return { kind: 'pass', reason: 'authorization' };
  }
  return found.status === 'hit' ? { kind: 'hit', entry: found.entry } : { kind: 'stale', entry: found.entry };
}

export function decideStorable(exchange: ExchangeHeaders, rules: StoreRules): StoreDecision {
  const { method, requestHeaders, status, responseHeaders } = exchange;
  if (!cacheableMethod(method)) return { store: false, reason: 'method' };
  // RFC 9111 §3: the status must be understood; we store only the ones configured (200 by default).
  if (!rules.statuses.has(status)) return { store: false, reason: 'status' };
  // RFC 9111 §7.3: a Set-Cookie response belongs to one client. Never stored, even if `public`.
  if (responseHeaders['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' };
  const vary = fieldNames(responseHeaders.vary);
  // RFC 9111 §4.1: "Vary: *" never matches a later request, so storing it is pointless.
  if (vary.includes('*')) return { store: false, reason: 'vary-star' };

  const policy = newPolicy(rules.clock, { method, headers: flattenRequest(requestHeaders) }, { status, headers: flatten(responseHeaders) });
  const { rescc: cc, reqcc } = policy.toObject();
  if (!policy.storable()) {
    if (cc['no-store'] !== undefined) return { store: false, reason: 'no-store' }; // RFC 9111 §5.2.2.5
    if (cc.private !== undefined) return { store: false, reason: 'private' }; // RFC 9111 §5.2.2.7 (shared cache)
    if (reqcc['no-store'] !== undefined) return { store: false, reason: 'request-no-store' }; // RFC 9111 §5.2.1.5
    if (requestHeaders.authorization !== undefined) return { store: false, reason: 'authorization' }; // RFC 9111 §3.5
    return { store: false, reason: 'not-storable' };
  }
  // RFC 9111 §5.2.2.4: no-cache responses may not be reused without revalidation, which this
  // cache never does (the app has no validators to answer it with).
  if (cc['no-cache'] !== undefined) return { store: false, reason: 'no-cache' };
  const isPublic = cc.public !== undefined;
  // RFC 9111 §3.5 lets must-revalidate or s-maxage authorise storing too; we want the app to say
  // `public` explicitly before an authenticated page is shared.
  if (requestHeaders.authorization !== undefined && !isPublic) return { store: false, reason: 'authorization' };
  // Not in the RFC (Varnish's default): a page built for a request with cookies is shared only if
  // it says it depends on them (Vary: Cookie) or that it does not (public).
  if (requestHeaders.cookie !== undefined && !vary.includes('cookie') && !isPublic) return { store: false, reason: 'cookie' };

  // RFC 9111 §4.2.1: s-maxage (shared caches), then max-age, then Expires. Django lets the
  // response's own lifetime win over the configured one; so do we.
  const explicit = cc['s-maxage'] !== undefined || cc['max-age'] !== undefined || responseHeaders.expires !== undefined;
  const ageValue = Number(single(responseHeaders.age));
  const age = Number.isFinite(ageValue) && ageValue > 0 ? Math.floor(ageValue) : 0;
  const mayServeStale = cc['must-revalidate'] === undefined && cc['proxy-revalidate'] === undefined && cc['s-maxage'] === undefined;
  if (explicit) {
    const ttl = policy.maxAge() - policy.age();
    if (!(ttl > 0)) return { store: false, reason: 'max-age=0' };
    return { store: true, ttl, explicit, vary, age, mayServeStale };
  }
  if (rules.defaultTtl !== null && !(rules.defaultTtl > 0)) return { store: false, reason: 'ttl' };
  return { store: true, ttl: rules.defaultTtl, explicit, vary, age, mayServeStale };
}

/** Response headers as http-cache-semantics reads them: one string per field except `set-cookie`. */
function flatten(headers: HeaderRecord): Record<string, string | string[]> {
  const flat: Record<string, string | string[]> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name] as string | string[];
    flat[name] = name === 'set-cookie' ? value : (single(value) as string);
  }
  if (typeof flat['cache-control'] === 'string') flat['cache-control'] = normalizeCacheControl(flat['cache-control']);
  return flat;
}

function flattenRequest(headers: RequestHeaders): RequestHeaders {
  const cc = single(headers['cache-control']);
  return cc === undefined ? headers : { ...headers, 'cache-control': normalizeCacheControl(cc) };
}

/**
 * Directive names lower-cased (RFC 9111 §5.2: they are case-insensitive), which http-cache-semantics
 * 4.x does not do: `Private`, `No-Store` and `Max-Age=0` must mean what they say. Quoted arguments
 * are kept as they are.
 */
export function normalizeCacheControl(value: string): string {
  const directives: string[] = [];
  // a directive, then an optional =token or ="quoted string"
  const re = /\s*([^=,\s]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,]*))?\s*(?:,|$)/g;
  for (const match of value.matchAll(re)) {
    const name = (match[1] as string).toLowerCase();
    directives.push(match[2] === undefined ? name : `${name}=${match[2].trim()}`);
  }
  return directives.join(', ');
}

type PolicyClass = new (req: CachePolicy.Request, res: CachePolicy.Response, options?: CachePolicy.Options) => CachePolicy;
const classes = new WeakMap<Clock, PolicyClass>();

/** A CachePolicy that reads the cache's clock (the library documents overriding `now()` for this). */
function newPolicy(clock: Clock, req: CachePolicy.Request, res: CachePolicy.Response): CachePolicy {
  let Policy = classes.get(clock);
  if (Policy === undefined) {
    Policy = class extends CachePolicy {
      now(): EpochMs {
        return clock.now();
      }
    };
    classes.set(clock, Policy);
  }
  // A shared cache: `private` is not storable and `s-maxage` applies (RFC 9111 §1).
  return new Policy(req, res, { shared: true });
}

/**
 * Bound a store decision by what the page's contents depend on (what bubbled up from its
 * fragments, views and loaders): a page with something personal inside (a `nocache` hole) is never
 * stored; otherwise it stays fresh no longer than the first piece inside it.
 */
export function boundByContents(decision: StoreDecision, contents: Cacheability, now: EpochMs): StoreDecision {
  if (!decision.store) return decision;
  if (contents.personal === true) return { store: false, reason: 'personal' };
  if (contents.freshUntil === null) return decision;
  const left = (contents.freshUntil - now) / 1000;
  if (!(left >= 1)) return { store: false, reason: 'contents-expired' };
  return decision.ttl !== null && decision.ttl <= left ? decision : { ...decision, ttl: Math.floor(left) };
}
