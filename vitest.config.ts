import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The files that take longest (measured: `npx vitest run --reporter=json`), started first so that
 * no long file is left running alone at the end. Without this, a fresh clone (no results cache)
 * starts the largest files first, and these are small files.
 */
const SLOW_FIRST = [
  'test/reliability/page-race.test.ts',
  'test/cli/cli.test.ts',
  'test/scale/processes.test.ts',
  'test/stores/redis-cluster.test.ts',
  'test/attack/prefetch-memory.test.ts',
  'test/reliability/memory.test.ts',
  'test/attack/bubbling.test.ts',
  'test/package/install.test.ts',
  'test/browser/demo.test.ts',
];

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification): number => {
      const index = SLOW_FIRST.findIndex((name) => file.moduleId.endsWith(name));
      return index === -1 ? SLOW_FIRST.length : index;
    };
    return sorted.map((file, order) => ({ file, order })).sort((a, b) => rank(a.file) - rank(b.file) || a.order - b.order).map(({ file }) => file);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Store suites share one Redis; files run in parallel workers but each uses its own key prefix.
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: on the two-core CI machine, one file at a
    // time. Most files wait on Redis, PostgreSQL, child processes or sockets, so two run side by side.
    maxWorkers: 2,
    sequence: { sequencer: SlowFirst },
  },
});
