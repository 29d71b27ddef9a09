import { afterAll, describe, expect, it } from 'vitest';
import type { DistributedLock } from '../../../src/stores.js';
import { uniquePrefix } from '../../support/env.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The lock's promises, run against any Redis (one server, or a cluster). */
export function describeLock(name: string, makeLock: () => DistributedLock) {
  describe(`redis lock: ${name}`, () => {
    const locks: DistributedLock[] = [];
    afterAll(() => Promise.all(locks.map((lock) => lock.close())));
    const make = () => {
      const lock = makeLock();
      locks.push(lock);
      return lock;
    };

    it('is taken by one holder at a time, across clients', async () => {
      const [a, b] = [make(), make()];
      const key = uniquePrefix('lock');
      const token = await a.acquire(key, 5_000);
      expect(typeof token).toBe('string');
      expect(await b.acquire(key, 5_000)).toBeNull();
      expect(await a.acquire(key, 5_000)).toBeNull(); // not re-entrant either
      await a.release(key, token as string);
      expect(await b.acquire(key, 5_000)).not.toBeNull();
    });

    it('is released only by its owner', async () => {
      const [a, b] = [make(), make()];
      const key = uniquePrefix('owner');
      const token = (await a.acquire(key, 5_000)) as string;
      await b.release(key, 'not-the-token');
      expect(await b.acquire(key, 5_000)).toBeNull();
      await a.release(key, token);
      await a.release(key, token); // twice is harmless
      expect(await b.acquire(key, 5_000)).not.toBeNull();
    });

    it('expires by itself when its holder never releases it', async () => {
      const [a, b] = [make(), make()];
      const key = uniquePrefix('expiry');
      const stale = (await a.acquire(key, 80)) as string;
      expect(await b.acquire(key, 5_000)).toBeNull();
      await sleep(120);
      const fresh = await b.acquire(key, 5_000);
      expect(fresh).not.toBeNull();
      await a.release(key, stale); // the late first holder cannot release the new holder's lock
      expect(await a.acquire(key, 5_000)).toBeNull();
    });

    it('lets exactly one of many concurrent callers take it', async () => {
      const all = Array.from({ length: 5 }, () => make());
      const key = uniquePrefix('race');
      const tokens = await Promise.all(all.flatMap((lock) => Array.from({ length: 20 }, () => lock.acquire(key, 5_000))));
      expect(tokens.filter((t) => t !== null)).toHaveLength(1);
    });
  });
}

