/**
 * The package as a user meets it: packed with `npm pack`, installed with `nunjucks` into an empty
 * folder (from npm's cache when it has the packages, else from the registry). Store drivers are
 * optional peers, so the install is small and compiles nothing, and a store URL whose driver is
 * missing fails at once, naming the package to install. Every entry point (`.`, `./nunjucks`,
 * `./http`, `./stores`, `./testing`) imports from the installed package, with its types.
 *
 * Needs `dist/` (`npm test` builds it first; run `npm run build` before running this file alone).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';
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
      import { createCache } from 'nunjucks-fragment-cache';
      import { installCache, renderString } from 'nunjucks-fragment-cache/nunjucks';
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

  /** package.json's entry points: `nunjucks-fragment-cache/http` → `src/http.ts`. */
  const entries = (): Array<[string, string]> => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { default: string }> };
    return Object.entries(pkg.exports).flatMap(([subpath, target]) =>
      typeof target === 'string' ? [] : [[subpath === '.' ? pkg.name : `${pkg.name}${subpath.slice(1)}`, target.default.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts')] as [string, string]],
    );
  };

  it('imports every entry point from the installed package, each with the names its source exports', async () => {
    expect(entries().map(([specifier]) => specifier)).toEqual(['nunjucks-fragment-cache', 'nunjucks-fragment-cache/nunjucks', 'nunjucks-fragment-cache/http', 'nunjucks-fragment-cache/stores', 'nunjucks-fragment-cache/testing']);
    const out = await node(`
      const names = {};
      for (const specifier of ${JSON.stringify(entries().map(([specifier]) => specifier))}) names[specifier] = Object.keys(await import(specifier)).sort();
      console.log(JSON.stringify(names));
    `);
    const expected: Record<string, string[]> = {};
    for (const [specifier, source] of entries()) expected[specifier] = Object.keys((await import(pathToFileURL(join(ROOT, source)).href)) as object).sort();
    expect(JSON.parse(out)).toEqual(expected);
    // Internals are not reachable: only the declared entry points resolve.
    await expect(node(`await import('nunjucks-fragment-cache/dist/src/core/keys.js');`)).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  it('type-checks an app that imports every entry point (types of each subpath)', async () => {
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] }, files: ['types.ts'] }));
    writeFileSync(join(app, 'types.ts'), `
      import { createCache, type Cache, type CacheTypes } from 'nunjucks-fragment-cache';
      import { createEnvironment, type RenderViewOptions } from 'nunjucks-fragment-cache/nunjucks';
      import { cachePage, type HttpTypes } from 'nunjucks-fragment-cache/http';
      import { createMemoryStore, type Store, type StoreTypes } from 'nunjucks-fragment-cache/stores';
      import { ManualClock, describeStoreConformance, type ConformanceOptions } from 'nunjucks-fragment-cache/testing';
      const store: Store = createMemoryStore();
      const cache: Cache = createCache({ store, clock: new ManualClock() });
      const fetchOptions: CacheTypes.FetchOptions = { ttl: 60 };
      const view: RenderViewOptions = { key: 1 };
      const edge: HttpTypes.EdgeProxy = 'varnish';
      const usage: StoreTypes.StoreUsage = {};
      const suite: ConformanceOptions = { makeStore: () => createMemoryStore() };
      export { cache, fetchOptions, view, edge, usage, suite, createEnvironment, cachePage, describeStoreConformance };
    `);
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, timeout: 60_000 }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }));
    expect(result.stdout).toBe('');
  }, 90_000);

  it('runs the store conformance suite from ./testing without vitest installed (the runner is a parameter)', async () => {
    expect(installed()).not.toContain('vitest');
    const out = await node(`
      import assert from 'node:assert/strict';
      import { createMemoryStore } from 'nunjucks-fragment-cache/stores';
      import { describeStoreConformance } from 'nunjucks-fragment-cache/testing';
      // A runner of a few lines, on node:assert: what the suite needs of one.
      const tests = [], after = [], path = [];
      const matches = (actual, expected) => Object.entries(expected).every(([k, v]) => (v !== null && typeof v === 'object' ? matches(actual?.[k], v) : Object.is(actual?.[k], v)));
      const runner = {
        describe: (name, body) => { path.push(name); body(); path.pop(); },
        it: (name, body) => tests.push([[...path, name].join(' > '), body]),
        afterEach: (body) => after.push(body),
        expect: (actual) => ({
          toBe: (expected) => assert.ok(Object.is(actual, expected), String(actual) + ' is not ' + String(expected)),
          toEqual: (expected) => assert.deepStrictEqual(actual, expected),
          toBeUndefined: () => assert.equal(actual, undefined),
          toMatchObject: (expected) => assert.ok(matches(actual, expected)),
          rejects: {
            toThrow: (pattern) => assert.rejects(actual, pattern),
            toMatchObject: (expected) => assert.rejects(actual, (error) => matches(error, expected)),
            toBeInstanceOf: (cls) => assert.rejects(actual, cls),
          },
        }),
      };
      describeStoreConformance(runner, 'memory', { makeStore: () => createMemoryStore() });
      const failed = [];
      for (const [name, body] of tests) {
        try { await body(); } catch (error) { failed.push(name + ': ' + error.message); }
        for (const hook of after) await hook();
      }
      console.log(tests.length, failed.length === 0 ? 'passed' : failed.join(' | '));
    `);
    expect(out).toMatch(/^\d+ passed$/);
    expect(Number(out.split(' ')[0])).toBeGreaterThan(40);
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
