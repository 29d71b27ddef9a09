/**
 * Django's view decorators for caching, as small middleware (and the response helpers under
 * them). Each changes headers just before they go out, so it sees what the handler set, and the
 * page cache decides on the final headers whichever order they are mounted in.
 *
 *     @never_cache              → neverCache
 *     @cache_control(...)       → cacheControl({...})
 *     @vary_on_headers(...)     → varyOnHeaders(...)
 *     @vary_on_cookie           → varyOnCookie
 */
import type { ServerResponse } from 'node:http';
import { onHeaders } from './capture.js';
import { PageCacheError } from '../contracts/errors.js';
import type { PageMiddleware } from './middleware.js';
import { checkDirectives, mergeCacheControl, mergeVary, NEVER_CACHE, type CacheControlDirectives } from './patch.js';

/** Django's `patch_cache_control(response, **kwargs)`. */
export function patchCacheControl(res: ServerResponse, directives: CacheControlDirectives): void {
  const current = res.getHeader('cache-control');
  res.setHeader('Cache-Control', mergeCacheControl(current === undefined ? undefined : String(current), directives));
}

/** Django's `patch_vary_headers(response, newheaders)`. */
export function patchVaryHeaders(res: ServerResponse, names: readonly string[]): void {
  const current = res.getHeader('vary');
  res.setHeader('Vary', mergeVary(typeof current === 'number' ? String(current) : current, names));
}

/** Django's `add_never_cache_headers(response)`: `Expires` now, and every directive that stops caching. */
export function addNeverCacheHeaders(res: ServerResponse): void {
  res.setHeader('Expires', new Date().toUTCString());
  patchCacheControl(res, NEVER_CACHE);
}

/** `@never_cache`: no cache (this one, a CDN's, the browser's) keeps the response. */
export const neverCache: PageMiddleware = (_req, res, next) => {
  onHeaders(res, () => addNeverCacheHeaders(res));
  next();
};

/** `@cache_control(...)`: merge directives into the response's Cache-Control. */
export function cacheControl(directives: CacheControlDirectives): PageMiddleware {
  checkDirectives(directives);
  return (_req, res, next) => {
    onHeaders(res, () => patchCacheControl(res, directives));
    next();
  };
}

const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;

/** `@vary_on_headers(...)`: the response depends on these request fields; caches key on their values. */
export function varyOnHeaders(...names: string[]): PageMiddleware {
  if (names.length === 0 || names.some((name) => typeof name !== 'string' || !FIELD_NAME.test(name))) {
    throw new PageCacheError('ERR_PAGE_OPTIONS', `varyOnHeaders(): give one or more request header names, such as varyOnHeaders('Accept-Language'); got ${JSON.stringify(names)}.`);
  }
  return (_req, res, next) => {
    onHeaders(res, () => patchVaryHeaders(res, names));
    next();
  };
}

/** `@vary_on_cookie`: the response depends on the request's cookies (a logged-in user's page). */
export const varyOnCookie: PageMiddleware = varyOnHeaders('Cookie');
