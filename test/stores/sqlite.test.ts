import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache, createSqliteStore, createStore } from '../../src/index.js';
import { describeStoreConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'njkc-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

describeStoreConformance('sqlite', {
  makeStore: () => createStore(`sqlite://${join(dir, `conf-${++n}.db`)}`),
  // what another program writing under our namespace would leave: any text in the value column
  writeRaw: async (store, key, text) => {
    const keyv = await store.keyv!();
    await (keyv.store as { query(sql: string, ...params: unknown[]): Promise<unknown> }).query('INSERT OR REPLACE INTO njkc_cache (key, value) VALUES (?, ?)', `njkc:${key}`, text);
  },
});

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

  it('rejects a URL without a path, with the forms it accepts', () => {
    expect(() => createStore('sqlite://')).toThrow(/sqlite:\/\/cache\.db/);
  });
});
