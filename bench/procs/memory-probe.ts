/**
 * Child process for the memory rows (run with --expose-gc, alone, so nothing else shares its heap).
 *
 *   memory-probe.ts <entries>
 *
 * Stores <entries> card fragments in a fresh memory-store cache, through `cache.fetch` with a digest
 * and label exactly as the cache tag does, then reads each once as a warm page would (`cache.peek`,
 * the tag's synchronous path, where the store has one), and reports heap growth per entry after
 * full GCs (stored, and stored then read), the store's own byte accounting, and the peak RSS.
 */
import { createCache, fragmentKey } from '../lib/library.js';
import { createPageFixture } from '../fixtures/page.js';
import { report, reportFailure } from '../lib/child.js';

declare const gc: () => void;

export interface MemoryProbeResult {
  entries: number;
  held: number;
  /** Mean characters of fragment HTML (one byte each here: the page is Latin-1). */
  htmlChars: number;
  /** Heap growth per entry once stored. */
  storedHeapBytesPerEntry: number;
  /** Heap growth per entry once stored and read once (what a warm cache holds). */
  heapBytesPerEntry: number;
  storeBytesPerEntry: number;
  /** Whether reads went through a synchronous `peek` (which may keep a parsed copy). */
  peeked: boolean;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  peakRssBytes: number;
}

function settle(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  const entries = Number(process.argv[2]);
  if (!(entries > 0)) throw new Error('usage: memory-probe.ts <entries>');

  // Real card HTML, from one render of the bench page.
  const fixture = await createPageFixture();
  const scratch = createCache({ store: 'memory' });
  await fixture.view(fixture.environment(scratch), 'page.njk', 0);
  const cards: string[] = [];
  for (const post of fixture.db.frontPage) cards.push((await scratch.get<string>(fragmentKey('card', [post.id, post.updatedAt]))) as string);
  await scratch.close();
  await fixture.close();

  // Budget far above what we store: this measures cost per entry, not eviction.
  const cache = createCache({ store: 'memory://?maxBytes=4294967296' });
  await cache.set('boot', 'x'); // load Keyv and the LRU before the baseline
  await cache.delete('boot');
  const template = cards[0] as string;
  const html = (i: number) => template.replaceAll('post-200', `post-${i}`);
  const sample = html(123_456);
  const digest = '9f2c1e0a7b3d5f68';

  const rssBefore = process.memoryUsage().rss;
  const heapBefore = settle();
  for (let i = 0; i < entries; i++) {
    const value = html(i);
    await cache.fetch(fragmentKey('card', [i, 1_700_000_000_000 + i]), () => value, { ttl: 600, digest, label: 'card' });
  }
  const heapStored = settle();
  const options = { ttl: 600, digest, label: 'card' };
  const peek = (cache as { peek?: (key: string, o: typeof options) => { value: unknown } | undefined }).peek?.bind(cache);
  let hits = 0;
  for (let i = 0; i < entries; i++) {
    const key = fragmentKey('card', [i, 1_700_000_000_000 + i]);
    const found = peek ? peek(key, options) : undefined;
    if (found !== undefined || (await cache.fetch(key, () => 'miss', options)).status === 'hit') hits += 1;
  }
  if (hits !== entries) throw new Error(`memory probe: ${entries - hits} of ${entries} reads missed`);
  const heapAfter = settle();
  const usage = await cache.usage();
  const result: MemoryProbeResult = {
    entries,
    held: usage.entries ?? Number.NaN,
    htmlChars: sample.length,
    storedHeapBytesPerEntry: (heapStored - heapBefore) / entries,
    heapBytesPerEntry: (heapAfter - heapBefore) / entries,
    peeked: peek !== undefined,
    storeBytesPerEntry: (usage.bytes ?? Number.NaN) / entries,
    rssBeforeBytes: rssBefore,
    rssAfterBytes: process.memoryUsage().rss,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  await report(result);
  await cache.close();
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    await reportFailure(error);
    process.exit(1);
  },
);
