import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresBus, createRedisBus, type InvalidationBus } from '../../src/stores.js';
import type { BusListener, Invalidation } from '../../src/contracts/bus.js';
import { POSTGRES_URL, REDIS_URL, announceSkip, uniquePrefix } from '../support/env.js';
import { RedisProcess, freePort, hasRedisServer } from '../support/redis-server.js';

/** A listener that records what it hears, and lets a test wait for it. */
function recorder() {
  const events: Array<Invalidation | 'down' | 'up'> = [];
  const listener: BusListener = {
    invalidate: (message) => events.push(message),
    down: () => events.push('down'),
    up: () => events.push('up'),
  };
  const until = async (predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error(`timed out; events so far: ${JSON.stringify(events)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const keys = () => events.flatMap((e) => (typeof e === 'object' ? [...e.keys] : []));
  return { events, listener, until, keys };
}

function describeBus(name: string, makeBus: (channel: string) => InvalidationBus) {
  describe(`invalidation bus: ${name}`, () => {
    const open: InvalidationBus[] = [];
    afterAll(async () => {
      await Promise.all(open.map((bus) => bus.close()));
    });
    const pair = async () => {
      const channel = uniquePrefix('bus').replace(/\W/g, '_');
      const a = makeBus(channel);
      const b = makeBus(channel);
      open.push(a, b);
      const ra = recorder();
      const rb = recorder();
      a.listen(ra.listener);
      b.listen(rb.listener);
      await Promise.all([a.ready(), b.ready()]);
      return { a, b, ra, rb };
    };

    it('delivers invalidations to the other processes, not back to the sender', async () => {
      const { a, b, ra, rb } = await pair();
      expect(a.live && b.live).toBe(true);
      await a.publish({ keys: ['k1', 'k2'] });
      await a.publish('clear');
      await rb.until(() => rb.events.includes('clear'));
      expect(rb.events).toEqual(['up', { keys: ['k1', 'k2'] }, 'clear']);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(ra.events).toEqual(['up']);
    });

    it('delivers a large invalidation complete (split into several messages where the transport needs it)', async () => {
      const { a, rb } = await pair();
      const keys = Array.from({ length: 1_000 }, (_, i) => `:1:fragment:post:${String(i).padStart(4, '0')}:${'h'.repeat(80)}`);
      await a.publish({ keys });
      await rb.until(() => rb.keys().length === keys.length);
      expect(rb.keys().sort()).toEqual(keys); // order across messages does not matter
    });

    it('refuses a second listener', async () => {
      const { a } = await pair();
      expect(() => a.listen(recorder().listener)).toThrow(/already has a listener/);
    });
  });
}

if (REDIS_URL === undefined) announceSkip('Redis bus', 'REDIS_URL');
else {
  const url = REDIS_URL;
  describeBus('redis', (channel) => createRedisBus(url, { channel }));
}

if (POSTGRES_URL === undefined) announceSkip('PostgreSQL bus', 'POSTGRES_URL');
else {
  const url = POSTGRES_URL;
  describeBus('postgres', (channel) => createPostgresBus(url, { channel, heartbeatMs: 100 }));

  describe('invalidation bus: postgres, faults', () => {
    it('reports down when its listening connection is killed, then up again, and delivers again', async () => {
      const channel = uniquePrefix('pgkill').replace(/\W/g, '_');
      const a = createPostgresBus(url, { channel, heartbeatMs: 50 });
      const b = createPostgresBus(url, { channel, heartbeatMs: 50 });
      const rb = recorder();
      a.listen(recorder().listener);
      b.listen(rb.listener);
      await Promise.all([a.ready(), b.ready()]);
      const { loadPg } = await import('../../src/stores/pg.js');
      const admin = new (loadPg().Client)({ connectionString: url });
      await admin.connect();
      // Each bus's listening connection names its channel (application_name): kill this channel's.
      const { rows } = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [`njkc-listen:${channel}`.slice(0, 63)]);
      await rb.until(() => rb.events.filter((e) => e === 'up').length === 2);
      expect(rb.events.slice(0, 3)).toEqual(['up', 'down', 'up']);
      expect(rows.length).toBe(2); // A's listener too
      await a.ready();
      await a.publish({ keys: ['after'] });
      await rb.until(() => rb.keys().includes('after'));
      await admin.end();
      await Promise.all([a.close(), b.close()]);
    });
  });
}

if (!hasRedisServer) console.warn('\n[skip] Redis bus fault tests skipped: no redis-server binary on PATH.\n');

describe.runIf(hasRedisServer)('invalidation bus: redis, faults (own redis-server)', () => {
  let redis: RedisProcess;
  afterAll(() => redis?.stop());

  it('reports down when Redis goes away and up once resubscribed; a publish meanwhile fails', async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    const a = createRedisBus(redis.url, { heartbeatMs: 50 });
    const b = createRedisBus(redis.url, { heartbeatMs: 50 });
    const rb = recorder();
    a.listen(recorder().listener);
    b.listen(rb.listener);
    await Promise.all([a.ready(), b.ready()]);
    await redis.stop();
    await rb.until(() => rb.events.includes('down'));
    expect(b.live).toBe(false);
    await expect(a.publish({ keys: ['while-down'] })).rejects.toThrow();
    await redis.start();
    await rb.until(() => rb.events.filter((e) => e === 'up').length === 2, 10_000);
    await a.ready();
    await rb.until(async () => {
      await a.publish({ keys: ['after'] }).catch(() => {}); // A's publisher may still be reconnecting
      return rb.keys().includes('after');
    }, 10_000);
    await Promise.all([a.close(), b.close()]);
  });

  it('keeps an invalidation it could not send, and sends it once it can, to subscribers that never left', async () => {
    redis ??= new RedisProcess(await freePort());
    if (!(await ping(redis.port))) await redis.start();
    const a = createRedisBus(redis.url, { heartbeatMs: 50 });
    const b = createRedisBus(redis.url, { heartbeatMs: 50 });
    const rb = recorder();
    a.listen(recorder().listener);
    b.listen(rb.listener);
    await Promise.all([a.ready(), b.ready()]);
    const { createClient } = await import('@redis/client');
    const admin = createClient({ url: redis.url });
    await admin.connect();
    // Refuse PUBLISH for a moment: A's publish fails while B's subscription stays up.
    await admin.sendCommand(['ACL', 'SETUSER', 'default', '-publish']);
    await expect(a.publish({ keys: ['refused'] })).rejects.toThrow(/NOPERM|permission/i);
    await admin.sendCommand(['ACL', 'SETUSER', 'default', '+publish']);
    await rb.until(() => rb.keys().includes('refused'), 5_000); // sent again by A's next heartbeat
    expect(rb.events.filter((e) => e === 'down')).toEqual([]);
    await admin.quit();
    await Promise.all([a.close(), b.close()]);
  });

  it('notices a connection that stopped answering (heartbeat), and recovers when it answers again', async () => {
    redis ??= new RedisProcess(await freePort());
    if (!(await ping(redis.port))) await redis.start();
    const b = createRedisBus(redis.url, { heartbeatMs: 50, heartbeatTimeoutMs: 200 });
    const rb = recorder();
    b.listen(rb.listener);
    await b.ready();
    const { createClient } = await import('@redis/client');
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.sendCommand(['CLIENT', 'PAUSE', '800', 'ALL']); // the server stops answering everyone
    await rb.until(() => rb.events.includes('down'), 3_000);
    await rb.until(() => rb.events.filter((e) => e === 'up').length === 2, 5_000);
    await admin.quit();
    await b.close();
  });
});

async function ping(port: number): Promise<boolean> {
  const { createConnection } = await import('node:net');
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
