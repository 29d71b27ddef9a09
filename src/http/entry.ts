/**
 * What the page cache writes: two small JSON values. The body is kept as UTF-8 text when it is
 * valid UTF-8 (most HTML), as base64 otherwise, so every store (Redis, SQLite, JSON-serialising
 * memory) round-trips it byte for byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EpochMs } from '../core/clock.js';
import type { HeaderRecord } from './headers.js';

/** The header-list entry of a URL: which request fields its responses vary on. */
export interface PageIndex {
  pg: 1;
  /** Request field names, lower-case, sorted. */
  vary: string[];
  /** Part of every variant's key; a new one orphans all earlier variants. */
  gen: string;
}

/** One stored page. */
export interface PageEntry {
  pg: 1;
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

export function isPageIndex(value: unknown): value is PageIndex {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<PageIndex>;
  return v.pg === 1 && typeof v.gen === 'string' && Array.isArray(v.vary) && v.vary.every((name) => typeof name === 'string');
}

export function isPageEntry(value: unknown): value is PageEntry {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<PageEntry>;
  return (
    v.pg === 1 &&
    typeof v.status === 'number' &&
    typeof v.headers === 'object' &&
    v.headers !== null &&
    typeof v.body === 'string' &&
    (v.enc === 'utf8' || v.enc === 'base64') &&
    typeof v.at === 'number' &&
    (v.fresh === null || typeof v.fresh === 'number')
  );
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
