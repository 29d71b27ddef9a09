import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as vitest from 'vitest';
import { createCache } from '../../src/index.js';
import { createSqliteStore, createStore, type Store } from '../../src/stores.js';
import { describeStoreConformance } from '../../src/testing.js';

const dir = mkdtempSync(join(tmpdir(), 'njkc-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

// What another program writing under our namespace would leave: any text in the value column.
const writeRaw = async (store: Store, key: string, text: string) => {
  const keyv = await store.keyv!();
  await (keyv.store as { query(sql: string, ...params: unknown[]): Promise<unknown> }).query('INSERT OR REPLACE INTO njkc_cache (key, value) VALUES (?, ?)', `njkc:${key}`, text);
};
describeStoreConformance(vitest, 'sqlite', { makeStore: () => createStore(`sqlite://${join(dir, `conf-${++n}.db`)}`), writeRaw });
// Without better-sqlite3 (or with syncReads: false), reads go through @keyv/sqlite's own driver.
describeStoreConformance(vitest, 'sqlite, asynchronous reads', { makeStore: () => createSqliteStore({ path: join(dir, `conf-async-${++n}.db`), syncReads: false }), writeRaw });

describe('sqlite store', () => {
  it('creates its table explicitly (createcachetable) and on first use', async () => {
    const store = createSqliteStore({ path: join(dir, 'table.db'), table: 'my_cache' });
    await store.createTable?.();
    await store.createTable?.(); // idempotent
    const cache = createCache({ store });
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    await cache.close();
  });

  it('keeps entries across processes sharing the file (reopen)', async () => {
    const path = join(dir, 'persist.db');
    const first = createCache({ store: `sqlite://${path}` });
    await first.set('k', 'persisted', null);
    await first.close();
    const second = createCache({ store: `sqlite://${path}` });
    expect(await second.get('k')).toBe('persisted');
    await second.close();
  });

  it('sweeps expired rows so the file does not grow without bound', async () => {
    const store = createSqliteStore({ path: join(dir, 'sweep.db'), sweepIntervalMs: 0 });
    const cache = createCache({ store });
    for (let i = 0; i < 200; i += 1) await cache.set(`short-${i}`, 'x', 0.05);
    await cache.set('long', 'stays', 60);
    expect((await cache.usage()).entries).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await store.sweep?.()).toBe(200);
    expect((await cache.usage()).entries).toBe(1);
    expect(await cache.get('long')).toBe('stays');
    await cache.close();
  });

  it('answers a warm hit synchronously from the file, and two caches on one file see each other\'s invalidations at once', async () => {
    const path = join(dir, 'shared.db');
    const a = createCache({ store: `sqlite://${path}` });
    const b = createCache({ store: `sqlite://${path}` });
    await Promise.all([a.connect(), b.connect()]);
    await a.set('page', '<p>one</p>', 60, { tags: ['posts'] });
    expect(b.peek('page', { tags: ['posts'] })?.value).toBe('<p>one</p>');
    await a.invalidateTags(['posts']);
    expect(b.peek('page', { tags: ['posts'] })).toBeUndefined();
    expect(await b.get('page', 'MISS')).toBe('MISS');
    await b.set('k', 'v');
    expect(a.peek('k')?.value).toBe('v');
    await b.delete('k');
    expect(a.peek('k')).toBeUndefined();
    await a.close();
    await b.close();
  });

  it('keeps decoded rows in memory only while the file is unchanged: a clear, a sweep or another connection drops them', async () => {
    const path = join(dir, 'memo.db');
    const a = createCache({ store: `sqlite://${path}` });
    const b = createCache({ store: `sqlite://${path}` });
    await Promise.all([a.connect(), b.connect()]);
    await a.set('k', 'one');
    expect(b.peek('k')?.value).toBe('one'); // b now holds the decoded row
    await a.set('k', 'two');
    expect(b.peek('k')?.value).toBe('two');
    await b.peek('k');
    await a.clear(); // through @keyv/sqlite's own connection
    expect(a.peek('k')).toBeUndefined();
    expect(b.peek('k')).toBeUndefined();
    await a.close();
    await b.close();
  });

  it('never hands two readers one mutable object', async () => {
    const cache = createCache({ store: `sqlite://${join(dir, 'objects.db')}` });
    await cache.set('user', { name: 'Ada', roles: ['admin'] });
    const first = await cache.get<{ name: string; roles: string[] }>('user');
    first!.name = 'changed';
    first!.roles.push('oops');
    expect(await cache.get('user')).toEqual({ name: 'Ada', roles: ['admin'] });
    await cache.close();
  });

  it('reads strings that Keyv escapes (a leading ":") and Buffers exactly as Keyv does', async () => {
    const path = join(dir, 'escapes.db');
    const sync = createCache({ store: `sqlite://${path}` });
    const viaKeyv = createCache({ store: createSqliteStore({ path, syncReads: false }) });
    await sync.set('colon', ':leading colon');
    await viaKeyv.set('colon2', '::two');
    expect(await viaKeyv.get('colon')).toBe(':leading colon');
    expect(await sync.get('colon2')).toBe('::two');
    expect(sync.peek('colon')?.value).toBe(':leading colon');
    await sync.close();
    await viaKeyv.close();
  });

  it('reads through @keyv/sqlite when asked to (syncReads: false): no synchronous peek', async () => {
    const cache = createCache({ store: createSqliteStore({ path: join(dir, 'async.db'), syncReads: false }) });
    await cache.set('k', 'v');
    expect(cache.peek('k')).toBeUndefined();
    expect(await cache.get('k')).toBe('v');
    await cache.close();
  });

  it('rejects a URL without a path, with the forms it accepts', () => {
    expect(() => createStore('sqlite://')).toThrow(/sqlite:\/\/cache\.db/);
  });
});

describe('sqlite store opening a file another connection has locked', () => {
  it('sets up again until the lock is gone (two processes opening one new file at once met SQLITE_BUSY)', async () => {
    const { default: Database } = await import('better-sqlite3');
    const path = join(dir, `busy-${++n}.db`);
    const holder = new Database(path);
    holder.exec('CREATE TABLE other (x)');
    holder.exec('BEGIN EXCLUSIVE');
    // The store waits 100 ms on the lock per statement; the lock is released after 300 ms.
    setTimeout(() => {
      holder.exec('COMMIT');
      holder.close();
    }, 300);
    const cache = createCache({ store: createSqliteStore({ path, busyTimeoutMs: 100 }) });
    try {
      await cache.connect(5_000);
      await cache.set('k', 'v');
      expect(await cache.get('k')).toBe('v');
    } finally {
      await cache.close();
    }
  });
});
