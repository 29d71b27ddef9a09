/**
 * Run as a child process by the store tests: create a cache on the store URL given as argument and
 * close it at once, while it is still connecting in the background. The process must then exit by
 * itself; the parent kills it (and fails) if it does not.
 */
import { createCache } from '../../src/index.js';

const cache = createCache({ store: process.argv[2] as string });
await cache.close();
