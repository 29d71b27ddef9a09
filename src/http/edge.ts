/**
 * Tags for a reverse proxy or CDN: the response header each one reads, and the keys to purge.
 * Pure functions over tag lists; `createVarnishPurger` & co. (purgers.ts) use the same encoding,
 * so what a page announces and what a purge names always match.
 *
 * - Fastly reads `Surrogate-Key`, space-separated (at most 16 384 bytes, keys up to 1 024 bytes).
 * - Cloudflare reads `Cache-Tag`, comma-separated (at most 16 KiB in all, no spaces in a tag).
 * - Varnish's xkey vmod reads `xkey`, space- or comma-separated (a header must fit
 *   `http_resp_hdr_len`, 8 KiB by default).
 */
import { createHash, createHmac } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { PageCacheError } from '../contracts/errors.js';

export type EdgeProxy = 'fastly' | 'cloudflare' | 'varnish';

export interface EdgeOptions {
  /** Which proxy reads the header: sets the header name, separator and size limit. */
  proxy: EdgeProxy;
  /** Header name (default per proxy: `Surrogate-Key`, `Cache-Tag`, `xkey`). */
  header?: string;
  /** Between two keys (default per proxy: `" "`, `","`, `" "`). */
  separator?: string;
  /** Longest header value, bytes (default per proxy: 16 384, 16 384, 8 000). */
  maxBytes?: number;
  /** Tags never to show as they are (default: those starting with `private:`). */
  isPrivate?: (tag: string) => boolean;
  /**
   * With a secret, a private tag is announced as a keyed hash of it (HMAC-SHA-256) that only a
   * holder of the secret can link to the tag. Without one, a private tag is left out and the
   * response carries the catch-all key instead, which every purge drops.
   */
  secret?: string;
  /** The catch-all key of responses whose tags did not fit or were private (default `njkc-all`). */
  overflowKey?: string;
}

const PRESETS: Record<EdgeProxy, { header: string; separator: string; maxBytes: number }> = {
  fastly: { header: 'Surrogate-Key', separator: ' ', maxBytes: 16_384 },
  cloudflare: { header: 'Cache-Tag', separator: ',', maxBytes: 16_384 },
  varnish: { header: 'xkey', separator: ' ', maxBytes: 8_000 },
};

/** A tag that can go into any of the three headers as it is: no separator, no space, no control character. */
const SAFE_KEY = /^[A-Za-z0-9._:/@+=~-]{1,128}$/;

const isPrivateDefault = (tag: string): boolean => tag.startsWith('private:');

export interface ResolvedEdge {
  header: string;
  separator: string;
  maxBytes: number;
  isPrivate: (tag: string) => boolean;
  secret: string | undefined;
  overflowKey: string;
}

export function resolveEdge(options: EdgeOptions): ResolvedEdge {
  const preset = PRESETS[options?.proxy];
  if (preset === undefined) throw new PageCacheError('ERR_PAGE_OPTIONS', `"edge.proxy" must be "fastly", "cloudflare" or "varnish"; got ${JSON.stringify(options?.proxy)}.`);
  const header = options.header ?? preset.header;
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(header)) throw new PageCacheError('ERR_PAGE_OPTIONS', `"edge.header" must be an HTTP header name; got ${JSON.stringify(header)}.`);
  const separator = options.separator ?? preset.separator;
  if (separator !== ' ' && separator !== ',' && separator !== ', ') throw new PageCacheError('ERR_PAGE_OPTIONS', `"edge.separator" must be " ", "," or ", "; got ${JSON.stringify(separator)}.`);
  const maxBytes = options.maxBytes ?? preset.maxBytes;
  if (!Number.isInteger(maxBytes) || maxBytes < 64) throw new PageCacheError('ERR_PAGE_OPTIONS', `"edge.maxBytes" must be a whole number of bytes, at least 64; got ${JSON.stringify(maxBytes)}.`);
  const overflowKey = options.overflowKey ?? 'njkc-all';
  if (!SAFE_KEY.test(overflowKey)) throw new PageCacheError('ERR_PAGE_OPTIONS', `"edge.overflowKey" must be letters, digits and ._:/@+=~- (1 to 128 characters); got ${JSON.stringify(overflowKey)}.`);
  return { header, separator, maxBytes, isPrivate: options.isPrivate ?? isPrivateDefault, secret: options.secret, overflowKey };
}

function hashed(tag: string): string {
  return `h-${createHash('sha256').update(tag).digest('base64url').slice(0, 22)}`;
}

/**
 * The key a proxy knows `tag` by: the tag itself when it is safe in every header, else a hash of
 * it; a private tag's keyed hash, or `undefined` (left out) without a secret.
 */
export function edgeKey(tag: string, edge: ResolvedEdge): string | undefined {
  if (edge.isPrivate(tag)) {
    return edge.secret === undefined ? undefined : `p-${createHmac('sha256', edge.secret).update(tag).digest('base64url').slice(0, 22)}`;
  }
  return SAFE_KEY.test(tag) ? tag : hashed(tag);
}

/**
 * The header value announcing `tags`, or `undefined` for none. When private tags were left out,
 * or the list would pass `maxBytes`, the value is the catch-all key alone: every purge drops such
 * a response, so it is purged too often rather than served stale.
 */
export function edgeHeaderValue(tags: readonly string[], edge: ResolvedEdge): string | undefined {
  if (tags.length === 0) return undefined;
  const keys = new Set<string>();
  for (const tag of tags) {
    const key = edgeKey(tag, edge);
    if (key === undefined) return edge.overflowKey;
    keys.add(key);
  }
  const value = [...keys].join(edge.separator);
  return Buffer.byteLength(value) > edge.maxBytes ? edge.overflowKey : value;
}

/** The keys a purge of `tags` names: each tag's key, and the catch-all key. */
export function edgePurgeKeys(tags: readonly string[], edge: ResolvedEdge): string[] {
  const keys = new Set<string>();
  for (const tag of tags) {
    const key = edgeKey(tag, edge);
    if (key !== undefined) keys.add(key);
  }
  keys.add(edge.overflowKey);
  return [...keys];
}

/** The header formatted for one proxy: `{ name, value }`, or `undefined` when there is no tag. */
export function formatEdgeHeader(tags: readonly string[], options: EdgeOptions): { name: string; value: string } | undefined {
  const edge = resolveEdge(options);
  const value = edgeHeaderValue(tags, edge);
  return value === undefined ? undefined : { name: edge.header, value };
}

/** Set the proxy's tag header on a response (before its headers are sent). */
export function setEdgeHeader(res: ServerResponse, tags: readonly string[], options: EdgeOptions): void {
  const header = formatEdgeHeader(tags, options);
  if (header !== undefined) res.setHeader(header.name, header.value);
}
