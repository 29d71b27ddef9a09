/**
 * The package as a user meets it: packed with `npm pack`, installed with `nunjucks` into an empty
 * folder (from npm's cache when it has the packages, else from the registry). Store drivers are
 * optional peers, so the install is small and compiles nothing, and a store URL whose driver is
 * missing fails at once, naming the package to install.
 *
 * Needs `dist/` (`npm test` builds it first; run `npm run build` before running this file alone).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

let work: string;
let app: string;
let tarball: string;
let packed: string[];
let installWarnings: string;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/src/index.js'))) await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
  work = mkdtempSync(join(tmpdir(), 'njkc-pack-'));
  // --ignore-scripts: dist/ is already built; `prepack` would only build it again.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT });
  const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, (info as { filename: string }).filename);
  packed = (info as { files: Array<{ path: string }> }).files.map((f) => f.path);
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'an-app', private: true, type: 'module' }));
  const install = await run('npm', ['install', ...NPM_FLAGS.filter((f) => !f.startsWith('--loglevel')), tarball, 'nunjucks'], { cwd: app, timeout: 170_000 });
  installWarnings = install.stderr;
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Every package folder npm installed (its own lock file lists them). */
function installed(): string[] {
  const lock = JSON.parse(readFileSync(join(app, 'node_modules/.package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
  return Object.keys(lock.packages).filter((p) => p !== '').map((p) => p.replace(/^.*node_modules\//, ''));
}

function filesUnder(dir: string, found: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) filesUnder(path, found);
    else found.push(path);
  }
  return found;
}

async function node(script: string): Promise<string> {
  writeFileSync(join(app, 'check.mjs'), script);
  const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: app, timeout: 20_000 });
  return stdout.trim();
}

describe('the packed tarball', () => {
  it('carries the licence, no install script, and source maps only with their sources', () => {
    expect(packed).toContain('LICENSE');
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/nunjucks-fragment-cache/package.json'), 'utf8')) as { scripts?: Record<string, string> };
    // npm runs `prepare` for a git or folder install, and warns about it on every install.
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts?.[hook], hook).toBeUndefined();
    const maps = packed.filter((p) => p.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(app, 'node_modules/nunjucks-fragment-cache', map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const path = normalize(join(dirname(map), source));
        if (!packed.includes(path)) missing.push(`${map} → ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('npm install <tarball> nunjucks', () => {
  it('runs no install script (npm has nothing to warn about)', () => {
    expect(installWarnings).not.toMatch(/install-scripts|gyp/);
  });

  it('installs at most 15 packages, no store driver and no native module', () => {
    const names = installed();
    expect(names.length, names.join(', ')).toBeLessThanOrEqual(15);
    for (const driver of ['@keyv/redis', '@keyv/sqlite', '@keyv/postgres', 'sqlite3', 'better-sqlite3', 'pg']) expect(names).not.toContain(driver);
    const native = filesUnder(join(app, 'node_modules')).filter((f) => f.endsWith('.node') || f.endsWith('binding.gyp'));
    expect(native).toEqual([]);
  });

  it('caches a template fragment in memory out of the box', async () => {
    const out = await node(`
      import nunjucks from 'nunjucks';
      import { createCache, installCache, renderString } from 'nunjucks-fragment-cache';
      const cache = createCache();
      const env = installCache(new nunjucks.Environment(), cache);
      let renders = 0;
      env.addGlobal('work', () => ++renders);
      const t = '{% cache 60 box %}<b>{{ work() }}</b>{% endcache %}';
      console.log(await renderString(env, t), await renderString(env, t), renders);
      await cache.close();
    `);
    expect(out).toBe('<b>1</b> <b>1</b> 1');
  });

  it.each([
    ['redis://127.0.0.1:6379/0', '@keyv/redis'],
    ['sqlite://cache.db', '@keyv/sqlite'],
    ['postgres://postgres@127.0.0.1:5432/app', '@keyv/postgres'],
  ])('createCache({ store: %j }) without its driver fails naming %s', async (url, pkg) => {
    const out = await node(`
      import { createCache } from 'nunjucks-fragment-cache';
      try {
        createCache({ store: ${JSON.stringify(url)} });
        console.log('created');
      } catch (error) {
        console.log(error.name, error.code, error.message);
      }
    `);
    expect(out).toMatch(/^MissingDriverError ERR_CACHE_DRIVER_MISSING /);
    expect(out).toContain(`npm i ${pkg}`);
    expect(existsSync(join(app, 'cache.db'))).toBe(false);
  });

  it('works with Redis once @keyv/redis is installed', async () => {
    await run('npm', ['install', ...NPM_FLAGS, '@keyv/redis@5'], { cwd: app, timeout: 170_000 });
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
    const out = await node(`
      import { createCache } from 'nunjucks-fragment-cache';
      const cache = createCache({ store: ${JSON.stringify(url)}, keyPrefix: 'pack-test-${process.pid}' });
      await cache.connect();
      await cache.set('k', 'from redis', 60);
      console.log(await cache.get('k'));
      await cache.delete('k');
      await cache.close();
    `);
    expect(out).toBe('from redis');
  }, 180_000);
});
