import type { Store } from '../../../src/stores.js';

/** A store of your own, over a Map (the cache checks each entry's expiry itself). */
export function createMapStore(): Store {
  const map = new Map<string, unknown>();
  return {
    kind: 'map',
    get: async (key) => map.get(key),
    getMany: async (keys) => keys.map((key) => map.get(key)),
    set: async (key, value) => void map.set(key, value), // ttlMs ignored: entries carry their expiry
    setMany: async (entries) => entries.forEach((e) => map.set(e.key, e.value)),
    delete: async (key) => map.delete(key),
    deleteMany: async (keys) => keys.forEach((key) => map.delete(key)),
    clear: async () => map.clear(),
    close: async () => {},
  };
}
