/**
 * README.md's quickstart, run the way a reader runs it: as a script, in a folder holding
 * `templates/`. It must print what the README says and exit by itself (a store left open keeps
 * Node running: the quickstart used to hang on Redis).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REDIS_URL } from '../support/env.js';
import { ROOT, enterSite, parseBlocks } from './support/docs.js';
import { readFileSync } from 'node:fs';

let site: ReturnType<typeof enterSite>;
beforeAll(() => {
  site = enterSite();
});
afterAll(() => site.leave());

function quickstartOutput(): string {
  const block = parseBlocks('README.md', readFileSync(join(ROOT, 'README.md'), 'utf8')).find((b) => b.marker?.kind === 'output' && b.marker.ref === 'quickstart');
  if (block === undefined) throw new Error('README.md has no <!-- output: quickstart --> block');
  return block.text;
}

it.each([
  ['Redis', REDIS_URL ?? 'redis://127.0.0.1:6379/0'],
  ['SQLite', 'sqlite://cache.db'],
])('runs and exits by itself on %s', async (_name, url) => {
  const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const { stdout, exitCode } = await new Promise<{ stdout: string; exitCode: number | null }>((resolve) => {
    // No kill on timeout before vitest's own: a script that hangs is the failure this test exists for.
    const child = execFile(process.execPath, [tsx, join(ROOT, 'test/docs/examples/quickstart.ts')], { cwd: site.dir, env: { ...process.env, CACHE_URL: url }, timeout: 15_000 }, (_error, out) => resolve({ stdout: out, exitCode: child.exitCode }));
  });
  expect(exitCode).toBe(0);
  expect(stdout.trim()).toBe(quickstartOutput());
}, 20_000);
