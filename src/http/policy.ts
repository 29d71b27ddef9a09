/**
 * May this response be stored, and for how long? A pure decision over header records, made with
 * `http-cache-semantics` (RFC 9111 as a shared cache sees it) plus the stricter rules a cache
 * that serves many users' pages needs. Nothing here touches a request, a response or a store.
 */
import CachePolicy from 'http-cache-semantics';
import type { Clock, EpochMs } from '../core/clock.js';
import type { TtlSeconds } from '../core/ttl.js';
import { fieldNames, single, type HeaderRecord, type RequestHeaders } from './headers.js';

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
    }
  | { store: false; reason: PageSkipReason };

/** GET and HEAD only: RFC 9111 §3 allows more, but only these are safe to replay by URL. */
export function cacheableMethod(method: string | undefined): method is 'GET' | 'HEAD' {
  return method === 'GET' || method === 'HEAD';
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

  const policy = newPolicy(rules.clock, { method, headers: requestHeaders }, { status, headers: flatten(responseHeaders) });
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
  if (explicit) {
    const ttl = policy.maxAge() - policy.age();
    if (!(ttl > 0)) return { store: false, reason: 'max-age=0' };
    return { store: true, ttl, explicit, vary };
  }
  if (rules.defaultTtl !== null && !(rules.defaultTtl > 0)) return { store: false, reason: 'ttl' };
  return { store: true, ttl: rules.defaultTtl, explicit, vary };
}

/** Response headers as http-cache-semantics reads them: one string per field except `set-cookie`. */
function flatten(headers: HeaderRecord): Record<string, string | string[]> {
  const flat: Record<string, string | string[]> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name] as string | string[];
    flat[name] = name === 'set-cookie' ? value : (single(value) as string);
  }
  return flat;
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
