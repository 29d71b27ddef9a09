import { CacheError } from '../contracts/errors.js';

/** Seconds, as in Django: `null` means "never expires". */
export type TtlSeconds = number | null;

/**
 * What a caller may pass as a TTL. Three different meanings, kept apart on purpose (Django's
 * DEFAULT_TIMEOUT sentinel does the same): `undefined` → the cache's default; `null` → never
 * expires; `0` or negative → do not store (and remove what is there). Keyv reads 0 and negatives
 * as "no expiry", so these must be translated here and never passed through.
 */
export type TtlInput = TtlSeconds | undefined;

export type ResolvedTtl =
  | { kind: 'store'; ms: number | undefined } // ms undefined = forever
  | { kind: 'skip' };

export function resolveTtl(ttl: TtlInput, defaultTtl: TtlSeconds): ResolvedTtl {
  const seconds = ttl === undefined ? defaultTtl : ttl;
  if (seconds === null) return { kind: 'store', ms: undefined };
  if (typeof seconds !== 'number' || Number.isNaN(seconds)) {
    throw new CacheError('ERR_CACHE_TTL', `A TTL must be a number of seconds or null (never expires); got ${describe(seconds)}.`);
  }
  if (seconds <= 0) return { kind: 'skip' };
  if (!Number.isFinite(seconds)) return { kind: 'store', ms: undefined };
  return { kind: 'store', ms: Math.round(seconds * 1000) };
}

/**
 * Turn a template value into a TTL: numbers, numeric strings (Django does `int(value)`), and
 * `none`/`null`. Returns `undefined` when the value is not usable, so the tag can report it.
 */
export function coerceTtl(value: unknown): TtlSeconds | undefined {
  if (value === null) return null;
  if (typeof value === 'number' && !Number.isNaN(value)) return value;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
