/**
 * Run by prefetch-memory.test.ts in a child started with `node --expose-gc`: the heap the read plans
 * and the change log retain after many distinct templates, keys and a huge deleteMany, as JSON.
 */
import { createCache } from '../../src/index.js';
import type { Store } from '../../src/stores.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const settle = (): number => {
  for (let i = 0; i < 4; i += 1) gc!();
  return process.memoryUsage().heapUsed;
};

// A store that keeps nothing: what is retained is the cache's own bookkeeping.
const done = Promise.resolve();
const store: Store = {
  kind: 'void',
  get: async () => undefined,
  getMany: async (keys) => keys.map(() => undefined),
  set: () => done,
  setMany: () => done,
  delete: async () => false,
  deleteMany: () => done,
  clear: () => done,
  close: () => done,
};
const cache = createCache({ store, keyPrefix: 'x'.repeat(40) });
const pad = 'k'.repeat(60);

async function templates(from: number, n: number): Promise<void> {
  for (let t = from; t < from + n; t += 1) {
    const scope = cache.readScope(`template-${t}-${pad}`);
    for (let i = 0; i < 3; i += 1) await cache.fetch(`t${t}-card-${i}-${pad}`, () => 'x', { scope, tags: [`tag-${t}-${i}`] });
    scope.end();
  }
}

const results: Record<string, number> = {};
await templates(0, 20_000); // warm up every table to its bound
const before = settle();
await templates(1_000_000, 40_000);
results.plans = settle() - before;

const beforeDelete = settle();
await cache.deleteMany(Array.from({ length: 100_000 }, (_, i) => `deleted-${i}-${pad}`));
results.changeLog = settle() - beforeDelete;
process.stdout.write(JSON.stringify(results));
await cache.close();
