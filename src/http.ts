/**
 * `nunjucks-fragment-cache/http`: whole-page caching for Node's HTTP server and Express (Django's
 * `cache_page` and cache middleware), response-patching decorators, and the edge (tag headers for
 * a reverse proxy or CDN, and purgers).
 */
export { cachePage, cacheMiddleware } from './http/middleware.js';
export { invalidatePage } from './http/invalidate.js';
export { neverCache, cacheControl, varyOnHeaders, varyOnCookie, patchCacheControl, patchVaryHeaders, addNeverCacheHeaders } from './http/decorators.js';
export { formatEdgeHeader, setEdgeHeader } from './http/edge.js';
export { onHeaders } from './http/capture.js';
export { createVarnishPurger, createFastlyPurger, createCloudflarePurger } from './http/purgers.js';

export type { PageCacheOptions } from './http/options.js';
export type { PageMiddleware } from './http/middleware.js';
export type * as HttpTypes from './types/http.js';
