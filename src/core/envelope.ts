import type { EpochMs } from '../contracts/clock.js';

/**
 * What the cache writes to a store. The key stays Django-shaped (so invalidation from code is a
 * plain delete); the moving parts live here instead:
 * - `exp`: hard expiry; the store's own TTL is set to the same instant, this copy makes expiry
 *   exact on every store and lets tests use a fake clock;
 * - `fresh`: end of freshness; between `fresh` and `exp` the entry is served stale while one
 *   background refresh runs (stale-while-revalidate);
 * - `tags`: the generation token of each tag when the value was produced; a tag invalidation
 *   writes a new token, so every entry carrying the old one misses (O(1), no key scans);
 * - `lt`: the tags among `tags` that the producer learned (committed after producing), which
 *   readers do not name and so do not match on;
 * - `dg`: digest of the template source that produced a fragment; an edited template misses.
 */
export interface Envelope {
  /** Marks our own values; anything else in the store reads as a miss and is replaced. */
  njkc: 1;
  /** The cached value. */
  v: unknown;
  /** Hard expiry, epoch ms; null = never. */
  exp: EpochMs | null;
  /** Fresh until, epoch ms; null = never goes stale. Always <= exp. */
  fresh: EpochMs | null;
  tags?: Record<string, string>;
  /** Tags among `tags` decided when the value was committed (not asked for by its readers). */
  lt?: string[];
  dg?: string;
  /** How long producing the value took, ms (reported as time saved on every hit). */
  ms?: number;
}

export function isEnvelope(raw: unknown): raw is Envelope {
  if (typeof raw !== 'object' || raw === null) return false;
  const e = raw as Partial<Envelope>;
  return (
    e.njkc === 1 &&
    'v' in e &&
    (e.exp === null || typeof e.exp === 'number') &&
    (e.fresh === null || typeof e.fresh === 'number') &&
    (e.tags === undefined || (typeof e.tags === 'object' && e.tags !== null)) &&
    (e.dg === undefined || typeof e.dg === 'string')
  );
}

/**
 * The hard expiry an envelope carries, epoch ms; `undefined` for anything else or one that never
 * expires. Injected into the first tier (src/compose/tiered.ts), which must not read envelopes.
 */
export function envelopeExpiry(value: unknown): EpochMs | undefined {
  return isEnvelope(value) && value.exp !== null ? value.exp : undefined;
}

export type Freshness = 'fresh' | 'stale' | 'expired';

export function freshness(envelope: Envelope, now: EpochMs): Freshness {
  if (envelope.exp !== null && now >= envelope.exp) return 'expired';
  if (envelope.fresh !== null && now >= envelope.fresh) return 'stale';
  return 'fresh';
}
