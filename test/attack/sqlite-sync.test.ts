/**
 * Attacks on the synchronous SQLite path (better-sqlite3 beside @keyv/sqlite, a memo kept coherent
 * by PRAGMA data_version): values handed out, rolled-back writes, other connections and processes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type nunjucks from 'nunjucks';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { createEnvironment } from '../../src/nunjucks.js';
import { createSqliteStore } from '../../src/stores.js';
import { ManualClock } from '../../src/testing.js';
import { makeKey } from '../../src/core/keys.js';
import { MapLoader } from '../support/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'njkc-attack-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => join(dir, `a-${++n}.db`);

describe('synchronous SQLite path under attack', () => {
  it('never hands two callers of the store the same mutable object (an object value not wrapped in an envelope)', async () => {
    const store = createSqliteStore({ path: file() });
    await store.connect?.();
    await store.set('k', { a: 1, list: [1] }, undefined);
    const first = (await store.get('k')) as { a: number; list: number[] };
    first.a = 2;
    first.list.push(2);
    expect(await store.get('k')).toEqual({ a: 1, list: [1] });
    const [many] = (await store.getMany(['k'])) as Array<{ a: number }>;
    expect(many).toEqual({ a: 1, list: [1] });
    await store.close();
  });

  it('never lets one reader of a cache entry change what the next reader gets', async () => {
    const store = createSqliteStore({ path: file() });
    const cache = createCache({ store });
    await cache.set('k', 'html', 60, { tags: ['posts'] });
    const first = (await store.get(makeKey('k', '', 1))) as { v: unknown; tags: Record<string, string> };
    const token = first.tags.posts;
    try {
      first.v = 'changed';
      first.tags.posts = 'forged';
    } catch {
      // A frozen envelope refuses; either way the next reader must see the stored value.
    }
    const second = (await store.get(makeKey('k', '', 1))) as { v: unknown; tags: Record<string, string> };
    expect(second.v).toBe('html');
    expect(second.tags.posts).toBe(token);
    expect(cache.peek('k', { tags: ['posts'] })?.value).toBe('html');
    expect(await cache.get('k')).toBe('html');
    await cache.close();
  });

  it('does not remember a write whose transaction rolled back', async () => {
    const store = createSqliteStore({ path: file() });
    await store.connect?.();
    await store.set('k', 'old', undefined);
    expect(await store.get('k')).toBe('old');
    // The second value cannot be serialised: the whole transaction rolls back.
    await expect(store.setMany([{ key: 'k', value: 'new', ttlMs: undefined }, { key: 'bad', value: 10n, ttlMs: undefined }])).rejects.toThrow();
    expect(await store.get('k')).toBe('old');
    expect(store.peek?.('k')).toBe('old');
    await store.close();
  });

  it('reads back Keyv escapes exactly (strings starting with ":", Buffers, nested)', async () => {
    const path = file();
    const store = createSqliteStore({ path });
    await store.connect?.();
    const values = [':x', '::y', ':base64:AAAA', { a: ':b', c: [':d', 'e'] }, Buffer.from('hi'), 'plain', '', 'a":b'];
    for (const [i, value] of values.entries()) await store.set(`k${i}`, value, undefined);
    for (const [i, value] of values.entries()) {
      expect(await store.get(`k${i}`)).toEqual(value);
      expect(await store.get(`k${i}`)).toEqual(value); // from the memo
    }
    // What the other driver reads back.
    const other = createSqliteStore({ path, syncReads: false });
    for (const [i, value] of values.entries()) expect(await other.get(`k${i}`)).toEqual(value);
    await other.close();
    await store.close();
  });

  it('reads a row @keyv/sqlite wrote directly, and a clear() from another connection drops memoised rows', async () => {
    const path = file();
    const a = createCache({ store: createSqliteStore({ path }) });
    const b = createCache({ store: createSqliteStore({ path, syncReads: false }) });
    await Promise.all([a.connect(), b.connect()]);
    await b.set('k', 'from keyv', 60);
    expect(a.peek('k')?.value).toBe('from keyv');
    expect(await a.get('k')).toBe('from keyv');
    await b.clear();
    expect(a.peek('k')).toBeUndefined();
    expect(await a.get('k', 'MISS')).toBe('MISS');
    await a.close();
    await b.close();
  });

  it('never serves an expired row from the memo', async () => {
    const store = createSqliteStore({ path: file() });
    await store.connect?.();
    await store.set('k', 'short', 30);
    expect(await store.get('k')).toBe('short');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await store.get('k')).toBeUndefined();
    expect(store.peek?.('k')).toBeUndefined();
    await store.close();
  });

  it('a cache on a ManualClock does not serve a memoised entry past its expiry', async () => {
    const clock = new ManualClock(Date.now());
    const cache = createCache({ store: createSqliteStore({ path: file() }), clock });
    await cache.set('k', 'v', 10);
    expect(cache.peek('k')?.value).toBe('v');
    clock.advance(11_000);
    expect(cache.peek('k')).toBeUndefined();
    expect(await cache.get('k', 'MISS')).toBe('MISS');
    await cache.close();
  });

  it('another process invalidating a tag between two renders of this one is seen at once (child_process)', async () => {
    const path = file();
    const cache = createCache({ store: createSqliteStore({ path }) });
    await cache.set('page', '<p>one</p>', 600, { tags: ['posts'] });
    expect(cache.peek('page', { tags: ['posts'] })?.value).toBe('<p>one</p>');
    const script = `
      import { createCache } from ${JSON.stringify(join(process.cwd(), 'src/index.ts'))};
      import { createSqliteStore } from ${JSON.stringify(join(process.cwd(), 'src/stores.ts'))};
      const cache = createCache({ store: createSqliteStore({ path: ${JSON.stringify(path)} }) });
      await cache.invalidateTags(['posts']);
      await cache.set('other', 'written by the child', 600);
      await cache.close();
    `;
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), stdio: 'pipe' });
    expect(cache.peek('page', { tags: ['posts'] })).toBeUndefined();
    expect((await cache.fetch('page', () => '<p>two</p>', { tags: ['posts'] })).status).toBe('miss');
    expect(cache.peek('other')?.value).toBe('written by the child');
    await cache.close();
  });
});

describe('synchronous SQLite path: a render on one connection, an invalidation on another', () => {
  const PAGE = '<% cache 600 sidebar %><aside>{{ (gap | resolve) }}</aside><% endcache %><% for post in posts %><% cache 600 card post.id tags=["post:" + post.id] %>[{{ post.title }}{{ touch(post) }}]<% endcache %><% endfor %>';

  it('never serves, later in the same render, an entry the other cache on the file invalidated', async () => {
    const path = file();
    const a = createCache({ store: createSqliteStore({ path }) });
    const b = createCache({ store: createSqliteStore({ path }) });
    await Promise.all([a.connect(), b.connect()]);
    const env = createEnvironment(new MapLoader({ 'page.njk': PAGE }) as unknown as nunjucks.ILoader, { cache: a });
    const rendered: number[] = [];
    const touch = (post: { id: number }) => (rendered.push(post.id), '');
    const view = (title: string, gap: () => Promise<string>) =>
      new Promise<string>((resolve, reject) =>
        env.render('page.njk', { posts: [1, 2, 3, 4].map((id) => ({ id, title: `${title}${id}` })), touch, gap }, (e, h) => (e ? reject(e) : resolve(h ?? ''))),
      );
    await view('p', async () => 'side');
    await view('p', async () => 'side');
    await a.invalidateFragment('sidebar');
    rendered.length = 0;
    const html = await view('n', async () => (await b.invalidateTags(['post:3']), 'side'));
    expect(html).toContain('[n3]');
    expect(rendered).toEqual([3]);
    await a.close();
    await b.close();
  });
});
