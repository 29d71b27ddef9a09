/**
 * docs/api.md: its table of entry points names exactly what each entry point exports, every export
 * has a section whose signature is printed from the source, and the short examples there run here.
 */
import { Keyv } from 'keyv';
import nunjucks from 'nunjucks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CacheError,
  type Cache,
  type CacheOptions,
  CircuitOpenError,
  createCache,
  defaultKeyFunction,
  encodeVaryOn,
  formatVaryOn,
  fragmentKey,
  parseVaryOn,
  StoreSpecError,
  StoreTimeoutError,
  viewKey,
} from '../../src/index.js';
import { CacheExtension, createEnvironment, installCache, render, renderString, renderView, cacheOf } from '../../src/nunjucks.js';
import { createMemoryStore, createStore, DEFAULT_MEMORY_BYTES, type Store } from '../../src/stores.js';
import { ManualClock } from '../../src/testing.js';
import { Cache as CacheClass } from '../../src/core/cache.js';
import { createMapStore } from './examples/map-store.js';
import { ENTRY_POINTS, ROOT, blocksOf, enterSite, readPage } from './support/docs.js';
import { classMembers, publicExports, signatureOf } from './support/signatures.js';

/**
 * The cache, with the result of every method call recorded, so the results the examples state in
 * comments (`// 'hello'`) can be checked without changing the examples.
 */
function recording(cache: Cache): { cache: Cache; results: unknown[] } {
  const results: unknown[] = [];
  const proxy = new Proxy(cache, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || property === 'on' || property === 'emit') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) return result.then((settled) => (results.push(settled), settled));
        results.push(result);
        return result;
      };
    },
  });
  return { cache: proxy, results };
}

let site: ReturnType<typeof enterSite>;
beforeAll(() => {
  site = enterSite();
});
afterAll(() => site.leave());

/** The `<!-- signature: … -->` blocks of api.md. */
function signatureBlocks(): Map<string, string> {
  const lines = readPage('api.md').split('\n');
  const result = new Map<string, string>();
  for (const block of blocksOf('api.md')) {
    const m = /^<!--\s*signature:\s*(\S+)\s*-->$/.exec((lines[block.line - 2] ?? '').trim());
    if (m) result.set(m[1] as string, block.text);
  }
  return result;
}

/** One row of api.md's table of entry points: the names it lists, sorted. */
interface ListedEntry {
  values: string[];
  types: string[];
}

/** The table under "## Entry points": `| \`specifier\` | what for | values | types |`. */
function listedEntries(): Map<string, ListedEntry> {
  const page = readPage('api.md');
  const section = page.slice(page.indexOf('## Entry points'), page.indexOf('\n## ', page.indexOf('## Entry points') + 1));
  const names = (cell: string) => [...cell.matchAll(/`([\w.]+)`/g)].map((m) => m[1] as string).sort();
  const rows = new Map<string, ListedEntry>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const specifier = /^`([\w/-]+)`$/.exec(cells[1] ?? '')?.[1];
    if (specifier === undefined || !specifier.startsWith('nunjucks-fragment-cache')) continue;
    rows.set(specifier, { values: names(cells[3] ?? ''), types: names(cells[4] ?? '') });
  }
  return rows;
}

/** What an entry point's file exports: values, and types (a namespace's members as `Namespace.Name`). */
function actualEntry(file: string): ListedEntry {
  const exports = publicExports(file);
  return {
    values: exports.filter((e) => !e.typeOnly).map((e) => e.name).sort(),
    types: exports.filter((e) => e.typeOnly).flatMap((e) => [e.name, ...(e.members ?? []).map((m) => `${e.name}.${m}`)]).sort(),
  };
}

describe('api.md lists the public surface per entry point', () => {
  const listed = listedEntries();

  it('has a row for every entry point in package.json, and no other', () => {
    expect([...listed.keys()].sort()).toEqual(Object.keys(ENTRY_POINTS).sort());
  });

  it.each(Object.entries(ENTRY_POINTS))('%s: the names listed are the names exported (%s)', async (specifier, file) => {
    expect(listed.get(specifier)).toEqual(actualEntry(file));
    // …and at run time, the values are exactly what the module holds.
    const loaded = (await import(pathToFileURL(join(ROOT, file)).href)) as Record<string, unknown>;
    expect(Object.keys(loaded).sort()).toEqual(listed.get(specifier)?.values);
  });

  it('keeps every entry point small, with no name exported twice', () => {
    const all = Object.values(ENTRY_POINTS).flatMap((file) => publicExports(file).map((e) => e.name));
    expect(all.filter((name, i) => all.indexOf(name) !== i)).toEqual([]);
    for (const file of Object.values(ENTRY_POINTS)) expect(publicExports(file).length, file).toBeLessThanOrEqual(25);
  });
});

describe('api.md covers the public surface', () => {
  const blocks = signatureBlocks();
  const documented = new Set([...blocks.keys()].flatMap((ref) => {
    const [name = '', members] = ref.split('#');
    return members === undefined ? [name] : members.split(',').map((m) => `${name}#${m}`);
  }));

  it('has a signature for every export of every entry point (a namespace\'s, member by member)', () => {
    const names = Object.values(ENTRY_POINTS).flatMap((file) => publicExports(file).flatMap((e) => (e.members === undefined ? [e.name] : e.members.map((m) => `${e.name}.${m}`))));
    expect(names.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('has a signature for every public member of Cache and ManualClock', () => {
    const missing = ['Cache', 'ManualClock'].flatMap((cls) => classMembers(cls).map((m) => `${cls}#${m}`)).filter((ref) => !documented.has(ref));
    expect(missing).toEqual([]);
  });

  it.each([...blocks.entries()])('%s: the signature shown is the one in src/', (ref, text) => {
    expect(text).toBe(signatureOf(ref));
  });
});

describe('examples', () => {
  it('createCache and Cache', async () => {
    // #region createCache
    const cache = createCache({ store: 'sqlite://cache.db', keyPrefix: 'blog', defaultTtl: 600 });
    await cache.connect(); // optional: wait until the store answers
    // … and at shutdown, so the process can exit:
    await cache.close();
    // #endregion
    expect(cache).toBeInstanceOf(CacheClass);
    // #region makeKey-method
    cache.makeKey('user:42'); // 'blog:1:user:42'
    cache.makeKey('user:42', 3); // 'blog:3:user:42'
    cache.makeKey('a key with spaces'); // 'blog:1:#' + SHA-256 of 'blog:1:a key with spaces'
    // #endregion
    expect([cache.makeKey('user:42'), cache.makeKey('user:42', 3)]).toEqual(['blog:1:user:42', 'blog:3:user:42']);
    expect(cache.makeKey('a key with spaces')).toMatch(/^blog:1:#[0-9a-f]{64}$/);
  });

  it('the low-level methods', async () => {
    const { cache, results } = recording(createCache());
    const take = () => results.splice(0);
    // #region get-set
    await cache.set('greeting', 'hello', 30); // 30 seconds
    await cache.get('greeting'); // 'hello'
    await cache.get('absent', 'fallback'); // 'fallback'
    await cache.set('config', { theme: 'dark' }, null); // never expires
    await cache.set('greeting', 'bye', 0); // false: not stored, and 'greeting' is removed
    // #endregion
    expect(take()).toEqual([true, 'hello', 'fallback', true, false]);
    expect(await cache.get('greeting')).toBeUndefined();
    take();
    // #region add
    await cache.add('lock:report', 'worker-1', 60); // true
    await cache.add('lock:report', 'worker-2', 60); // false: already there
    // #endregion
    expect(take()).toEqual([true, false]);
    // #region getOrSet
    const report = await cache.getOrSet('report', async () => ({ total: 42 }), 3600); // produced once
    // #endregion
    expect(report).toEqual({ total: 42 });
    take();
    // #region many
    await cache.setMany({ a: 1, b: 2 }, 60); // [] (keys not stored)
    await cache.getMany(['a', 'b', 'c']); // Map { 'a' => 1, 'b' => 2 }
    await cache.deleteMany(['a', 'b']);
    // #endregion
    expect(take()).toEqual([[], new Map([['a', 1], ['b', 2]]), undefined]);
    // #region delete-has
    await cache.delete('report'); // true
    await cache.has('report'); // false
    // #endregion
    expect(take()).toEqual([true, false]);
    // #region touch
    await cache.set('session:9', 'data', 60);
    await cache.touch('session:9', 600); // true: now expires 600 s from now
    // #endregion
    expect(take()).toEqual([true, true]);
    // #region incr
    await cache.set('views', 10);
    await cache.incr('views'); // 11
    await cache.incr('views', 5); // 16
    await cache.decr('views', 6); // 10
    // #endregion
    expect(take()).toEqual([true, 11, 16, 10]);
    // #region incrVersion
    await cache.set('menu', '<nav>…</nav>');
    await cache.incrVersion('menu'); // 2: the entry now lives at version 2
    await cache.get('menu', undefined, 2); // '<nav>…</nav>'
    await cache.decrVersion('menu', 1, 2); // 1
    // #endregion
    expect(take()).toEqual([true, 2, '<nav>…</nav>', 1]);
    expect(await cache.get('menu')).toBe('<nav>…</nav>');
    // #region clear-close
    await cache.clear(); // every entry in the store's namespace
    await cache.close(); // release connections and timers
    // #endregion
  });

  it('lease', async () => {
    const cache = createCache();
    // #region lease
    const taken = await cache.lease<string>('summary', { tags: ['reports'] });
    if (taken.lease !== undefined) {
      const html = '<p>summary</p>'; // produce it
      await taken.lease.commit(html, { ttl: 60 }); // true, unless invalidated meanwhile
    }
    // #endregion
    expect(await cache.get('summary')).toBe('<p>summary</p>');
    await cache.close();
  });

  it('readScope', async () => {
    const cache = createCache();
    // #region readScope
    // One render of a report page: its lookups share a scope; the next render of 'report-page'
    // reads everything this one looked up in one store round trip.
    const scope = cache.readScope('report-page');
    const rows = await Promise.all(['row:1', 'row:2'].map((key) => cache.fetch(key, async () => `<tr>${key}</tr>`, { ttl: 60, scope })));
    scope.end();
    // #endregion
    expect(rows.map((row) => row.value)).toEqual(['<tr>row:1</tr>', '<tr>row:2</tr>']);
    await cache.close();
  });

  it('invalidate, fetch, peek, stats', async () => {
    const { cache, results } = recording(createCache());
    const env = createEnvironment('templates', { cache });
    await render(env, 'card.njk', { post: { id: 42, title: 'T', updatedAt: '2026-01-03' } });
    results.splice(0);
    // #region invalidate
    await cache.invalidateFragment('post_card', [42, '2026-01-03']); // true
    await cache.invalidateView('post.njk', 42); // false: no such view cached
    await cache.invalidateTags(['posts', 'user:7']);
    // #endregion
    expect(results.splice(0)).toEqual([true, false, undefined]);
    // #region fetch
    const result = await cache.fetch('report', async () => 'built', { ttl: 60, tags: ['reports'], label: 'report' });
    result.status; // 'miss' (then 'hit'; 'stale' inside the stale window)
    // #endregion
    expect(result).toEqual({ value: 'built', status: 'miss', coalesced: false });
    // #region peek
    const warm = cache.peek('report', { tags: ['reports'], label: 'report' });
    warm?.value; // 'built', synchronously (memory store); undefined when not held in this process
    // #endregion
    expect(warm?.value).toBe('built');
    // #region stats
    const { hits, misses, byLabel } = cache.stats();
    byLabel.report; // { hits: 1, misses: 1, stale: 0, renders: 1, renderMs: …, savedMs: … }
    cache.resetStats();
    await cache.usage(); // { entries: 6, … }: 'report', three tag tokens, two implicit tags (invalidateFragment, invalidateView)
    // #endregion
    expect([hits, misses]).toEqual([1, 2]);
    expect(byLabel.report).toMatchObject({ hits: 1, misses: 1, stale: 0, renders: 1 });
    expect(await cache.usage()).toMatchObject({ entries: 6, maxBytes: 67108864 });
  });

  it('peekValue: the synchronous get, not a lookup', async () => {
    const cache = createCache();
    // #region peekValue
    await cache.set('posts:version', 7, null, { tags: ['posts'] });
    cache.peekValue<number>('posts:version'); // 7, synchronously (memory store); not counted in stats()
    // #endregion
    expect(cache.peekValue<number>('posts:version')).toBe(7);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0 });
    await cache.set('settings', { theme: 'dark' });
    expect(cache.peekValue('settings')).toBeUndefined(); // objects only through get(): no caller may mutate a shared one
    await cache.invalidateTags(['posts']);
    expect(cache.peekValue('posts:version')).toBeUndefined(); // as get(): a tag invalidated, a miss
    expect(await cache.get('posts:version')).toBeUndefined();
    await cache.close();
    const remote = createCache({ store: new Map() }); // no synchronous peek: always undefined
    await remote.set('posts:version', 7);
    expect(remote.peekValue('posts:version')).toBeUndefined();
    expect(await remote.get('posts:version')).toBe(7);
    await remote.close();
  });

  it('events', async () => {
    const cache = createCache();
    const seen: string[] = [];
    // #region events
    cache.on('hit', ({ key, label }) => seen.push(`hit ${label} ${key}`));
    cache.on('miss', ({ key, label }) => seen.push(`miss ${label} ${key}`));
    cache.on('stale', ({ key }) => seen.push(`stale ${key}`));
    cache.on('invalidate', ({ kind, keys, tags }) => seen.push(`invalidate ${kind} ${tags ?? keys ?? ''}`));
    cache.on('error', ({ operation, error }) => console.error(`cache ${operation} failed`, error));
    cache.on('recover', () => console.info('cache store answers again'));
    // #endregion
    await cache.getOrSet('k', 1, 60, { label: 'k' });
    await cache.getOrSet('k', 1, 60, { label: 'k' });
    await cache.invalidateTags(['t']);
    expect(seen).toEqual(['miss k :1:k', 'hit k :1:k', 'invalidate tags t']);
  });

  it('options', () => {
    // #region options
    const options: CacheOptions = {
      store: 'redis://127.0.0.1:6379/0',
      keyPrefix: 'shop',
      version: Number(process.env.CACHE_VERSION ?? 1),
      defaultTtl: 600, // seconds
      timeoutMs: 200, // milliseconds
      breaker: { failureThreshold: 3, cooldownMs: 10_000 },
      staleTtl: 30, // seconds
      maxEntryBytes: 512 * 1024, // bytes
    };
    // #endregion
    expect(options.defaultTtl).toBe(600);
  });

  it('clock', async () => {
    // #region clock
    const clock = new ManualClock(Date.UTC(2026, 0, 1)); // starts at this epoch ms (default: now)
    const cache = createCache({ clock });
    await cache.set('k', 'v', 10);
    clock.advance(11); // seconds
    await cache.get('k'); // undefined
    clock.now(); // 1767225611000
    // #endregion
    expect(await cache.get('k')).toBeUndefined();
    expect(clock.now()).toBe(1767225611000);
  });

  it('errors', async () => {
    const cache = createCache();
    // #region errors
    try {
      await cache.incr('never-set');
    } catch (error) {
      if (error instanceof CacheError && error.code === 'ERR_CACHE_MISSING_KEY') {
        await cache.set('never-set', 1);
      }
    }
    // #endregion
    expect(await cache.get('never-set')).toBe(1);
    expect(() => createStore('nope://')).toThrow(StoreSpecError);
    expect(new StoreTimeoutError('get', 500).code).toBe('ERR_CACHE_STORE_TIMEOUT');
    expect(new CircuitOpenError(100).code).toBe('ERR_CACHE_CIRCUIT_OPEN');
    // #region options-error
    try {
      createCache({ timeoutMs: 0 });
    } catch (error) {
      (error as CacheError).code; // 'ERR_CACHE_OPTIONS'
      (error as CacheError).message; // 'Cache option "timeoutMs" must be a positive number; got 0.'
    }
    // #endregion
    expect(() => createCache({ timeoutMs: 0 })).toThrow('Cache option "timeoutMs" must be a positive number; got 0.');
  });

  it('keys', () => {
    // #region keys
    fragmentKey('sidebar'); // 'fragment:sidebar'
    fragmentKey('post_card', [42, '2026-01-03']); // 'fragment:post_card:465bfb9f59c72222a17ae07c28e7ad69'
    viewKey('posts/show.njk', 42); // 'view:posts%2Fshow.njk:42'
    encodeVaryOn([1, '1', null]); // '[d1,s"1",n]'
    defaultKeyFunction('k', 'blog', 2); // 'blog:2:k', before any hashing
    // #endregion
    expect(fragmentKey('sidebar')).toBe('fragment:sidebar');
    expect(fragmentKey('post_card', [42, '2026-01-03'])).toBe('fragment:post_card:465bfb9f59c72222a17ae07c28e7ad69');
    expect(viewKey('posts/show.njk', 42)).toBe('view:posts%2Fshow.njk:42');
    expect(encodeVaryOn([1, '1', null])).toBe('[d1,s"1",n]');
    expect(defaultKeyFunction('k', 'blog', 2)).toBe('blog:2:k');
  });

  it('vary-on values typed by a person', () => {
    // #region parseVaryOn
    parseVaryOn(['42', '"42"', 'hello']); // [42, '42', 'hello']: JSON when it parses, else the string
    parseVaryOn('42 "hello world"'); // [42, 'hello world']: one line (a form field), split on spaces
    parseVaryOn(['42'], { rawStrings: true }); // ['42']
    formatVaryOn([42, '42']); // '[42, "42"]'
    // #endregion
    expect(parseVaryOn(['42', '"42"', 'hello'])).toEqual([42, '42', 'hello']);
    expect(parseVaryOn('42 "hello world"')).toEqual([42, 'hello world']);
    expect(parseVaryOn(['42'], { rawStrings: true })).toEqual(['42']);
    expect(formatVaryOn([42, '42'])).toBe('[42, "42"]');
  });

  it('stores', async () => {
    // #region createStore
    const store = createStore('sqlite://cache.db?table=pages'); // what createCache does with a URL
    const cache = createCache({ store });
    await cache.close(); // closes the store too
    // #endregion
    expect(store.kind).toBe('sqlite');
    const fromKeyv = createStore(new Keyv({ namespace: 'mine' })); // any Keyv, or a Keyv adapter
    expect(fromKeyv.kind).toBe('keyv');
    // #region createMemoryStore
    const memory = createMemoryStore({ maxBytes: 8 * 1024 * 1024 }); // 8 MiB; default DEFAULT_MEMORY_BYTES (64 MiB)
    // #endregion
    expect(DEFAULT_MEMORY_BYTES).toBe(64 * 1024 * 1024);
    expect(memory.kind).toBe('memory');
    const c2 = createCache({ store: fromKeyv });
    await c2.set('k', 1);
    expect(await c2.get('k')).toBe(1);
  });

  it('nunjucks', async () => {
    const cache = createCache();
    // #region createEnvironment
    const env = createEnvironment('templates', { cache, trimBlocks: true }); // <% %> blocks, autoescape on
    cacheOf(env) === cache; // true
    // #endregion
    expect(cacheOf(env)).toBe(cache);
    // #region installCache
    const own = nunjucks.configure('views', { autoescape: true }); // {% %} blocks
    installCache(own, cache, { tagName: 'cache', resolveFilter: 'resolve', digest: true }); // these are the defaults
    // #endregion
    expect(own.hasExtension('NunjucksFragmentCache')).toBe(true);
    // #region render
    const html = await render(env, 'card.njk', { post: { id: 1, title: 'Hi', updatedAt: '2026-01-01' } });
    const text = await renderString(env, '<% cache 60 t %>{{ 6 * 7 }}<% endcache %>'); // '42'
    // #endregion
    expect(html).toBe('<article>Hi</article>');
    expect(text).toBe('42');
    // #region CacheExtension
    const plain = new nunjucks.Environment();
    plain.addExtension('FragmentCache', new CacheExtension(cache, { tagName: 'fragment' })); // {% fragment 60 x %}…{% endfragment %}
    // #endregion
    expect(await renderString(plain, '{% fragment 60 x %}ok{% endfragment %}')).toBe('ok');
  });

  it('renderView', async () => {
    const cache = createCache();
    const env = createEnvironment('templates', { cache, trimBlocks: true, lstripBlocks: true });
    const loadPost = async () => ({ title: 'Hi', updatedAt: '2026-01-01' });
    // #region renderView
    const html = await renderView(env, 'post.njk', { loadPost }, { key: 42, ttl: 600, tags: ['posts'] });
    // #endregion
    expect(html).toBe('<h1>Hi</h1>\n<p>Updated 2026-01-01</p>\n');
  });

  it('a Store of your own is accepted by createCache', async () => {
    const cache = createCache({ store: createMapStore() });
    await cache.set('k', 'v', 10);
    expect(await cache.get('k')).toBe('v');
    await cache.close();
  });
});
