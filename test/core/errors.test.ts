/**
 * One error family: everything the library throws is a `CacheError` with a stable `code`, the same
 * mistake gets the same class whatever the store, and docs/api.md lists every code with its class.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CacheError, PageCacheError, StoreSpecError } from '../../src/index.js';
import { renderView } from '../../src/nunjucks.js';
import { cacheControl } from '../../src/http.js';
import { createMemoryStore, createSqliteStore, createStore, createTieredStore } from '../../src/stores.js';
import nunjucks from 'nunjucks';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir = join(ROOT, 'src'), found: Array<[string, string]> = []): Array<[string, string]> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sources(path, found);
    else if (entry.name.endsWith('.ts')) found.push([path.slice(ROOT.length), readFileSync(path, 'utf8')]);
  }
  return found;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('errors', () => {
  it('src/ creates no bare Error, TypeError or RangeError (the CLI, a program, prints its own)', () => {
    const bare = sources()
      .filter(([path]) => !path.startsWith('src/cli/'))
      .flatMap(([path, text]) => text.split('\n').map((line, i) => [`${path}:${i + 1}`, line] as const))
      .filter(([, line]) => /new (Range|Type)?Error\(/.test(line))
      .map(([where]) => where);
    expect(bare).toEqual([]);
  });

  it('gives the same mistake the same class whatever the store', () => {
    const mistakes = [
      () => createStore('sqlite://x.db?table=bad-name'),
      () => createStore('memory://?maxBytes=lots'),
      () => createSqliteStore({ path: 'x.db', table: 'bad-name' }),
      () => createMemoryStore({ maxBytes: -1 }),
      () => createStore('postgres://u@127.0.0.1/db?table=bad-name'),
      () => createTieredStore(createMemoryStore(), {} as never),
    ];
    for (const mistake of mistakes) {
      const error = thrown(mistake);
      expect(error).toBeInstanceOf(StoreSpecError);
      expect(error).toMatchObject({ code: 'ERR_CACHE_STORE_SPEC' });
    }
  });

  it('makes page and view errors CacheErrors too', async () => {
    const page = thrown(() => cacheControl({ maxAge: -1 }));
    expect(page).toBeInstanceOf(PageCacheError);
    expect(page).toBeInstanceOf(CacheError);
    expect(page).toMatchObject({ code: 'ERR_PAGE_OPTIONS' });
    const view = await renderView(new nunjucks.Environment(), 'x.njk', {}, { key: 1 }).catch((e: unknown) => e);
    expect(view).toBeInstanceOf(CacheError);
    expect(view).toMatchObject({ code: 'ERR_CACHE_OPTIONS' });
  });

  it('lists every code in docs/api.md with its class, and no other', async () => {
    const union = /export type CacheErrorCode =([^;]*);/.exec(readFileSync(join(ROOT, 'src/contracts/errors.ts'), 'utf8'))?.[1] ?? '';
    const codes = [...union.matchAll(/'(ERR_\w+)'/g)].map((m) => m[1]).sort();
    const page = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
    const rows = [...page.matchAll(/^\| `(ERR_\w+)` \| `(\w+)`/gm)].map((m) => [m[1], m[2]] as const);
    expect(rows.map(([code]) => code).sort()).toEqual(codes);
    const exported = new Set(Object.keys(await import('../../src/index.js')));
    for (const [, cls] of rows) expect(exported.has(cls as string), cls).toBe(true);
  });
});
