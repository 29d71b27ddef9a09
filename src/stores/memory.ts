import { Keyv, type KeyvStoreAdapter, type StoredData } from 'keyv';
import { LRUCache } from 'lru-cache';
import { KeyvStore } from './keyv-store.js';
import type { Store } from './types.js';

export interface MemoryStoreOptions {
  /** Byte budget for keys and values together (default 64 MiB). Least recently used entries go first. */
  maxBytes?: number;
}

export const DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024;

/** Per-entry bookkeeping the byte count includes besides the two strings (map node, LRU links). */
const ENTRY_OVERHEAD_BYTES = 96;

/**
 * A Keyv storage adapter over `lru-cache`, bounded by bytes. Keyv's default `Map` grows without
 * bound, and `lru-cache` cannot be handed to Keyv directly (Keyv passes the TTL as a bare number
 * where lru-cache expects an options object). Values arrive serialised by Keyv, so their size is
 * known exactly: JavaScript strings take two bytes a code unit.
 */
export class LruAdapter implements KeyvStoreAdapter {
  opts: { maxBytes: number };
  namespace?: string | undefined;
  readonly #lru: LRUCache<string, string>;
  readonly #listeners = new Map<string, Array<(...args: unknown[]) => void>>();

  constructor(maxBytes: number) {
    this.opts = { maxBytes };
    this.#lru = new LRUCache<string, string>({
      maxSize: maxBytes,
      sizeCalculation: (value, key) => 2 * (value.length + key.length) + ENTRY_OVERHEAD_BYTES,
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

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.#lru.get(key) as StoredData<Value> | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return keys.map((key) => this.#lru.get(key) as StoredData<Value> | undefined);
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    if (typeof value !== 'string') throw new TypeError('LruAdapter stores strings serialised by Keyv.');
    this.#lru.set(key, value, ttl === undefined ? {} : { ttl });
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return this.#lru.delete(key);
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let any = false;
    for (const key of keys) any = this.#lru.delete(key) || any;
    return any;
  }

  async has(key: string): Promise<boolean> {
    return this.#lru.has(key);
  }

  async clear(): Promise<void> {
    this.#lru.clear();
  }

  on(event: string, listener: (...args: unknown[]) => void): this {
    const list = this.#listeners.get(event) ?? [];
    list.push(listener);
    this.#listeners.set(event, list);
    return this;
  }
}

/** The default store: in-process, LRU, bounded by bytes. */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const maxBytes = options.maxBytes ?? DEFAULT_MEMORY_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`memory store "maxBytes" must be a positive whole number of bytes; got ${String(maxBytes)}.`);
  }
  const adapter = new LruAdapter(maxBytes);
  return new KeyvStore({
    kind: 'memory',
    connect: async () => new Keyv({ store: adapter, namespace: 'njkc' }),
    usage: async () => ({ entries: adapter.size, bytes: adapter.bytes, maxBytes }),
  });
}
