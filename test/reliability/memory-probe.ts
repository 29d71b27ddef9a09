/**
 * Run by memory.test.ts in a child process started with `node --expose-gc`: drives a million
 * distinct keys through each in-process table and prints, as JSON, the heap each scenario leaves
 * behind after a full GC (bytes), next to the bound docs/reliability.md states for it.
 */
import { createCache, fragmentKey } from '../../src/index.js';
import type { Store } from '../../src/stores.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function settle(): number {
  for (let i = 0; i < 4; i += 1) gc!();
  return process.memoryUsage().heapUsed;
}

const times: number[] = [];

async function retained(run: () => void | Promise<void>): Promise<number> {
  const before = settle();
  const t = performance.now();
  await run();
  times.push(Math.round(performance.now() - t));
  return settle() - before;
}

const MILLION = 1_000_000;
/** Lookups through the whole engine cost ~15 µs each here: 100,000 keep the suite quick (the table bound is 1,000). */
const FETCHES = 100_000;
const results: Record<string, number> = {};
let labels = 0;

// The fragment-key memo: distinct primitive ids, ids beside an object, and long strings.
results.fragmentKeyPrimitive = await retained(() => {
  for (let i = 0; i < MILLION; i += 1) fragmentKey('card', [`user-${i}`, 1]);
});
results.fragmentKeyWithObject = await retained(() => {
  for (let i = 0; i < MILLION / 5; i += 1) fragmentKey('card', [`user-${i}`, { page: 1 }]);
});
results.fragmentKeyLongStrings = await retained(() => {
  const base = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 3_000; i += 1) fragmentKey('card', [`${i}${base}`]);
});

// Each cache's stored-key memo.
const cache = createCache();
results.storedKeyMemo = await retained(() => {
  for (let i = 0; i < MILLION; i += 1) cache.makeKey(`key-${i}`);
});

// Per-label stats and in-flight tables: a store that always fails, behind an open breaker, so
// each lookup is a miss that renders (counted under its label) without store work.
const done = Promise.resolve();
const nothing: Store = {
  kind: 'nothing',
  get: () => Promise.resolve(undefined),
  getMany: (keys) => Promise.resolve(keys.map(() => undefined)),
  set: () => done,
  setMany: () => done,
  delete: () => Promise.resolve(false),
  deleteMany: () => done,
  clear: () => done,
  close: () => done,
};
const down = createCache({ store: nothing });
results.labelsAndFlights = await retained(async () => {
  const produce = () => 1;
  for (let i = 0; i < FETCHES; i += 1_000) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < i + 1_000; j += 1) batch.push(down.fetch(`k${j}`, produce, { label: `label-${j}` }));
    await Promise.all(batch);
  }
});
labels = Object.keys(down.stats().byLabel).length;

process.stdout.write(JSON.stringify({ retained: results, labels, ms: times }));
