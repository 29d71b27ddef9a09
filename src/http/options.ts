import type { IncomingMessage } from 'node:http';
import type { Cache } from '../core/cache.js';
import { resolveTtl, type TtlInput, type TtlSeconds } from '../core/ttl.js';
import { resolveEdge, type EdgeOptions, type ResolvedEdge } from './edge.js';
import { PageCacheError } from '../contracts/errors.js';
import { implicitKeyFields } from './keys.js';
import type { PageSkipReason } from './policy.js';
import type { PageApp } from './refresh.js';
import { MAX_TIMER_MS } from '../shared/ms.js';

/** Options of `cachePage` and `cacheMiddleware`. */
export interface PageCacheOptions {
  /**
   * Seconds a page stays fresh when the response does not say (Django's CACHE_MIDDLEWARE_SECONDS).
   * The response's own `s-maxage`, `max-age` or `Expires` wins. Omitted: the cache's default;
   * `null`: until invalidated; `0`: only responses that name their own lifetime are stored.
   */
  ttl?: TtlInput;
  /** Namespaces the pages of this middleware (Django's CACHE_MIDDLEWARE_KEY_PREFIX). Default `""`. */
  keyPrefix?: string;
  /** Key version; bump it to make every page stored under the old one unreachable. Default: the cache's. */
  version?: number;
  /** Response statuses that may be stored. Default `[200]`. */
  statuses?: readonly number[];
  /**
   * Hosts whose pages may be cached (Django's ALLOWED_HOSTS syntax: `"example.com"`,
   * `".example.com"` for the domain and its subdomains, `"*"`). Requests for other hosts pass
   * through uncached. Default: any valid host.
   */
  allowedHosts?: readonly string[];
  /**
   * Key pages by `X-Forwarded-Proto` / `X-Forwarded-Host` (first value) instead of the connection
   * and `Host`, as Express does with `trust proxy`. Only behind a proxy that sets them. Default false,
   * and then those headers are part of every key instead, so they can never poison an entry.
   */
  trustProxy?: boolean;
  /** Request fields that always select a variant, whatever the response's Vary says. */
  keyHeaders?: readonly string[];
  /**
   * Bodies larger than this many bytes are passed through and not stored. Default: a third of the
   * cache's `maxEntryBytes` (which counts two bytes a character of stored text; base64 adds a third),
   * so any body under it fits in one entry.
   */
  maxBodyBytes?: number;
  /**
   * Seconds after a page goes stale during which it is still served at once while one background
   * refresh replays the request through the app. Default 0 (off). Needs the app: Express's is found
   * on the request; with `node:http`, pass `app`.
   */
  staleTtl?: number;
  /** The request listener to replay background refreshes through (`node:http`). Default: Express's `req.app`. */
  app?: PageApp;
  /** Tags for `cache.invalidateTags`: a list, or a function of the request. */
  tags?: readonly string[] | ((req: IncomingMessage) => readonly string[]);
  /**
   * Announce the page's `tags` to a reverse proxy or CDN in the header it reads (`Surrogate-Key`,
   * `Cache-Tag`, `xkey`), on hits and misses alike; pair with the matching purger on the cache.
   */
  edge?: EdgeOptions;
  /** Longest a request waits for a render of the same page already under way, ms. Default 10 000. */
  waitMs?: number;
  /** Name for the cache's `hit`/`miss`/`stale` events. Default `"page"` (`"site"` for `cacheMiddleware`). */
  label?: string;
  /** Told why a request was not looked up or a response not stored (for logs and debugging). */
  onSkip?: (reason: PageSkipReason, req: IncomingMessage) => void;
}

export interface ResolvedPageOptions {
  ttl: TtlSeconds;
  keyPrefix: string;
  version: number | undefined;
  statuses: ReadonlySet<number>;
  allowedHosts: readonly string[] | undefined;
  trustProxy: boolean;
  keyFields: readonly string[];
  maxBodyBytes: number;
  staleTtl: number;
  app: PageApp | undefined;
  tags: (req: IncomingMessage) => readonly string[];
  edge: ResolvedEdge | undefined;
  waitMs: number;
  label: string;
  onSkip: ((reason: PageSkipReason, req: IncomingMessage) => void) | undefined;
}

export function resolvePageOptions(cache: Cache, options: PageCacheOptions, label: string): ResolvedPageOptions {
  const where = `${label === 'site' ? 'cacheMiddleware' : 'cachePage'}()`;
  const fail = (message: string): never => {
    throw new PageCacheError('ERR_PAGE_OPTIONS', `${where}: ${message}`);
  };
  if (typeof cache?.get !== 'function' || typeof cache.set !== 'function') fail('the first argument must be a Cache from createCache().');
  const ttl = options.ttl === undefined ? cache.defaultTtl : options.ttl;
  resolveTtl(ttl, cache.defaultTtl); // validates: a number of seconds or null
  const keyPrefix = options.keyPrefix ?? '';
  if (typeof keyPrefix !== 'string') fail(`"keyPrefix" must be a string; got ${typeof keyPrefix}.`);
  if (options.version !== undefined && !Number.isInteger(options.version)) fail(`"version" must be a whole number; got ${String(options.version)}.`);
  const statuses = options.statuses ?? [200];
  for (const status of statuses) {
    if (!Number.isInteger(status) || status < 200 || status > 599) fail(`"statuses" must hold HTTP status codes (200-599); got ${String(status)}.`);
  }
  const allowedHosts = options.allowedHosts;
  if (allowedHosts !== undefined && (!Array.isArray(allowedHosts) || allowedHosts.some((host) => typeof host !== 'string' || host === ''))) {
    fail('"allowedHosts" must be a list of host names such as "example.com", ".example.com" or "*".');
  }
  const keyHeaders = options.keyHeaders ?? [];
  if (keyHeaders.some((name) => typeof name !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name))) fail('"keyHeaders" must be a list of request header names.');
  const maxBodyBytes = options.maxBodyBytes ?? Math.floor(cache.maxEntryBytes / 3);
  if (!(Number.isInteger(maxBodyBytes) && maxBodyBytes > 0)) fail(`"maxBodyBytes" must be a positive whole number of bytes; got ${String(maxBodyBytes)}.`);
  const staleTtl = options.staleTtl ?? 0;
  if (typeof staleTtl !== 'number' || !(staleTtl >= 0) || !Number.isFinite(staleTtl)) fail(`"staleTtl" must be zero or a positive number of seconds; got ${String(staleTtl)}.`);
  if (options.app !== undefined && typeof options.app !== 'function') fail('"app" must be a request listener, (req, res) => void.');
  const waitMs = options.waitMs ?? 10_000;
  if (!(typeof waitMs === 'number' && waitMs > 0 && waitMs <= MAX_TIMER_MS)) fail(`"waitMs" must be a number of milliseconds above 0 up to ${MAX_TIMER_MS} (about 24.8 days, the longest a Node.js timer waits); got ${String(waitMs)}.`);
  const tags = options.tags;
  if (tags !== undefined && typeof tags !== 'function' && !(Array.isArray(tags) && tags.every((tag) => typeof tag === 'string'))) {
    fail('"tags" must be a list of strings or a function (req) => list of strings.');
  }
  const trustProxy = options.trustProxy ?? false;
  return {
    ttl,
    keyPrefix,
    version: options.version,
    statuses: new Set(statuses),
    allowedHosts,
    trustProxy,
    keyFields: [...new Set([...implicitKeyFields(trustProxy), ...keyHeaders.map((name) => name.toLowerCase())])],
    maxBodyBytes,
    staleTtl,
    app: options.app,
    tags: tags === undefined ? () => [] : typeof tags === 'function' ? tags : () => tags,
    edge: options.edge === undefined ? undefined : resolveEdge(options.edge),
    waitMs,
    label: options.label ?? label,
    onSkip: options.onSkip,
  };
}
