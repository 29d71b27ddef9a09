/**
 * The library under test, as users run it: `src/` compiled by tsc, as `npm run build` ships it.
 * Not `src/` through tsx: tsx compiles with esbuild's keepNames, which wraps every closure in a
 * `__name()` call, and the tag creates several closures per fragment; that would be measured too.
 *
 * The first process to import this compiles `src/` into bench/.build/<pid>/ (removed at exit) and
 * passes the path to its child processes in NJKC_BENCH_LIB, so servers and probes load the same
 * build. `NJKC_BENCH_LIB=src` loads `src/` through tsx instead: quicker to start, slower to run.
 * Only the public entry points are loaded (`.`, `./nunjucks`, `./http`, `./stores`), as a user would.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Root from '../../src/index.js';
import type * as Http from '../../src/http.js';
import type * as Nunjucks from '../../src/nunjucks.js';
import type * as Stores from '../../src/stores.js';

export type * from '../../src/index.js';
export type * from '../../src/nunjucks.js';
export type * from '../../src/http.js';
export type * from '../../src/stores.js';

type Library = typeof Root & typeof Nunjucks & typeof Http & typeof Stores;

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function build(): string {
  const out = join(root, 'bench', '.build', `${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  process.on('exit', () => rmSync(out, { recursive: true, force: true }));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const started = Date.now();
  try {
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', out, '--declaration', 'false', '--declarationMap', 'false', '--incremental', 'false'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    // Type errors still emit JavaScript; go on if it is there, and say so.
    const output = String((error as { stdout?: Buffer }).stdout ?? '').trim();
    if (!existsSync(join(out, 'src', 'index.js'))) throw new Error(`bench: compiling src/ failed:\n${output}`);
    process.stderr.write(`bench: warning: src/ has type errors; measuring the JavaScript tsc emitted anyway:\n${output.split('\n').slice(0, 5).join('\n')}\n`);
  }
  process.stderr.write(`bench: compiled src/ with tsc in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return join(out, 'src', 'index.js');
}

function locate(): string {
  const given = process.env.NJKC_BENCH_LIB;
  if (given === 'src') return join(root, 'src', 'index.ts');
  if (given) return given;
  const built = build();
  process.env.NJKC_BENCH_LIB = built;
  return built;
}

export const libraryPath = locate();
/** One entry point, next to the main one (`index.js` → `http.js`, or `.ts` under tsx). */
const entry = async (name: string): Promise<object> => (await import(pathToFileURL(join(dirname(libraryPath), `${name}${extname(libraryPath)}`)).href)) as object;
const lib = { ...(await entry('index')), ...(await entry('nunjucks')), ...(await entry('http')), ...(await entry('stores')) } as Library;

export const { cachePage, createCache, createEnvironment, createPostgresStore, createRedisBus, createRedisStore, createSqliteStore, createMemoryStore, createTieredStore, fragmentKey, render } = lib;
export { lib };
