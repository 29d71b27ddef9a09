import { Keyv, type KeyvStoreAdapter, type StoredData } from 'keyv';
import { LRUCache } from 'lru-cache';
import { EntryTooLargeError, StoreSpecError } from '../contracts/errors.js';
import { KeyvStore } from './keyv-store.js';
import type { Store } from '../contracts/store.js';

export interface MemoryStoreOptions {
  /** Byte budget for keys and values together (default 64 MiB). Least recently used entries go first. */
  maxBytes?: number;
}

export const DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024;

/** Per-entry bookkeeping the byte count includes besides the strings (map node, LRU links). */
const ENTRY_OVERHEAD_BYTES = 96;

/** Keyv's namespace for the memory store; Keyv prefixes every key with it. */
const NAMESPACE = 'njkc';

/** Bytes an entry counts against the budget: UTF-16 key and text (twice once parsed), plus bookkeeping. */
function entrySize(key: string, raw: string, parsed: boolean): number {
  return 2 * (key.length + raw.length * (parsed ? 2 : 1)) + ENTRY_OVERHEAD_BYTES;
}

interface Entry {
  /** The value as Keyv serialised it: `{"value":…,"expires":…}`. */
  raw: string;
  /** The parsed form, kept once `peek` needed it (counted in the byte budget from then on). */
  parsed?: { value: unknown; expires?: number | null };
}

/**
 * A Keyv storage adapter over `lru-cache`, bounded by bytes. Keyv's default `Map` grows without
 * bound, and `lru-cache` cannot be handed to Keyv directly (Keyv passes the TTL as a bare number
 * where lru-cache expects an options object). Values arrive serialised by Keyv, so their size is
 * known exactly: JavaScript strings take two bytes a code unit.
 */
export class LruAdapter implements KeyvStoreAdapter {
  opts: { maxBytes: number };
  namespace?: string | undefined;
  readonly #lru: LRUCache<string, Entry>;
  #version = 0;

  constructor(maxBytes: number) {
    this.opts = { maxBytes };
    this.#lru = new LRUCache<string, Entry>({
      maxSize: maxBytes,
      sizeCalculation: (entry, key) => entrySize(key, entry.raw, entry.parsed !== undefined),
      // Entries larger than the whole budget are refused rather than evicting everything.
      maxEntrySize: maxBytes,
    });
  }

  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  get size(): number {
    return this.#lru.size;
  }

  /** Moves on every write, delete and clear, whoever made it (see `Store.peekVersion`). */
  get version(): number {
    return this.#version;
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.#lru.get(key)?.raw as StoredData<Value> | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return keys.map((key) => this.#lru.get(key)?.raw as StoredData<Value> | undefined);
  }

  /**
   * The parsed value without a promise, as Keyv's `get` would return it. The parsed form is kept
   * for the next peek; callers must treat it as read-only (the cache serves only immutable values
   * from it).
   */
  peek(key: string): unknown {
    const entry = this.#lru.get(key);
    if (entry === undefined) return undefined;
    let parsed = entry.parsed;
    if (parsed === undefined) {
      try {
        parsed = JSON.parse(entry.raw) as NonNullable<Entry['parsed']>;
      } catch {
        return undefined;
      }
      // Re-set to count the parsed copy in the byte budget.
      this.#lru.set(key, { raw: entry.raw, parsed });
    }
    if (typeof parsed.expires === 'number' && Date.now() > parsed.expires) return undefined;
    return parsed.value;
  }

  /**
   * Expiry is not given to lru-cache: Keyv checks its own `expires` on every read (and `peek`
   * does too), and per-entry TTL bookkeeping costs time on every hit. Expired entries then wait
   * for LRU eviction, inside the byte budget like everything else.
   */
  async set(key: string, value: unknown): Promise<boolean> {
    if (typeof value !== 'string') throw new StoreSpecError('LruAdapter stores strings serialised by Keyv; give it to a Keyv, or use createMemoryStore().');
    const size = entrySize(key, value, false);
    if (size > this.opts.maxBytes) {
      // lru-cache would drop it silently (and keep an older value under the key): say so instead.
      this.#lru.delete(key);
      throw new EntryTooLargeError(
        `The memory store did not store "${key}": it takes ${size} bytes, more than the store's whole budget of ${this.opts.maxBytes} bytes. Raise the budget ("memory://?maxBytes=…" or createMemoryStore({ maxBytes })), or lower the cache's maxEntryBytes so such values are skipped before they reach the store.`,
      );
    }
    this.#lru.set(key, { raw: value });
    this.#version += 1;
    return true;
  }

  async delete(key: string): Promise<boolean> {
    this.#version += 1;
    return this.#lru.delete(key);
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let any = false;
    this.#version += 1;
    for (const key of keys) any = this.#lru.delete(key) || any;
    return any;
  }

  async has(key: string): Promise<boolean> {
    return this.#lru.has(key);
  }

  async clear(): Promise<void> {
    this.#version += 1;
    this.#lru.clear();
  }

  on(): this {
    return this;
  }
}

/** The default store: in-process, LRU, bounded by bytes. Warm hits can be served synchronously (`peek`). */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const maxBytes = options.maxBytes ?? DEFAULT_MEMORY_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) {
    throw new StoreSpecError(`memory store "maxBytes" must be a positive whole number of bytes; got ${String(maxBytes)}.`);
  }
  const adapter = new LruAdapter(maxBytes);
  return new KeyvStore({
    kind: 'memory',
    connect: async () => new Keyv({ store: adapter, namespace: NAMESPACE }),
    peek: (key) => adapter.peek(`${NAMESPACE}:${key}`),
    peekVersion: () => adapter.version,
    usage: async () => ({ entries: adapter.size, bytes: adapter.bytes, maxBytes }),
  });
}
