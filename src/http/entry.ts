/**
 * What the page cache writes: two values, both plain strings, so that a store holding them in this
 * process (the memory store, a first tier) can serve a hit synchronously through `cache.peek`,
 * which only hands out immutable values. The body is kept as UTF-8 text when it is valid UTF-8
 * (most HTML), as base64 otherwise, so every store round-trips it byte for byte.
 *
 *     header list:  pgv1:<generation>:<vary field>,<vary field>
 *     page:         pg1\n{"status":200,"headers":{…},"enc":"utf8","at":…,"age":0,"key":"page:…","vary":[…],"gen":…}\n<body>
 *
 * Freshness is not here: it is the core envelope's (the lease commits the page with its TTL and
 * stale window), so pages are fresh, stale and expired exactly as fragments are.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EpochMs } from '../contracts/clock.js';
import type { HeaderRecord } from './headers.js';

/** The header-list entry of a URL: which request fields its responses vary on. */
export interface PageIndex {
  /** Request field names, lower-case, sorted. */
  readonly vary: readonly string[];
  /** Part of every variant's key; a new one orphans all earlier variants. */
  readonly gen: string;
}

/** One stored page. Parsed pages are shared between requests: read-only. */
export interface PageEntry {
  readonly status: number;
  readonly headers: HeaderRecord;
  readonly body: string;
  readonly enc: 'utf8' | 'base64';
  /** When it was stored, epoch ms. */
  readonly at: EpochMs;
  /** The response's own `Age` when it was stored, seconds (RFC 9111 §5.1: replays add to it). */
  readonly age: number;
  /** The variant key it was stored under (before `makeKey`), so a joined request can tell whether it is its own. */
  readonly key: string;
  /** The learned Vary fields and generation it was stored under (for that same check). */
  readonly vary: readonly string[];
  readonly gen: string;
}

export function newGeneration(): string {
  return randomBytes(6).toString('base64url');
}

export function formatIndex(index: PageIndex): string {
  return `pgv1:${index.gen}:${index.vary.join(',')}`;
}

const indexes = new Map<string, PageIndex>();

/** The header list, or `undefined` for anything else (a miss). The result is shared: do not modify it. */
export function parseIndex(value: unknown): PageIndex | undefined {
  if (typeof value !== 'string') return undefined;
  let index = indexes.get(value);
  if (index !== undefined) return index;
  if (!value.startsWith('pgv1:')) return undefined;
  const colon = value.indexOf(':', 5);
  if (colon < 0) return undefined;
  const fields = value.slice(colon + 1);
  index = { gen: value.slice(5, colon), vary: fields === '' ? [] : fields.split(',') };
  if (indexes.size >= 1024) indexes.delete(indexes.keys().next().value as string);
  indexes.set(value, index);
  return index;
}

export function formatPage(entry: PageEntry): string {
  const { body, ...meta } = entry;
  return `pg1\n${JSON.stringify(meta)}\n${body}`;
}

/**
 * Pages recently parsed, by their stored text: a store that keeps values in this process hands the
 * same string back on every hit, so a warm hit costs a map lookup instead of a JSON parse.
 */
const parsed = new Map<string, PageEntry>();
const PARSED_MAX = 64;

/** The page, or `undefined` for anything else (a miss). */
export function parsePage(value: unknown): PageEntry | undefined {
  if (typeof value !== 'string') return undefined;
  const known = parsed.get(value);
  if (known !== undefined) return known;
  const entry = parsePageText(value);
  if (entry !== undefined && value.length <= 64 * 1024) {
    if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value as string);
    parsed.set(value, entry);
  }
  return entry;
}

function parsePageText(value: string): PageEntry | undefined {
  if (!value.startsWith('pg1\n')) return undefined;
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
    // RFC 9110 §15: a final status is three digits, 200–599 here (1xx are never stored)
    !Number.isInteger(meta.status) ||
    (meta.status as number) < 200 ||
    (meta.status as number) > 599 ||
    !validHeaders(meta.headers) ||
    (meta.enc !== 'utf8' && meta.enc !== 'base64') ||
    typeof meta.at !== 'number' ||
    typeof meta.age !== 'number' ||
    !(meta.age >= 0) ||
    typeof meta.key !== 'string' ||
    typeof meta.gen !== 'string' ||
    !Array.isArray(meta.vary) ||
    !meta.vary.every((field) => typeof field === 'string')
  ) {
    return undefined;
  }
  return { status: meta.status as number, headers: meta.headers as HeaderRecord, enc: meta.enc, at: meta.at, age: meta.age, key: meta.key, vary: meta.vary, gen: meta.gen, body: value.slice(newline + 1) };
}

/**
 * Stored fields a page may be replayed with: strings (or lists of strings for repeated fields), and
 * never `Set-Cookie`, which belongs to one client and is never stored. Anything else is a miss, so
 * nothing of a malformed entry reaches a client.
 */
function validHeaders(headers: unknown): boolean {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return false;
  for (const [name, value] of Object.entries(headers)) {
    if (name !== name.toLowerCase() || name === 'set-cookie' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) return false;
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    if (!values.every((v) => typeof v === 'string' && !/[\r\n\0]/.test(v))) return false;
  }
  return true;
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
