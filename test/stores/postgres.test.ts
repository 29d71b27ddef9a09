import { describe, expect, it } from 'vitest';
import * as vitest from 'vitest';
import { createCache } from '../../src/index.js';
import { createPostgresStore, createStore, type Store } from '../../src/stores.js';
import { makeKey } from '../../src/core/keys.js';
import { POSTGRES_URL, announceSkip, uniquePrefix } from '../support/env.js';
import { describeStoreConformance } from '../../src/testing.js';

if (POSTGRES_URL === undefined) {
  announceSkip('PostgreSQL store', 'POSTGRES_URL');
  describe.skip('store conformance: postgres (POSTGRES_URL not set)', () => {
    it('skipped', () => {});
  });
} else {
  const url = POSTGRES_URL;
  describeStoreConformance(vitest, 'postgres', {
    makeStore: () => connected(createStore(url)),
    // what another program writing under our namespace would leave: any text in the value column
    writeRaw: async (store, key, text) => {
      const keyv = await store.keyv!();
      const sql = 'INSERT INTO njkc_cache (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value';
      await (keyv.store as { query(sql: string, values: unknown[]): Promise<unknown> }).query(sql, [`njkc:${key}`, text]);
    },
  });
  describeStoreConformance(vitest, 'postgres with a first tier', { makeStore: () => connected(createStore(`${url}?tier=memory`)) });

  describe('postgres store', () => {
    it('creates its table explicitly (createcachetable), idempotently, and uses it', async () => {
      const table = uniquePrefix('tbl').replace(/\W/g, '_');
      const store = createPostgresStore({ url, table });
      await store.createTable?.();
      await store.createTable?.();
      const cache = createCache({ store });
      await cache.set('k', 'v');
      expect(await cache.get('k')).toBe('v');
      await dropTable(url, table);
      await cache.close();
    });

    it('njk-cache create-table creates the table on PostgreSQL', async () => {
      const { PassThrough } = await import('node:stream');
      const { main } = await import('../../src/cli/main.js');
      const table = uniquePrefix('cli').replace(/\W/g, '_');
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const code = await main(['create-table', '--store', `${url}?table=${table}`], { stdout, stderr, env: {}, cwd: process.cwd() });
      expect(out).toMatch(/is ready/);
      expect(code).toBe(0);
      expect(await tableExists(url, table)).toBe(true);
      await dropTable(url, table);
    });

    it('recreates a table that disappeared while it was running', async () => {
      const table = uniquePrefix('gone').replace(/\W/g, '_');
      const cache = createCache({ store: `${url}?table=${table}` });
      await cache.set('k', 'before');
      await dropTable(url, table);
      expect(await cache.get('k')).toBeUndefined();
      await cache.set('k', 'after');
      expect(await cache.get('k')).toBe('after');
      await dropTable(url, table);
      await cache.close();
    });

    it('sweeps expired rows so the table does not grow without bound', async () => {
      const table = uniquePrefix('sweep').replace(/\W/g, '_');
      const store = createPostgresStore({ url, table, sweepIntervalMs: 0 });
      const cache = createCache({ store });
      await cache.setMany(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`short-${i}`, 'x'])), 0.05);
      await cache.set('long', 'stays', 60);
      expect((await cache.usage()).entries).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(await store.sweep?.()).toBe(200);
      expect((await cache.usage()).entries).toBe(1);
      expect(await cache.get('long')).toBe('stays');
      await dropTable(url, table);
      await cache.close();
    });

    it('fits the longest key the cache makes into its VARCHAR(255) key column', async () => {
      const cache = createCache({ store: url, keyPrefix: 'p'.repeat(40) });
      const longest = makeKey('x'.repeat(10_000), cache.keyPrefix, 1);
      expect(`njkc:${longest}`.length).toBeLessThanOrEqual(255);
      // A key just under the hashing threshold, in multi-byte characters: 200 bytes, fewer characters.
      const unhashed = 'é'.repeat(70);
      await cache.set(unhashed, 'v');
      expect(await cache.get(unhashed)).toBe('v');
      await cache.set('x'.repeat(10_000), 'long');
      expect(await cache.get('x'.repeat(10_000))).toBe('long');
      await cache.clear();
      await cache.close();
    });

    it('closing one store leaves another on the same server working', async () => {
      const a = createCache({ store: url, keyPrefix: uniquePrefix('a') });
      const b = createCache({ store: url, keyPrefix: uniquePrefix('b') });
      await a.set('k', 1);
      await b.set('k', 2);
      await a.close();
      expect(await b.get('k')).toBe(2);
      await b.clear();
      await b.close();
    });

    it('accepts postgresql:// and rejects a bad table name', () => {
      expect(createStore(url.replace(/^postgres:/, 'postgresql:')).kind).toBe('postgres');
      expect(() => createStore(`${url}?table=bad-name`)).toThrow(/letters, digits and underscores/);
    });
  });
}

async function tableExists(url: string, table: string): Promise<boolean> {
  const { loadPg } = await import('../../src/stores/pg.js');
  const client = new (loadPg().Client)({ connectionString: url });
  await client.connect();
  const { rows } = await client.query('SELECT to_regclass($1) AS found', [`public.${table}`]);
  await client.end();
  return rows[0]?.found !== null;
}

async function dropTable(url: string, table: string): Promise<void> {
  const { loadPg } = await import('../../src/stores/pg.js');
  const { Client } = loadPg();
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP TABLE IF EXISTS ${table}`);
  await client.end();
}

/** The store, connected: the suite's timings then measure operations, not connecting (loading a driver, discovering a cluster). */
async function connected(store: Store): Promise<Store> {
  await store.connect?.();
  return store;
}
