/**
 * Run by bubbling.test.ts in a child started with `node --expose-gc`: the heap the read plans retain
 * after many templates whose entries learned many tags (each lookup's group grows by the tokens of
 * the tags its entry learned), as JSON.
 */
import { createCache } from '../../src/index.js';
import type { Store } from '../../src/stores.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const settle = (): number => {
  for (let i = 0; i < 4; i += 1) gc!();
  return process.memoryUsage().heapUsed;
};

// Every entry is the same envelope, which learned 900 tags: what is retained is the cache's own
// bookkeeping, not the store's.
const TAGS = Array.from({ length: 900 }, (_, i) => `post:${i}`);
const envelope = { njkc: 1, v: 'x', exp: null, fresh: null, tags: Object.fromEntries(TAGS.map((tag) => [tag, 'token'])), lt: TAGS };
const done = Promise.resolve();
const read = (key: string): unknown => (key.includes(':tag:') ? 'token' : envelope);
const store: Store = {
  kind: 'fixed',
  get: async (key) => read(key),
  getMany: async (keys) => keys.map(read),
  set: () => done,
  setMany: () => done,
  delete: async () => false,
  deleteMany: () => done,
  clear: () => done,
  close: () => done,
};
const cache = createCache({ store });

async function templates(from: number, n: number): Promise<void> {
  for (let t = from; t < from + n; t += 1) {
    const scope = cache.readScope(`template-${t}`);
    await cache.fetch(`entry-${t}`, () => 'x', { scope });
    scope.end();
  }
}

await templates(0, 100);
const before = settle();
await templates(1_000, 20_000);
process.stdout.write(JSON.stringify({ plans: settle() - before }));
await cache.close();
