import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as vitest from 'vitest';
import { createCache } from '../../src/index.js';
import { createStore } from '../../src/stores.js';
import { REDIS_URL, announceSkip } from '../support/env.js';
import { describeStoreConformance } from '../../src/testing.js';

if (REDIS_URL === undefined) {
  announceSkip('Redis store', 'REDIS_URL');
  describe.skip('store conformance: redis (REDIS_URL not set)', () => {
    it('skipped', () => {});
  });
} else {
  const url = REDIS_URL;
  describeStoreConformance(vitest, 'redis', {
    makeStore: () => createStore(url),
    // what another program writing under our namespace would leave: any string at the key
    writeRaw: async (store, key, text) => {
      const keyv = await store.keyv!();
      await (keyv.store as { client: { set(key: string, value: string): Promise<unknown> } }).client.set(`njkc::${key}`, text);
    },
  });

  describe('redis store', () => {
    it.each([url, `${url}${url.includes('?') ? '&' : '?'}tier=memory`])('close() during the background connect lets the process exit (%s)', (storeUrl) => {
      const script = fileURLToPath(new URL('../support/close-during-connect.ts', import.meta.url));
      const child = spawnSync(process.execPath, ['--import', 'tsx', script, storeUrl], { timeout: 15_000, encoding: 'utf8' });
      // killed by the timeout: signal SIGTERM, status null
      expect({ signal: child.signal, status: child.status, stderr: child.stderr }).toEqual({ signal: null, status: 0, stderr: '' });
    });

    it('clear() removes only its own namespace', async () => {
      const { createClient } = await import('@redis/client');
      const client = createClient({ url });
      await client.connect();
      await client.set('foreign-app-key', 'keep me');
      const cache = createCache({ store: url });
      await cache.set('k', 'v');
      await cache.clear();
      expect(await cache.get('k')).toBeUndefined();
      expect(await client.get('foreign-app-key')).toBe('keep me');
      await client.del('foreign-app-key');
      await client.quit();
      await cache.close();
    });
  });
}
