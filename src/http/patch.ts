/**
 * Django's response-patching helpers (django.utils.cache), as pure functions over field values:
 * `patch_cache_control`, `patch_vary_headers`, `add_never_cache_headers` and the header part of
 * `patch_response_headers`.
 */
import { PageCacheError } from '../contracts/errors.js';

interface CommonDirectives {
  noCache?: boolean;
  noStore?: boolean;
  noTransform?: boolean;
  mustRevalidate?: boolean;
  proxyRevalidate?: boolean;
  mustUnderstand?: boolean;
  immutable?: boolean;
  /** Seconds. */
  maxAge?: number;
  /** Seconds, for shared caches (this one included). */
  sMaxage?: number;
  /** Seconds (RFC 5861). */
  staleWhileRevalidate?: number;
  /** Seconds (RFC 5861). */
  staleIfError?: number;
}

/** Cache-Control response directives (RFC 9111 §5.2.2); `public` and `private` exclude each other. */
export type CacheControlDirectives = CommonDirectives & ({ public?: boolean; private?: never } | { private?: boolean; public?: never });

const NAMES: Record<string, string> = {
  public: 'public',
  private: 'private',
  noCache: 'no-cache',
  noStore: 'no-store',
  noTransform: 'no-transform',
  mustRevalidate: 'must-revalidate',
  proxyRevalidate: 'proxy-revalidate',
  mustUnderstand: 'must-understand',
  immutable: 'immutable',
  maxAge: 'max-age',
  sMaxage: 's-maxage',
  staleWhileRevalidate: 'stale-while-revalidate',
  staleIfError: 'stale-if-error',
};

/** Directive name → argument (`true` when it has none), in order. RFC 9111 §5.2, quoted strings kept whole. */
export function parseCacheControl(value: string | undefined): Map<string, string | true> {
  const directives = new Map<string, string | true>();
  if (value === undefined) return directives;
  // One member: a name, optionally "=" and a token or quoted string; members separated by commas.
  const member = /\s*([^=,\s]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,]*))?\s*/y;
  let at = 0;
  while (at < value.length) {
    if (value[at] === ',' || value[at] === ' ' || value[at] === '\t') {
      at += 1;
      continue;
    }
    member.lastIndex = at;
    const match = member.exec(value);
    if (match === null) break;
    directives.set((match[1] as string).toLowerCase(), match[2] === undefined ? true : match[2].trim());
    at = member.lastIndex;
    if (at < value.length && value[at] !== ',') break; // malformed: stop rather than guess
  }
  return directives;
}

export function formatCacheControl(directives: ReadonlyMap<string, string | true>): string {
  return [...directives].map(([name, arg]) => (arg === true ? name : `${name}=${arg}`)).join(', ');
}

/** Check directives given in code, early (programmer errors fail at setup). */
export function checkDirectives(directives: CacheControlDirectives): void {
  for (const [key, value] of Object.entries(directives)) {
    const name = NAMES[key];
    if (name === undefined) throw new PageCacheError('ERR_PAGE_OPTIONS', `cacheControl(): unknown directive "${key}". Known: ${Object.keys(NAMES).join(', ')}.`);
    if (value === undefined) continue;
    const numeric = key === 'maxAge' || key === 'sMaxage' || key === 'staleWhileRevalidate' || key === 'staleIfError';
    if (numeric ? !(Number.isInteger(value) && (value as number) >= 0) : typeof value !== 'boolean') {
      throw new PageCacheError('ERR_PAGE_OPTIONS', `cacheControl(): "${key}" must be ${numeric ? 'a whole number of seconds, 0 or more' : 'true or false'}; got ${JSON.stringify(value)}.`);
    }
  }
  if (directives.public === true && (directives as { private?: boolean }).private === true) {
    throw new PageCacheError('ERR_PAGE_OPTIONS', 'cacheControl(): "public" and "private" exclude each other; pick one.');
  }
}

/**
 * Merge `directives` into a Cache-Control value, as Django's `patch_cache_control`: `true` adds,
 * `false` removes, `private` drops `public` and the other way round, and when both sides give a
 * max-age the smaller wins (a decorator and a middleware agreeing on the stricter one).
 */
export function mergeCacheControl(current: string | undefined, directives: CacheControlDirectives): string {
  const cc = parseCacheControl(current);
  if (directives.private === true) cc.delete('public');
  if (directives.public === true) cc.delete('private');
  for (const [key, value] of Object.entries(directives)) {
    const name = NAMES[key];
    if (name === undefined || value === undefined) continue;
    if (value === false) cc.delete(name);
    else if (value === true) cc.set(name, true);
    else {
      const existing = cc.get(name);
      const n = Number(existing);
      cc.set(name, String(name === 'max-age' && existing !== undefined && existing !== true && Number.isFinite(n) ? Math.min(n, value as number) : value));
    }
  }
  return formatCacheControl(cc);
}

/** Django's `patch_vary_headers`: add field names not yet listed; `*` alone when present. */
export function mergeVary(current: string | string[] | undefined, add: readonly string[]): string {
  const existing = typeof current === 'string' || Array.isArray(current) ? (Array.isArray(current) ? current.join(', ') : current).split(',').map((v) => v.trim()).filter((v) => v !== '') : [];
  const seen = new Set(existing.map((name) => name.toLowerCase()));
  const merged = [...existing];
  for (const name of add) {
    if (!seen.has(name.toLowerCase())) {
      seen.add(name.toLowerCase());
      merged.push(name);
    }
  }
  return merged.includes('*') ? '*' : merged.join(', ');
}

/** Django's `add_never_cache_headers`: the directives that stop every cache, this one included. */
export const NEVER_CACHE: CacheControlDirectives = { maxAge: 0, noCache: true, noStore: true, mustRevalidate: true, private: true };

/** Whether a Cache-Control value already sets a lifetime (then `patch_response_headers` leaves it). */
export function hasLifetime(cacheControl: string | undefined): boolean {
  const cc = parseCacheControl(cacheControl);
  return cc.has('max-age') || cc.has('s-maxage');
}

/**
 * Cache-Control for a response whose contents depend on pieces with their own lifetimes (bubbled
 * up, see core/cacheability.ts): `max-age` and `s-maxage` no longer than `seconds` (max-age added
 * when absent, so an `Expires` further away does not count), and `private` when something inside
 * was rendered for this request alone.
 */
export function boundCacheControl(current: string | undefined, bound: { seconds?: number | undefined; personal?: boolean | undefined }): string {
  const cc = parseCacheControl(current);
  if (bound.personal === true) {
    cc.delete('public');
    cc.delete('s-maxage');
    cc.set('private', true);
  }
  if (bound.seconds !== undefined) {
    const limit = Math.max(0, Math.floor(bound.seconds));
    for (const name of ['max-age', 's-maxage']) {
      const existing = cc.get(name);
      const n = existing === undefined || existing === true ? Number.NaN : Number(existing.replace(/^"|"$/g, ''));
      if (name === 's-maxage' && existing === undefined) continue;
      if (!(Number.isFinite(n) && n <= limit)) cc.set(name, String(limit));
    }
  }
  return formatCacheControl(cc);
}
