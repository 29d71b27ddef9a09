/**
 * Memory bounds of the read plans (100,000 keys over all plans) and of the change log (10,000
 * keys), measured as retained heap after a full GC in a child process (memory-probe.ts).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const probe = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));
const MiB = 1024 * 1024;

describe('prefetch bookkeeping stays bounded', () => {
  it('40,000 more distinct templates, and a 100,000-key deleteMany, leave the heap where it was', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', probe], { maxBuffer: MiB });
    const retained = JSON.parse(stdout) as Record<string, number>;
    // Unbounded (both bounds raised a thousandfold), the plans retained ~87 MiB here and the log
    // ~13 MiB: 40,000 templates (120,000 lookups, each tagged) are far past the plans' bound.
    expect(retained.plans).toBeLessThan(8 * MiB);
    expect(retained.changeLog).toBeLessThan(4 * MiB);
  }, 120_000);
});
