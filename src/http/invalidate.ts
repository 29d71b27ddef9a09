import type { Cache } from '../core/cache.js';
import { parseIndex } from './entry.js';
import { PageCacheError } from '../contracts/errors.js';
import type { RequestHeaders } from './headers.js';
import { implicitKeyFields, normalizeHost, normalizeQuery, pageKey, urlTag, variantFields, type PageAddress, type Scheme } from './keys.js';

export interface InvalidatePageOptions {
  /** Only this method's entry. Default: GET and HEAD. */
  method?: 'GET' | 'HEAD';
  /** The host, when `url` is a path. */
  host?: string;
  /**
   * Remove only the variant these request headers select (e.g. `{ cookie: 'session=abc' }` on a
   * `Vary: Cookie` page). Default: every variant of the URL.
   */
  headers?: RequestHeaders;
  /** As given to the middleware. */
  keyPrefix?: string;
  /** As given to the middleware. */
  version?: number;
  /** As given to the middleware (matters only with `headers`). */
  trustProxy?: boolean;
  /** As given to the middleware (matters only with `headers`). */
  keyHeaders?: readonly string[];
}

const ABSOLUTE = /^(https?):\/\/([^/?#]+)([^?#]*)(\?[^#]*)?(?:#.*)?$/i;

/**
 * Remove the cached page(s) for a URL — `"https://example.com/posts?page=2"`, or a path with
 * `{ host }` (then both http and https). Without `headers`, the URL's tag is invalidated, which
 * makes its header list and every variant miss at once (they age out of the store) — including
 * those a render already under way, here or in another process, is about to store. Resolves to whether
 * anything was there. To clear a whole site, change the middleware's `keyPrefix` or `version`.
 */
export async function invalidatePage(cache: Cache, url: string, options: InvalidatePageOptions = {}): Promise<boolean> {
  const addresses = parseUrl(url, options.host);
  const methods = options.method === undefined ? (['GET', 'HEAD'] as const) : [options.method];
  const keyPrefix = options.keyPrefix ?? '';
  const keyFields = [...implicitKeyFields(options.trustProxy ?? false), ...(options.keyHeaders ?? []).map((name) => name.toLowerCase())];
  let removed = false;
  const urls: string[] = [];
  for (const address of addresses) {
    for (const method of methods) {
      const indexKey = pageKey({ keyPrefix, method, address });
      if (options.headers === undefined) {
        urls.push(indexKey);
        continue;
      }
      const index = parseIndex(await cache.get(indexKey, undefined, options.version));
      if (index === undefined) continue;
      const key = pageKey({ keyPrefix, method, address, variant: { gen: index.gen, fields: variantFields(index.vary, keyFields), headers: options.headers } });
      // An invalidation must not fail silently: a store error throws (cache.delete never fails open).
      removed = (await cache.delete(key, options.version)) || removed;
    }
  }
  if (urls.length === 0) return removed;
  // Whether anything was there, read before the invalidation.
  for (const indexKey of urls) removed = (await cache.get(indexKey, undefined, options.version)) !== undefined || removed;
  // The URL's tag, not a delete: a render under way anywhere commits under the old token and
  // reads as a miss, so no older header list or page can come back (invalidateTags never fails open).
  await cache.invalidateTags(urls.map(urlTag));
  return removed;
}

function parseUrl(url: string, host: string | undefined): PageAddress[] {
  const fail = (why: string): never => {
    throw new PageCacheError('ERR_PAGE_URL', `invalidatePage(${JSON.stringify(url)}): ${why}`);
  };
  let schemes: Scheme[] = ['http', 'https'];
  let rawHost = host;
  let path: string;
  let query: string;
  const absolute = ABSOLUTE.exec(url);
  if (absolute !== null) {
    schemes = [(absolute[1] as string).toLowerCase() as Scheme];
    rawHost = absolute[2];
    path = absolute[3] === '' ? '/' : (absolute[3] as string);
    query = absolute[4] ?? '';
  } else if (url.startsWith('/')) {
    const q = url.indexOf('?');
    path = q < 0 ? url : url.slice(0, q);
    query = q < 0 ? '' : url.slice(q);
    if (rawHost === undefined) fail('a path needs { host }, or pass an absolute URL such as "https://example.com/path".');
  } else {
    return fail('give an absolute http(s) URL, or a path starting with "/" and { host }.');
  }
  return schemes.map((scheme) => {
    const normalized = normalizeHost(rawHost, scheme);
    if (normalized === undefined) fail(`${JSON.stringify(rawHost)} is not a valid host.`);
    return { scheme, host: normalized as string, path, query: normalizeQuery(query) };
  });
}
