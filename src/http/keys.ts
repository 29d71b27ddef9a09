/**
 * Page keys: one pure module, so the middleware and `invalidatePage` compute the same key.
 *
 * Like Django's cache middleware, a page is found in two steps ("learn the Vary"). The first key
 * names the URL and holds the list of request fields the response varied on, plus a generation:
 *
 *     page-vary:shop:GET:https://example.com/list?a=1&b=2
 *     │         │    │   └ scheme, normalised host, raw path, query with parameters sorted
 *     │         │    └ method (HEAD has its own entries, and may read GET's)
 *     │         └ the middleware's keyPrefix (Django's CACHE_MIDDLEWARE_KEY_PREFIX), URI-encoded
 *     └ kind
 *
 * The second names one variant of the page:
 *
 *     page:shop:GET:Zk3q9w:4be1c0…:https://example.com/list?a=1&b=2
 *                   │      └ hash of the request's values of the Vary fields (and key headers)
 *                   └ generation from the header-list entry: deleting that entry orphans every
 *                     variant at once, so invalidating a URL never needs to know the variants
 *
 * Both then go through the cache's `makeKey` (its prefix and version; long keys are hashed).
 */
import { encodeVaryOn, sha256 } from '../core/keys.js';
import { single, type RequestHeaders } from './headers.js';
import type { PageSkipReason } from './policy.js';

export type Scheme = 'http' | 'https';

/** Where a page lives: what, with the method and the varied fields, identifies it. */
export interface PageAddress {
  scheme: Scheme;
  /** Lower-case, no trailing dot, port only when not the scheme's default. */
  host: string;
  /** The raw path of the request target, starting with `/`. */
  path: string;
  /** `""`, or `?` and the parameters sorted by name (values and repeated names keep their order). */
  query: string;
}

export interface PageKeyInput {
  /** The middleware's key prefix. */
  keyPrefix: string;
  method: 'GET' | 'HEAD';
  address: PageAddress;
  /** Absent: the header-list key. Present: the key of the variant these request headers select. */
  variant?: {
    gen: string;
    /** Lower-case request field names whose values select the variant. */
    fields: readonly string[];
    headers: RequestHeaders;
  };
}

/** The one key builder: the header-list key of a URL, or the key of one of its variants. */
export function pageKey(input: PageKeyInput): string {
  const { keyPrefix, method, address, variant } = input;
  const url = `${address.scheme}://${address.host}${address.path}${address.query}`;
  const prefix = encodeURIComponent(keyPrefix);
  if (variant === undefined) return `page-vary:${prefix}:${method}:${url}`;
  return `page:${prefix}:${method}:${variant.gen}:${varyHash(variant.fields, variant.headers)}:${url}`;
}

/**
 * The tag every entry of a URL carries (its header list and each variant): `invalidatePage`
 * invalidates it, so a render already under way — in this process or another — commits under the
 * old token and reads as a miss, and can never bring back a header list older than the invalidation.
 */
export function urlTag(indexKey: string): string {
  return `page-url:${indexKey}`;
}

/** Hash of the values of `fields` in `headers`; an absent field differs from an empty one. */
export function varyHash(fields: readonly string[], headers: RequestHeaders): string {
  // Within one generation the field list is fixed, so "none of them sent" needs no hash.
  if (fields.every((field) => headers[field.toLowerCase()] === undefined)) return '-';
  const names = [...new Set(fields.map((field) => field.toLowerCase()))].sort();
  return sha256(encodeVaryOn(names.map((name) => [name, headers[name] ?? null]))).slice(0, 32);
}

/**
 * Sort the parameters of a query string by decoded name, so `a=1&b=2` and `b=2&a=1` share an
 * entry; a repeated name keeps the order of its values (the sort is stable). The parameters are
 * kept as written: two queries share a key only if they hold the same raw parameters.
 */
export function normalizeQuery(search: string): string {
  const raw = search.startsWith('?') ? search.slice(1) : search;
  if (raw === '') return '';
  // One parameter: nothing to sort.
  if (!raw.includes('&')) return `?${raw}`;
  const all = raw.split('&');
  if (inOrder(all)) return `?${raw}`;
  const params = all.filter((param) => param !== '');
  if (params.length === 0) return '';
  const named = params.map((param) => ({ param, name: nameOf(param) }));
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)); // stable: repeated names keep their order
  return `?${named.map((entry) => entry.param).join('&')}`;
}

/**
 * A parameter's name, decoded (`%61` is `a`, `+` a space), so the sort follows what the app reads:
 * `a=1&%61=2` and `%61=2&a=1` hold one repeated name in two different orders, and must not share an
 * entry. Names that do not decode are compared as written.
 */
function nameOf(param: string): string {
  const eq = param.indexOf('=');
  const raw = eq < 0 ? param : param.slice(0, eq);
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return raw;
  }
}

/** Already sorted by name, without empty members: the common case, kept without copying. */
function inOrder(params: readonly string[]): boolean {
  let previous = '';
  for (const param of params) {
    if (param === '') return false;
    const name = nameOf(param);
    if (name < previous) return false;
    previous = name;
  }
  return true;
}

// Django's host_validation_re: a DNS name or a bracketed IPv6 address, and an optional port.
const HOST = /^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]{1,5}))?$/;

/** The host as keyed, or `undefined` when the value is not a valid host (RFC 9110 §7.2). */
export function normalizeHost(raw: string | undefined, scheme: Scheme): string | undefined {
  if (raw === undefined) return undefined;
  const match = HOST.exec(raw.trim().toLowerCase());
  if (match === null) return undefined;
  let name = match[1] as string;
  if (name.endsWith('.')) name = name.slice(0, -1); // "example.com." is "example.com"
  if (name === '' || name.startsWith('.')) return undefined;
  if (match[2] === undefined) return name;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  return port === (scheme === 'https' ? 443 : 80) ? name : `${name}:${port}`;
}

/** The host without its port. */
export function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/**
 * Django's ALLOWED_HOSTS matching: `"example.com"` exactly, `".example.com"` that domain and its
 * subdomains, `"*"` anything. Ports are ignored.
 */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const name = hostnameOf(host);
  return allowed.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p === '*') return true;
    if (p.startsWith('.')) return name === p.slice(1) || name.endsWith(p);
    return name === p;
  });
}

export interface AddressRules {
  /** Take scheme and host from X-Forwarded-Proto / X-Forwarded-Host (first value), as Express does with `trust proxy`. */
  trustProxy: boolean;
  allowedHosts: readonly string[] | undefined;
}

export interface RequestLine {
  /** `req.originalUrl ?? req.url`. */
  target: string;
  headers: RequestHeaders;
  /** Whether the connection is TLS. */
  encrypted: boolean;
}

/** The address of a request, or why it cannot be cached. */
export function requestAddress(request: RequestLine, rules: AddressRules): PageAddress | PageSkipReason {
  // RFC 9112 §3.2.1: only origin-form targets ("/path?query"); absolute-form and "*" are not keyed.
  if (!request.target.startsWith('/')) return 'url';
  let scheme: Scheme = request.encrypted ? 'https' : 'http';
  let rawHost = single(request.headers.host);
  if (rules.trustProxy) {
    // A forwarded value that is not well-formed would reach the app but not the key (a page built
    // with `javascript:` links, or for host "x", stored for everyone): such requests bypass the cache.
    const proto = forwardedValue(request.headers['x-forwarded-proto'], (value) => value.toLowerCase() === 'http' || value.toLowerCase() === 'https');
    if (proto === null) return 'host';
    if (proto !== undefined) scheme = proto.toLowerCase() as Scheme;
    const forwardedHost = forwardedValue(request.headers['x-forwarded-host'], (value) => normalizeHost(value, 'http') !== undefined);
    if (forwardedHost === null) return 'host';
    rawHost = forwardedHost ?? rawHost;
  }
  const host = normalizeHost(rawHost, scheme);
  if (host === undefined) return 'host';
  if (rules.allowedHosts !== undefined && !hostAllowed(host, rules.allowedHosts)) return 'host';
  const q = request.target.indexOf('?');
  return {
    scheme,
    host,
    path: q < 0 ? request.target : request.target.slice(0, q),
    query: q < 0 ? '' : normalizeQuery(request.target.slice(q + 1)),
  };
}

/**
 * Request fields always part of a page's key, whatever its Vary says: the forwarding headers the
 * address does not already use. An app that trusts them would otherwise build a page from a host
 * or scheme the key does not name — the classic cache-poisoning vector (RFC 9111 §7.1).
 */
export function implicitKeyFields(trustProxy: boolean): string[] {
  return trustProxy ? ['forwarded'] : ['forwarded', 'x-forwarded-host', 'x-forwarded-proto'];
}

/** The request fields that select a variant: the learned Vary fields and the key fields, once each. */
export function variantFields(vary: readonly string[], keyFields: readonly string[]): string[] {
  return [...new Set([...vary, ...keyFields].map((name) => name.toLowerCase()))].sort();
}

/** The first member of a forwarded field; `null` when any member is empty or not `valid`. */
function forwardedValue(value: string | string[] | undefined, valid: (member: string) => boolean): string | undefined | null {
  const text = single(value);
  if (text === undefined) return undefined;
  const members = text.split(',').map((member) => member.trim());
  if (members.some((member) => member === '' || !valid(member))) return null;
  return members[0];
}
