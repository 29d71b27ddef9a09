// #region example
// cache.ts: one module creates the cache; the rest of the app imports it (Django's `from django.core.cache import cache`).
import { createCache } from '../../../src/index.js';

export const cache = createCache({
  store: process.env.CACHE_URL ?? 'memory', // BACKEND + LOCATION: 'sqlite://cache.db', 'redis://127.0.0.1:6379/0'
  defaultTtl: 300, // TIMEOUT, seconds; null = never expire
  keyPrefix: 'blog', // KEY_PREFIX
  version: 1, // VERSION
  keyFunction: (key, prefix, version) => `${prefix}:${version}:${key}`, // KEY_FUNCTION (this is the default)
});

// At shutdown: an open Redis or SQLite connection keeps the process alive.
export const closeCache = () => cache.close();
// #endregion
