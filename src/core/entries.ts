import type { EpochMs } from '../contracts/clock.js';
import type { Clock } from '../contracts/clock.js';
import { freshness, isEnvelope, type Envelope } from './envelope.js';
import { CacheError } from '../contracts/errors.js';
import type { Flights } from './flights.js';
import type { GuardedStore } from './guarded-store.js';
import { checkNonNegative } from './options.js';
import type { StatsRecorder } from './stats.js';
import { TagTokens, tagsCurrent, type Tokens } from './tag-tokens.js';
import { resolveTtl, type TtlInput, type TtlSeconds } from './ttl.js';
import type { WriteOptions } from './types.js';

/** What is known about a value besides the value itself when it is written. */
export interface EntryMeta {
  /** Digest of the source that produced it. */
  digest?: string | undefined;
  /** How long producing it took, ms. */
  ms?: number | undefined;
  /** Tag tokens read before it was produced; read (and created) now when absent. */
  tokens?: Tokens | undefined;
  /** Tags among `tokens` decided by the producer at commit, not named by readers. */
  learned?: readonly string[] | undefined;
  /** Fresh no later than this (a lifetime bubbled up from inside the value); at or before now, not stored. */
  freshUntil?: EpochMs | null | undefined;
}

export interface EntriesOptions {
  io: GuardedStore;
  tags: TagTokens;
  flights: Flights<unknown>;
  stats: StatsRecorder;
  clock: Clock;
  defaultTtl: TtlSeconds;
  staleTtl: number;
  maxEntryBytes: number;
}

/** Reading and writing envelopes: validation, expiry, tags, TTL rules, size limit. */
export class Entries {
  readonly #o: EntriesOptions;

  constructor(options: EntriesOptions) {
    this.#o = options;
  }

  /** The envelope in a raw store value; anything else (foreign or corrupt) counts and reads as a miss. */
  open(raw: unknown): Envelope | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (isEnvelope(raw)) return raw;
    this.#o.stats.count('corrupt');
    return undefined;
  }

  /**
   * Envelopes for `keys` that are present, unexpired and whose tags are current — the one read
   * path of every composed method. With `strict`, a store failure throws instead of reading as a
   * miss (for incr and incrVersion, where "not found" would be a lie).
   */
  async readValid(keys: readonly string[], operation: string, strict = false): Promise<Array<Envelope | undefined>> {
    const raws = strict ? await this.#strictRead(operation, keys) : await this.#o.io.read(operation, keys);
    if (raws === null) return keys.map(() => undefined);
    const now = this.#o.clock.now();
    const envelopes = raws.map((raw) => {
      const envelope = this.open(raw);
      return envelope !== undefined && freshness(envelope, now) !== 'expired' ? envelope : undefined;
    });
    const tags = new Set<string>();
    for (const envelope of envelopes) for (const tag in envelope?.tags ?? {}) tags.add(tag);
    if (tags.size === 0) return envelopes;
    const tokens = strict ? TagTokens.fromRaw([...tags], await this.#strictRead(operation, [...tags].map((tag) => this.#o.tags.key(tag)))) : await this.#o.tags.read([...tags], false);
    return envelopes.map((envelope) => (envelope !== undefined && tokens !== null && tagsCurrent(envelope, tokens) ? envelope : undefined));
  }

  #strictRead(operation: string, keys: readonly string[]): Promise<unknown[]> {
    const store = this.#o.io.store;
    return this.#o.io.strict(operation, () => (keys.length === 1 ? store.get(keys[0] as string).then((value) => [value]) : store.getMany(keys)));
  }

  /** Store a value under the TTL rules; whether it was stored. A TTL of 0 or less removes the key. */
  async write(key: string, value: unknown, ttl: TtlInput, options: WriteOptions, meta: EntryMeta = {}): Promise<boolean> {
    const resolved = this.lifetime(ttl, meta.freshUntil);
    if (resolved === 'bounded-out') return false;
    if (resolved.kind === 'skip') {
      this.#o.flights.detachKeys([key]);
      await this.#o.io.call('delete', () => this.#o.io.store.delete(key), false);
      return false;
    }
    const tokens = meta.tokens ?? (await this.#o.tags.read(options.tags ?? [], true));
    if (tokens === null) return false;
    const built = this.build(value, resolved.ms, options.staleTtl, tokens, meta);
    if (built === undefined) return false;
    const ok = await this.#o.io.attempt('set', (store) => store.set(key, built.envelope, built.ttlMs));
    if (ok) this.#o.stats.count('sets');
    return ok;
  }

  /**
   * The TTL rules, with an optional bound from inside the value: `'bounded-out'` when the bound is
   * already past (nothing is stored, and what is there is left alone).
   */
  lifetime(ttl: TtlInput, freshUntil: EpochMs | null | undefined): ReturnType<typeof resolveTtl> | 'bounded-out' {
    const resolved = resolveTtl(ttl, this.#o.defaultTtl);
    if (resolved.kind === 'skip' || freshUntil === undefined || freshUntil === null) return resolved;
    const left = freshUntil - this.#o.clock.now();
    if (left <= 0) return 'bounded-out';
    return { kind: 'store', ms: resolved.ms === undefined ? left : Math.min(resolved.ms, left) };
  }

  /** Several values in one store call; the keys that could not be stored. */
  async writeMany(entries: ReadonlyArray<readonly [string, unknown]>, ttl: TtlInput, options: WriteOptions): Promise<string[]> {
    const resolved = resolveTtl(ttl, this.#o.defaultTtl);
    const keys = entries.map(([key]) => key);
    if (resolved.kind === 'skip') {
      this.#o.flights.detachKeys(keys);
      await this.#o.io.attempt('deleteMany', (store) => store.deleteMany(keys));
      return [];
    }
    const tokens = await this.#o.tags.read(options.tags ?? [], true);
    if (tokens === null) return keys;
    const writes: Array<{ key: string; value: Envelope; ttlMs: number | undefined }> = [];
    const failed: string[] = [];
    for (const [key, value] of entries) {
      const built = this.build(value, resolved.ms, options.staleTtl, tokens, {});
      if (built === undefined) failed.push(key);
      else writes.push({ key, value: built.envelope, ttlMs: built.ttlMs });
    }
    if (!(await this.#o.io.attempt('setMany', (store) => store.setMany(writes)))) return keys;
    this.#o.stats.count('sets', writes.length);
    return failed;
  }

  /** The envelope for a value, and the store TTL (fresh time plus stale window); `undefined` when too big. */
  build(value: unknown, ttlMs: number | undefined, staleTtl: number | undefined, tokens: Tokens, meta: EntryMeta): { envelope: Envelope; ttlMs: number | undefined } | undefined {
    if (value === undefined) throw new CacheError('ERR_CACHE_OPTIONS', 'Cannot cache undefined (it would read back as a miss); store null instead.');
    const now = this.#o.clock.now();
    const staleMs = Math.round(checkNonNegative(staleTtl ?? this.#o.staleTtl, 'staleTtl') * 1000);
    const fresh = ttlMs === undefined ? null : now + ttlMs;
    const exp = fresh === null ? null : fresh + staleMs;
    const envelope: Envelope = { njkc: 1, v: value, exp, fresh };
    if (tokens.size > 0) envelope.tags = Object.fromEntries(tokens) as Record<string, string>;
    if (meta.learned !== undefined && meta.learned.length > 0) envelope.lt = [...meta.learned];
    if (meta.digest !== undefined) envelope.dg = meta.digest;
    if (meta.ms !== undefined) envelope.ms = Math.round(meta.ms * 100) / 100;
    let size: number;
    try {
      size = typeof value === 'string' ? value.length * 2 : Buffer.byteLength(JSON.stringify(value) ?? '');
    } catch (error) {
      throw new CacheError('ERR_CACHE_OPTIONS', `Cannot cache this value: it is not JSON-serialisable (${(error as Error).message}). Cache strings, numbers, booleans, null, arrays and plain objects.`, { cause: error });
    }
    if (size > this.#o.maxEntryBytes) {
      this.#o.stats.count('oversize');
      return undefined;
    }
    return { envelope, ttlMs: exp === null ? undefined : Math.max(1, exp - now) };
  }

  /** Milliseconds an envelope has left before its hard expiry; `undefined` = never expires. */
  remainingMs(envelope: Envelope, now: EpochMs = this.#o.clock.now()): number | undefined {
    return envelope.exp === null ? undefined : Math.max(1, envelope.exp - now);
  }
}
