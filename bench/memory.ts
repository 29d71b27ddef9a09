/**
 * Memory rows: what one cached fragment costs in the memory store, and the peak RSS of a process
 * holding 100,000 of them. Each probe runs in a fresh child process (procs/memory-probe.ts) with
 * `--expose-gc`, so the heap holds nothing but the cache and the numbers are not skewed by the
 * other groups.
 */
import { runChild } from './lib/child.js';
import type { BenchContext, GroupResult, Row } from './lib/types.js';
import type { MemoryProbeResult } from './procs/memory-probe.js';

const PROBE = new URL('./procs/memory-probe.ts', import.meta.url);
const MiB = 1024 * 1024;

export async function runMemory(context: BenchContext): Promise<GroupResult> {
  const perEntryCount = context.quick ? 5_000 : 20_000;
  const rssCount = context.quick ? 20_000 : 100_000;
  const probe = (entries: number) => runChild<MemoryProbeResult>(PROBE, [String(entries)], { nodeFlags: ['--expose-gc'], timeoutMs: 180_000 });

  const small = await probe(perEntryCount);
  context.log(`memory: ${small.entries} entries, ${small.heapBytesPerEntry.toFixed(0)} heap bytes each`);
  const large = await probe(rssCount);
  context.log(`memory: ${large.entries} entries, peak RSS ${(large.peakRssBytes / MiB).toFixed(0)} MiB`);
  for (const r of [small, large]) {
    if (r.held !== r.entries) throw new Error(`bench: the memory store held ${r.held} of ${r.entries} entries (evicted?)`);
  }

  const rows: Row[] = [
    {
      id: 'memory.bytes-per-fragment',
      label: 'Memory store, bytes per cached fragment',
      value: small.heapBytesPerEntry,
      unit: 'B',
      baseline: { label: 'fragment HTML', value: small.htmlChars, unit: 'B' },
      ratio: small.heapBytesPerEntry / small.htmlChars,
      ratioMeaning: 'heap ÷ HTML',
      note:
        `V8 heap growth after GC over ${small.entries.toLocaleString('en-US')} card fragments stored through cache.fetch, then read once${small.peeked ? ' through cache.peek' : ''} as a warm page reads them; ` +
        `${small.storedHeapBytesPerEntry.toFixed(0)} B each before the read; the store's own byte accounting says ${small.storeBytesPerEntry.toFixed(0)} B each`,
    },
    {
      id: 'memory.peak-rss-100k',
      label: `Peak RSS, ${large.entries.toLocaleString('en-US')} fragments in the memory store`,
      value: large.peakRssBytes / MiB,
      unit: 'MiB',
      baseline: { label: 'before storing', value: large.rssBeforeBytes / MiB, unit: 'MiB' },
      note: `${((large.peakRssBytes - large.rssBeforeBytes) / large.entries).toFixed(0)} B of RSS growth per entry; ${large.heapBytesPerEntry.toFixed(0)} B of heap per entry at this size`,
    },
  ];
  return { group: 'memory', rows, skipped: [], detail: { perEntry: small, rss: large } };
}
