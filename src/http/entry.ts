/**
 * What the page cache writes: two values, both plain strings, so that a store holding them in this
 * process (the memory store, a first tier) can serve a hit synchronously through `cache.peek`,
 * which only hands out immutable values. The body is kept as UTF-8 text when it is valid UTF-8
 * (most HTML), as base64 otherwise, so every store round-trips it byte for byte.
 *
 *     header list:  pgv1:<generation>:<vary field>,<vary field>
 *     page:         pg1\n{"status":200,"headers":{…},"enc":"utf8","at":…,"fresh":…}\n<body>
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EpochMs } from '../core/clock.js';
import type { HeaderRecord } from './headers.js';

/** The header-list entry of a URL: which request fields its responses vary on. */
export interface PageIndex {
  /** Request field names, lower-case, sorted. */
  vary: string[];
  /** Part of every variant's key; a new one orphans all earlier variants. */
  gen: string;
}

/** One stored page. */
export interface PageEntry {
  status: number;
  headers: HeaderRecord;
  body: string;
  enc: 'utf8' | 'base64';
  /** When it was stored, epoch ms. */
  at: EpochMs;
  /** Fresh until, epoch ms; `null` = until invalidated. Between this and the store's expiry the page is stale. */
  fresh: EpochMs | null;
}

export function newGeneration(): string {
  return randomBytes(6).toString('base64url');
}

export function formatIndex(index: PageIndex): string {
  return `pgv1:${index.gen}:${index.vary.join(',')}`;
}

/** The header list, or `undefined` for anything else (a miss). */
export function parseIndex(value: unknown): PageIndex | undefined {
  if (typeof value !== 'string' || !value.startsWith('pgv1:')) return undefined;
  const colon = value.indexOf(':', 5);
  if (colon < 0) return undefined;
  const fields = value.slice(colon + 1);
  return { gen: value.slice(5, colon), vary: fields === '' ? [] : fields.split(',') };
}

export function formatPage(entry: PageEntry): string {
  const { body, ...meta } = entry;
  return `pg1\n${JSON.stringify(meta)}\n${body}`;
}

/** The page, or `undefined` for anything else (a miss). */
export function parsePage(value: unknown): PageEntry | undefined {
  if (typeof value !== 'string' || !value.startsWith('pg1\n')) return undefined;
  const newline = value.indexOf('\n', 4);
  if (newline < 0) return undefined;
  let meta: Partial<PageEntry>;
  try {
    meta = JSON.parse(value.slice(4, newline)) as Partial<PageEntry>;
  } catch {
    return undefined;
  }
  if (
    typeof meta !== 'object' ||
    meta === null ||
    typeof meta.status !== 'number' ||
    typeof meta.headers !== 'object' ||
    meta.headers === null ||
    (meta.enc !== 'utf8' && meta.enc !== 'base64') ||
    typeof meta.at !== 'number' ||
    (meta.fresh !== null && typeof meta.fresh !== 'number')
  ) {
    return undefined;
  }
  return { status: meta.status, headers: meta.headers, enc: meta.enc, at: meta.at, fresh: meta.fresh, body: value.slice(newline + 1) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function encodeBody(body: Buffer): { body: string; enc: 'utf8' | 'base64' } {
  try {
    return { body: utf8.decode(body), enc: 'utf8' };
  } catch {
    return { body: body.toString('base64'), enc: 'base64' };
  }
}

export function decodeBody(entry: PageEntry): Buffer {
  return Buffer.from(entry.body, entry.enc);
}

/** A strong entity tag (RFC 9110 §8.8.3) from the body's SHA-256. */
export function strongEtag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}
