/**
 * Purgers for `createCache({ purgers })`: each turns `invalidateTags(tags)` into the proxy's own
 * purge request, with the keys encoded as the response header announced them (edge.ts). A
 * non-2xx answer, a network error or a timeout rejects, so the cache retries and reports it.
 */
import { CacheError } from '../contracts/errors.js';
import type { Purger } from '../core/purge.js';
import { edgePurgeKeys, resolveEdge, type EdgeOptions } from './edge.js';

interface PurgerBase {
  /** Per request, ms (default 5 000). */
  timeoutMs?: number;
  /** How tags are encoded: the same options as the `edge` of the pages (the proxy preset is implied). */
  edge?: Omit<EdgeOptions, 'proxy'>;
}

export interface VarnishPurgerOptions extends PurgerBase {
  /** Where Varnish listens, e.g. `http://127.0.0.1:6081/`; the request is `PURGE` to this URL. */
  url: string;
  /** The request header the VCL hands to `xkey.purge()` (default `xkey-purge`, as docs/varnish.vcl). */
  purgeHeader?: string;
  /** Keys per request (default 100). */
  batch?: number;
}

export interface FastlyPurgerOptions extends PurgerBase {
  serviceId: string;
  /** An API token with purge rights, sent as `Fastly-Key`. */
  token: string;
  /** Mark the objects stale instead of removing them (`Fastly-Soft-Purge: 1`). */
  soft?: boolean;
  /** Default `https://api.fastly.com`. */
  baseUrl?: string;
}

export interface CloudflarePurgerOptions extends PurgerBase {
  zoneId: string;
  /** An API token with the Cache Purge permission, sent as `Authorization: Bearer …`. */
  token: string;
  /** Default `https://api.cloudflare.com/client/v4`. */
  baseUrl?: string;
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

async function send(what: string, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) {
    const text = (await response.text().catch(() => '')).slice(0, 200);
    throw new CacheError('ERR_CACHE_PURGE', `${what} answered ${response.status} ${response.statusText}${text ? `: ${text}` : ''}`);
  }
  return response;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Varnish with the xkey vmod: `PURGE <url>` with `xkey-purge: key1 key2 …` (see docs/varnish.vcl). */
export function createVarnishPurger(options: VarnishPurgerOptions): Purger {
  const edge = resolveEdge({ ...options.edge, proxy: 'varnish' });
  const header = options.purgeHeader ?? 'xkey-purge';
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    name: 'varnish',
    async purge(tags) {
      for (const keys of chunks(edgePurgeKeys(tags, edge), options.batch ?? 100)) {
        await send(`Varnish at ${options.url}`, options.url, { method: 'PURGE', headers: { [header]: keys.join(' ') } }, timeoutMs);
      }
    },
  };
}

/**
 * Fastly: `POST /service/{serviceId}/purge` with `{"surrogate_keys": [...]}` (up to 256 keys per
 * request), authenticated by `Fastly-Key`.
 */
export function createFastlyPurger(options: FastlyPurgerOptions): Purger {
  const edge = resolveEdge({ ...options.edge, proxy: 'fastly' });
  const base = trimSlash(options.baseUrl ?? 'https://api.fastly.com');
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    name: 'fastly',
    async purge(tags) {
      for (const keys of chunks(edgePurgeKeys(tags, edge), 256)) {
        const headers: Record<string, string> = { 'Fastly-Key': options.token, 'Content-Type': 'application/json', Accept: 'application/json' };
        if (options.soft === true) headers['Fastly-Soft-Purge'] = '1';
        await send('Fastly', `${base}/service/${encodeURIComponent(options.serviceId)}/purge`, { method: 'POST', headers, body: JSON.stringify({ surrogate_keys: keys }) }, timeoutMs);
      }
    },
  };
}

/**
 * Cloudflare: `POST /zones/{zoneId}/purge_cache` with `{"tags": [...]}` (up to 30 tags per
 * request), authenticated by a bearer token; an answer without `"success": true` is a failure.
 */
export function createCloudflarePurger(options: CloudflarePurgerOptions): Purger {
  const edge = resolveEdge({ ...options.edge, proxy: 'cloudflare' });
  const base = trimSlash(options.baseUrl ?? 'https://api.cloudflare.com/client/v4');
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    name: 'cloudflare',
    async purge(tags) {
      for (const keys of chunks(edgePurgeKeys(tags, edge), 30)) {
        const response = await send(
          'Cloudflare',
          `${base}/zones/${encodeURIComponent(options.zoneId)}/purge_cache`,
          { method: 'POST', headers: { Authorization: `Bearer ${options.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ tags: keys }) },
          timeoutMs,
        );
        const body = (await response.json().catch(() => undefined)) as { success?: unknown; errors?: unknown } | undefined;
        if (body?.success !== true) throw new CacheError('ERR_CACHE_PURGE', `Cloudflare did not confirm the purge: ${JSON.stringify(body?.errors ?? body)}`);
      }
    },
  };
}
