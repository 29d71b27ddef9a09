/**
 * Bounded memory: every in-process table the library keeps (memos, in-flight maps, per-label
 * stats) stays inside its stated bound however many distinct keys go through it. Measured as heap
 * retained after a full GC, in a child process started with `--expose-gc` (memory-probe.ts), so
 * the numbers are not disturbed by the test runner. The bounds are the ones docs/reliability.md
 * states; before they existed, the first scenario kept 234 MB.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const MiB = 1024 * 1024;
const probe = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));

interface ProbeResult {
  retained: Record<string, number>;
  labels: number;
  ms: number[];
}

describe('bounded memory (heap retained after GC, in a --expose-gc child)', () => {
  let result: ProbeResult | undefined;
  const run = async (): Promise<ProbeResult> => {
    if (result === undefined) {
      const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', probe], { maxBuffer: MiB });
      result = JSON.parse(stdout) as ProbeResult;
    }
    return result;
  };

  it('the fragment-key memo: a million distinct ids keep at most its 10,000 entries (≤ 6 MiB of heap)', { timeout: 120_000 }, async () => {
    const { retained } = await run();
    expect(retained.fragmentKeyPrimitive).toBeLessThan(6 * MiB);
    // ids beside an object, and 3,000 distinct 64 KB strings, are never held at all
    expect(retained.fragmentKeyWithObject).toBeLessThan(1 * MiB);
    expect(retained.fragmentKeyLongStrings).toBeLessThan(1 * MiB);
  });

  it("each cache's stored-key memo: a million distinct keys keep at most 10,000 entries (≤ 6 MiB)", { timeout: 120_000 }, async () => {
    const { retained } = await run();
    expect(retained.storedKeyMemo).toBeLessThan(6 * MiB);
  });

  it('per-label stats and in-flight tables: distinct labels beyond 1,000 share one row; settled flights leave nothing', { timeout: 120_000 }, async () => {
    const { retained, labels } = await run();
    expect(labels).toBe(1_001);
    // the table, plus that cache's own stored-key memo (full after 250,000 keys)
    expect(retained.labelsAndFlights).toBeLessThan(8 * MiB);
  });
});
