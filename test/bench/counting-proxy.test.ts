/**
 * The bench's store round-trip rows are counted on the wire by bench/lib/counting-proxy.ts. These
 * tests pin what the proxies count, on the real servers: N awaited commands are N round trips, N
 * commands sent together (MGET, a pipeline, one query) are one.
 */
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgresProxy, STATEMENTS } from '../../bench/lib/pg-probe.js';
import { total } from '../../bench/lib/counting-proxy.js';
import { parseRedisUrl, startRedisProxy } from '../../bench/lib/redis-probe.js';
import { loadPg, type PgClient } from '../../src/stores/pg.js';
import { POSTGRES_URL, REDIS_URL, announceSkip, uniquePrefix } from '../support/env.js';

if (REDIS_URL === undefined) {
  announceSkip('Redis', 'REDIS_URL');
  describe.skip('bench counting proxy: Redis (REDIS_URL not set)', () => {});
} else {
  const url = REDIS_URL;
  describe('bench counting proxy: Redis', () => {
    let proxy: Awaited<ReturnType<typeof startRedisProxy>>;
    let client: ReturnType<typeof createClient>;
    const prefix = uniquePrefix('proxy');
    beforeAll(async () => {
      proxy = await startRedisProxy(parseRedisUrl(url));
      client = createClient({ url: proxy.url });
      await client.connect();
    });
    afterAll(async () => {
      await client.del([`${prefix}:a`, `${prefix}:b`, `${prefix}:c`]);
      client.destroy();
      await proxy.close();
    });

    it('counts awaited commands as one round trip each', async () => {
      proxy.reset();
      for (const key of ['a', 'b', 'c']) await client.get(`${prefix}:${key}`);
      expect(proxy.counts()).toEqual({ commands: new Map([['get', 3]]), roundTrips: 3 });
    });

    it('counts an MGET and a pipeline as one round trip', async () => {
      proxy.reset();
      await client.mGet([`${prefix}:a`, `${prefix}:b`, `${prefix}:c`]);
      expect(proxy.counts()).toEqual({ commands: new Map([['mget', 1]]), roundTrips: 1 });
      proxy.reset();
      await client.multi().set(`${prefix}:a`, '1').set(`${prefix}:b`, '2').get(`${prefix}:c`).execAsPipeline();
      expect(proxy.counts().roundTrips).toBe(1);
      expect(proxy.counts().commands).toEqual(new Map([['set', 2], ['get', 1]]));
    });

    it('leaves PING heartbeats out', async () => {
      proxy.reset();
      await client.ping();
      expect(proxy.counts()).toEqual({ commands: new Map(), roundTrips: 0 });
    });
  });
}

if (POSTGRES_URL === undefined) {
  announceSkip('PostgreSQL', 'POSTGRES_URL');
  describe.skip('bench counting proxy: PostgreSQL (POSTGRES_URL not set)', () => {});
} else {
  const url = POSTGRES_URL;
  describe('bench counting proxy: PostgreSQL', () => {
    let proxy: Awaited<ReturnType<typeof startPostgresProxy>>;
    let client: PgClient;
    beforeAll(async () => {
      proxy = await startPostgresProxy(url);
      const { Client } = loadPg();
      client = new Client({ connectionString: proxy.url });
      await client.connect();
    });
    afterAll(async () => {
      await client.end();
      await proxy.close();
    });

    it('counts startup and authentication as nothing', () => {
      expect(proxy.counts().roundTrips).toBe(0);
    });

    it('counts awaited statements as one round trip each', async () => {
      proxy.reset();
      for (let i = 0; i < 3; i++) await client.query('SELECT 1');
      expect(proxy.counts()).toEqual({ commands: new Map([['query', 3]]), roundTrips: 3 });
    });

    it('counts a parameterized statement (parse, bind, execute, sync in one write) as one round trip', async () => {
      proxy.reset();
      await client.query('SELECT $1::int AS n WHERE $1 IN (1, 2, 3)', [2]);
      const counts = proxy.counts();
      expect(counts.roundTrips).toBe(1);
      expect(total(counts.commands, STATEMENTS)).toBe(1);
      expect(counts.commands).toEqual(new Map([['parse', 1], ['execute', 1]]));
    });

    it('counts several statements in one simple query as one message and one round trip', async () => {
      proxy.reset();
      await client.query('SELECT 1; SELECT 2');
      expect(proxy.counts()).toEqual({ commands: new Map([['query', 1]]), roundTrips: 1 });
    });
  });
}
